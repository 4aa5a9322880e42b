"""Search, filters and sort of the portal's lead lists, kept in the URL (R2, R8, R16)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from examples.admin_app.services import Services
from qleads.filters import LeadFilter, SortKey
from qleads.lifecycle import Status
from qleads.tabs import Tab


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-lead-id="(\d+)"', page)]


class TestRepList:
    def test_the_search_finds_what_the_library_finds(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        """The list shows the library's search, for the rep's own territories (R2)."""
        login(client, "rep1")
        rep = services.directory.rep("rep1")
        assert rep is not None
        everything = services.desk.tab(rep, Tab.ALL, per_page=500).items
        city = everything[0].lead.city
        expected = services.desk.search(rep, Tab.ALL, LeadFilter(text=city.upper()), per_page=20)
        response = client.get("/rep/", query_string={"tab": "all", "q": city.upper()})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert _ids(page) == [row.lead.id for row in expected.items]
        assert 0 < expected.total < len(everything) or expected.total == len(everything)
        assert f'value="{city.upper()}"' in page

    def test_filters_and_sort_come_from_the_url(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "rep1")
        rep = services.directory.rep("rep1")
        assert rep is not None
        query = {"tab": "all", "status": "new", "sort": "-id"}
        page = client.get("/rep/", query_string=query).get_data(as_text=True)
        expected = services.desk.search(
            rep,
            Tab.ALL,
            LeadFilter(statuses=frozenset({Status.NEW}), sort=SortKey.ID, descending=True),
            per_page=20,
        )
        assert _ids(page) == [row.lead.id for row in expected.items]
        assert _ids(page) == sorted(_ids(page), reverse=True)
        assert 'aria-sort="descending"' in page
        assert '<option value="new" selected>' in page

    def test_the_installer_filter_lists_his_installers(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "rep1")
        rep = services.directory.rep("rep1")
        assert rep is not None
        installer = services.directory.installers_of(rep.id)[0]
        page = client.get("/rep/", query_string={"tab": "all", "installer": installer.id}).get_data(
            as_text=True
        )
        assert f'<option value="{installer.id}" selected>' in page
        holders = {services.desk.get(rep, lead_id).lead.holder_id for lead_id in _ids(page)}
        assert holders <= {installer.id}

    def test_the_pager_and_the_sort_links_keep_the_filter(
        self, login: Any, client: FlaskClient
    ) -> None:
        """A view is a URL: the next page and a column header keep search and filters."""
        login(client, "rep1")
        page = client.get(
            "/rep/", query_string={"tab": "all", "q": "0", "sort": "received"}
        ).get_data(as_text=True)
        links = re.findall(r'href="([^"]*)"', page.replace("&amp;", "&"))
        sort_links = [link for link in links if "sort=" in link and "/rep/" in link]
        assert any("sort=-received" in link and "q=0" in link for link in sort_links)
        assert any("sort=id" in link and "q=0" in link for link in sort_links)
        nexts = re.findall(r'href="([^"]*)" rel="next"', page.replace("&amp;", "&"))
        for link in nexts:
            assert "q=0" in link
            assert "sort=received" in link
            assert "page=2" in link

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"sort": "name"}, "Nach dieser Spalte kann nicht sortiert werden."),
            ({"from": "gestern"}, "JJJJ-MM-TT"),
            ({"from": "2026-11-20", "to": "2026-11-01"}, "nicht vor dem Anfang"),
            ({"q": "x" * 500}, "Der Suchtext ist zu lang"),
            ({"status": "verloren"}, "Diesen Status gibt es nicht."),
            ({"installer": "installer-of-someone-else"}, "Bitte wählen Sie einen Ihrer Partner."),
        ],
    )
    def test_bad_input_is_a_message_not_an_error_page(
        self, login: Any, client: FlaskClient, query: dict[str, str], message: str
    ) -> None:
        login(client, "rep1")
        response = client.get("/rep/", query_string={"tab": "all", **query})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert 'id="list-error"' in page
        assert message in page
        assert _ids(page)  # the list itself, unfiltered


class TestInstallerLists:
    def test_a_hidden_name_is_not_found(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        """R16: a pool lead's customer name finds nothing for an installer."""
        login(client, "installer1")
        installer = services.directory.installer("installer1")
        rep = services.directory.rep(installer.rep_id) if installer else None
        assert installer is not None
        assert rep is not None
        pool = services.desk.tab(installer, Tab.AVAILABLE, per_page=500).items
        assert pool
        hidden_name = services.desk.get(rep, pool[0].lead.id).lead.document.contact.name
        assert hidden_name
        page = client.get("/installer/", query_string={"q": hidden_name}).get_data(as_text=True)
        found = set(_ids(page))
        assert pool[0].lead.id not in found
        assert all(
            services.desk.get(installer, lead_id).lead.holder_id == installer.id
            for lead_id in found
        )

    def test_a_tab_is_searched_and_sorted(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        login(client, "installer1")
        installer = services.directory.installer("installer1")
        assert installer is not None
        response = client.get("/installer/tab/all", query_string={"sort": "deadline"})
        assert response.status_code == 200
        expected = services.desk.search(
            installer, Tab.ALL, LeadFilter(sort=SortKey.DEADLINE), per_page=20
        )
        assert _ids(response.get_data(as_text=True)) == [row.lead.id for row in expected.items]

    def test_an_installer_has_no_installer_filter(self, login: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        page = client.get("/installer/tab/all").get_data(as_text=True)
        assert 'id="list-q"' in page
        assert 'id="list-installer"' not in page
        response = client.get("/installer/tab/all", query_string={"installer": "installer2"})
        assert response.status_code == 400
        assert 'id="list-error"' in response.get_data(as_text=True)


class TestAdminList:
    def test_the_admin_filters_by_any_installer_and_searches_unrouted_leads(
        self, login: Any, client: FlaskClient, services: Services
    ) -> None:
        """Admins use the same list over every territory (R2), the unrouted tab too."""
        login(client, "admin")
        admin = services.directory.admin("admin")
        assert admin is not None
        installers = services.directory.installers()
        page = client.get("/rep/", query_string={"tab": "all"}).get_data(as_text=True)
        assert all(f'<option value="{i.id}">' in page for i in installers)
        for tab in ("all", "unrouted"):
            expected = services.desk.search(
                admin, Tab(tab), LeadFilter(text="0", sort=SortKey.RECEIVED), per_page=20
            )
            response = client.get("/rep/", query_string={"tab": tab, "q": "0", "sort": "received"})
            assert response.status_code == 200
            assert _ids(response.get_data(as_text=True)) == [r.lead.id for r in expected.items]


class TestPager:
    def test_the_pager_keeps_repeated_parameters(self, login: Any, client: FlaskClient) -> None:
        """A bookmark with two statuses pages on with both."""
        login(client, "admin")
        page = client.get(
            "/rep/", query_string=[("tab", "all"), ("status", "new"), ("status", "closed")]
        )
        assert page.status_code == 400  # "closed" is a tab, not a status
        page = client.get(
            "/rep/",
            query_string=[("tab", "all"), ("status", "new"), ("status", "unsuccessful")],
        ).get_data(as_text=True)
        nexts = re.findall(r'href="([^"]*)" rel="next"', page.replace("&amp;", "&"))
        assert nexts
        assert "status=new" in nexts[0]
        assert "status=unsuccessful" in nexts[0]
