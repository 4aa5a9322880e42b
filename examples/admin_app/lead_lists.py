"""Search, filters and sort of the lead lists (R2, R8, R16), kept in the URL.

Every list of an installer or a staff member reads its query parameters with the
library's :func:`~qleads.filters.parse_filter` and asks :meth:`LeadDesk.search
<qleads.desk.LeadDesk.search>` for the page, so what a list finds is what the library's
rules let its reader see. The parameters stay in the URL: a view can be bookmarked, the
pager keeps them (``_macros.html``), and the column headers link to the same view sorted
by that column. Bad parameters (an unknown column, a date that is none, a range the
wrong way round, a search text too long) show the list unfiltered with a message
naming the problem, answered with 400 — never an error page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs
from flask import request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from qleads.desk import TabPage
from qleads.errors import InvalidInput
from qleads.filters import SEARCH_LIMIT, LeadFilter, parse_filter
from qleads.lifecycle import Status
from qleads.model import Actor, Admin, Installer, SalesRep
from qleads.tabs import Tab

from .personal_data import client
from .services import current_services

__all__ = ["FILTER_PARAMS", "ListView", "Sorting", "list_helpers", "list_view"]

#: The query parameters of the filter; the rest (tab, page numbers) is the list's own.
FILTER_PARAMS: Final = ("q", "status", "from", "to", "deadline", "installer", "sort")
#: The query parameters of page numbers: a new search or sort starts at page one.
_PAGE_PARAMS: Final = ("page", "available", "mine")


@attrs.frozen
class ListView:
    """What a list's template needs besides its page: the filter as read, the message
    for bad parameters, and the choices of the filter form."""

    lead_filter: LeadFilter
    error: str | None
    installers: tuple[Installer, ...]

    @property
    def active(self) -> bool:
        """Whether the filter narrows the list (the form then opens by itself)."""
        return not self.lead_filter.is_empty or self.error is not None


def _message(error: InvalidInput) -> str:
    texts = {
        "q": _(
            "Der Suchtext ist zu lang oder enthält ungültige Zeichen (höchstens %(limit)s "
            "Zeichen).",
            limit=SEARCH_LIMIT,
        ),
        "sort": _("Nach dieser Spalte kann nicht sortiert werden."),
        "status": _("Diesen Status gibt es nicht."),
        "deadline": _("Diesen Fristfilter gibt es nicht."),
        "installer": _("Bitte wählen Sie einen Ihrer Partner."),
        "from": _("Bitte geben Sie das Datum als JJJJ-MM-TT an."),
        "to": _(
            "Bitte geben Sie das Datum als JJJJ-MM-TT an; das Ende darf nicht vor dem "
            "Anfang liegen."
        ),
    }
    return _(
        "Die Suche wurde nicht ausgeführt: %(detail)s",
        detail=texts.get(error.field, error.message),
    )


def _installers(actor: Actor) -> tuple[Installer, ...]:
    """Whom a staff member may filter by: a rep his installers, an admin everyone."""
    directory = current_services().directory
    found: Sequence[Installer]
    if isinstance(actor, Admin):
        found = directory.installers()
    elif isinstance(actor, SalesRep):
        found = directory.installers_of(actor.id)
    else:
        return ()
    return tuple(sorted(found, key=lambda i: (i.name, i.id)))


def list_view(
    actor: Actor, tab: Tab, *, page: int, per_page: int, counts: bool = True
) -> tuple[TabPage, ListView, int]:
    """The page of ``tab`` the request's parameters ask for, its :class:`ListView` and
    the status to answer with (400 for bad parameters, the list then unfiltered).
    ``counts=False``: without the tab counts, which the page has from another list."""
    desk = current_services().desk
    params = {name: request.args.getlist(name) for name in FILTER_PARAMS if name in request.args}
    error = None
    try:
        lead_filter = parse_filter(params)
        shown = desk.search(
            actor, tab, lead_filter, page=page, per_page=per_page, client=client(), counts=counts
        )
    except InvalidInput as refused:
        if refused.field not in FILTER_PARAMS:
            raise
        error, lead_filter = _message(refused), LeadFilter()
        shown = desk.search(
            actor, tab, lead_filter, page=page, per_page=per_page, client=client(), counts=counts
        )
    view = ListView(lead_filter=lead_filter, error=error, installers=_installers(actor))
    return shown, view, 400 if error is not None else 200


class Sorting:
    """The column headers' links: the URL of this view sorted by a column, and how it is
    sorted now (``aria-sort``)."""

    def _current(self) -> tuple[str, bool]:
        value = request.args.get("sort", "")
        return value.removeprefix("-"), value.startswith("-")

    def url(self, key: str) -> str:
        """This view sorted by ``key``: a new column ascending, the sorted one turned
        round; from the first page, every filter kept."""
        column, descending = self._current()
        args = MultiDict(request.args)
        for name in _PAGE_PARAMS:
            args.poplist(name)
        args["sort"] = f"-{key}" if column == key and not descending else key
        return _here(args.to_dict(flat=False))

    def state(self, key: str) -> str | None:
        column, descending = self._current()
        if column != key:
            return None
        return "descending" if descending else "ascending"


def _here(args: dict[str, list[str]]) -> str:
    """This page's URL with the query parameters ``args``."""
    values: dict[str, Any] = {**(request.view_args or {}), **args}
    return url_for(request.endpoint or "auth.index", **values)


def list_helpers() -> dict[str, Any]:
    """A context processor for the blueprints with lists: ``list_sorting`` for the column
    headers (:class:`Sorting`), the choices of the filter form, and ``reset_url()`` for
    "Filter zurücksetzen"."""

    def reset_url() -> str:
        dropped = (*FILTER_PARAMS, *_PAGE_PARAMS)
        return _here({k: v for k, v in request.args.lists() if k not in dropped})

    return {
        "list_sorting": Sorting(),
        "reset_url": reset_url,
        "filter_statuses": tuple(Status),
    }
