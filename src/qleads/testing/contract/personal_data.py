"""What a repository that keeps personal data must do (R14): part of
:class:`~qleads.testing.contract.RepositoryContract`.

The access log appends, reads in scope and purges only what is past its period; an
erasure leaves statuses, dates, the postcode area and counts, and nothing of the person;
retention takes exactly the leads its periods name; the consent block survives storage
and erasure. Runs the desk on the ``repository`` fixture, so memory, SQLite and
PostgreSQL are held to the same answers.
"""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest

from qleads.errors import InvalidInput, NotPermitted
from qleads.lifecycle import Status
from qleads.model import Channel, Consent, Lead, LeadDocument, Policy
from qleads.personal_data import AccessKind, AccessQuery, AccessRecord
from qleads.personal_data_ports import (
    AppendsAccessInUnit,
    KeepsPersonalData,
    RecordsAccessInUnit,
)
from qleads.ports import LeadRepository
from qleads.tabs import Scope, Tab, query_for
from qleads.testing.world import T0, World, lead_document, make_document, make_lead

__all__ = ["PersonalDataContract"]

_CONSENT = Consent(
    text_version="einwilligung-v3",
    given_at=dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC),
    source_page="https://solarrechner.example/angebot?email=erika@example.org",
)


def _keeper(repository: LeadRepository) -> KeepsPersonalData:
    assert isinstance(repository, KeepsPersonalData), "the repository keeps no personal data"
    return repository


def _record(lead_id: int, at: dt.datetime, user: str = "i-anna", **fields: object) -> AccessRecord:
    values: dict[str, object] = {
        "user_id": user,
        "role": "installer",
        "lead_id": lead_id,
        "kind": AccessKind.VIEW,
        "at": at,
        "territory_id": "t-leipzig",
        "holder_id": "i-anna",
    }
    values.update(fields)
    return AccessRecord(**values)  # type: ignore[arg-type]


class PersonalDataContract:
    """R14's share of the repository contract (the ``repository`` fixture comes from
    :class:`~qleads.testing.contract.RepositoryContract`)."""

    class TestAccessLog:
        def test_records_come_back_newest_first_and_filtered(
            self, repository: LeadRepository
        ) -> None:
            """R14: the log reads by lead, user and time window, newest first."""
            log = _keeper(repository).access_log
            log.append([_record(1, T0), _record(2, T0 + dt.timedelta(hours=1), "i-ben")])
            log.append([_record(1, T0 + dt.timedelta(hours=2), "a-root", role="admin")])
            every = log.records(AccessQuery())
            assert [(r.lead_id, r.user_id) for r in every] == [
                (1, "a-root"),
                (2, "i-ben"),
                (1, "i-anna"),
            ]
            assert len({r.id for r in every}) == 3
            assert every[0].at == T0 + dt.timedelta(hours=2)
            assert every[0].at.tzinfo is dt.UTC
            assert [r.user_id for r in log.records(AccessQuery(lead_id=1))] == ["a-root", "i-anna"]
            assert [r.lead_id for r in log.records(AccessQuery(user_id="i-ben"))] == [2]
            window = AccessQuery(since=T0 + dt.timedelta(hours=1), until=T0 + dt.timedelta(hours=2))
            assert [r.user_id for r in log.records(window)] == ["i-ben"]
            assert len(log.records(AccessQuery(limit=2))) == 2

        def test_a_long_page_of_records_is_appended_whole(self, repository: LeadRepository) -> None:
            """R14: the records of a long page (up to 500 rows) are all appended, each
            with its own values, in one call."""
            log = _keeper(repository).access_log
            records = [
                _record(n, T0 + dt.timedelta(seconds=n), f"i-{n % 7}") for n in range(1, 251)
            ]
            log.append(records)
            stored = log.records(AccessQuery(limit=500))
            assert len(stored) == 250
            assert sorted((r.lead_id, r.user_id, r.at) for r in stored) == [
                (r.lead_id, r.user_id, r.at) for r in records
            ]

        def test_a_unit_records_access_with_its_change_or_not_at_all(
            self, repository: LeadRepository
        ) -> None:
            """R14: the records a change's unit of work holds (what a claim returns) are
            stored when it commits and gone when it rolls back, like the change."""
            log = _keeper(repository).access_log
            with repository.unit_of_work(writing=True) as uow:
                assert isinstance(uow, RecordsAccessInUnit)
                uow.record_access([_record(7, T0)])
                uow.rollback()
            with repository.unit_of_work(writing=True) as uow:
                assert isinstance(uow, RecordsAccessInUnit)
                uow.record_access([_record(8, T0)])
                # left without a commit: rolled back
            assert log.records(AccessQuery()) == []
            with repository.unit_of_work(writing=True) as uow:
                assert isinstance(uow, RecordsAccessInUnit)
                uow.record_access([_record(9, T0), _record(9, T0, "i-ben")])
                uow.commit()
            assert sorted(r.user_id for r in log.records(AccessQuery(lead_id=9))) == [
                "i-anna",
                "i-ben",
            ]

        def test_a_unit_records_a_long_page_whole(self, repository: LeadRepository) -> None:
            """R14: a page of 150 rows read in a unit (several statements' worth of
            rows) is recorded row by row, each with its own values, at the commit."""
            log = _keeper(repository).access_log
            records = [
                _record(n, T0 + dt.timedelta(seconds=n), f"i-{n % 7}") for n in range(1, 151)
            ]
            with repository.unit_of_work() as uow:
                assert isinstance(uow, RecordsAccessInUnit)
                uow.record_access(records)
                uow.commit()
            stored = log.records(AccessQuery(limit=500))
            assert sorted((r.lead_id, r.user_id, r.at) for r in stored) == [
                (r.lead_id, r.user_id, r.at) for r in records
            ]

        def test_a_read_unit_appends_what_it_read_at_once(self, repository: LeadRepository) -> None:
            """R14: a unit that has only read (a tab page) appends the records of what it
            read on its own connection; they are stored at once, stay whatever the unit
            does next, and a long page is appended whole."""
            log = _keeper(repository).access_log
            records = [
                _record(n, T0 + dt.timedelta(seconds=n), f"i-{n % 7}") for n in range(1, 131)
            ]
            with repository.unit_of_work() as uow:
                assert isinstance(uow, AppendsAccessInUnit)
                uow.find(query_for(Scope(None), Tab.ALL))
                uow.append_access(records[:1])
                assert [r.lead_id for r in log.records(AccessQuery())] == [1]
                uow.append_access(records[1:])
                uow.rollback()
            stored = log.records(AccessQuery(limit=500))
            assert sorted((r.lead_id, r.user_id, r.at) for r in stored) == [
                (r.lead_id, r.user_id, r.at) for r in records
            ]

        def test_scope_filters_by_territory_and_holder(self, repository: LeadRepository) -> None:
            """R12: a rep reads his territories' records, an installer his leads'."""
            log = _keeper(repository).access_log
            log.append(
                [
                    _record(1, T0),
                    _record(2, T0, territory_id="t-munich", holder_id="i-carl"),
                    _record(3, T0, territory_id=None, holder_id=None),
                ]
            )
            east = AccessQuery(territory_ids=frozenset({"t-leipzig", "t-dresden"}))
            assert [r.lead_id for r in log.records(east)] == [1]
            assert [r.lead_id for r in log.records(AccessQuery(holder_id="i-carl"))] == [2]

        def test_purge_removes_exactly_the_older_records(self, repository: LeadRepository) -> None:
            """R14: the retention purge takes what was written before the cutoff only."""
            log = _keeper(repository).access_log
            cutoff = T0 + dt.timedelta(days=1)
            log.append(
                [
                    _record(1, cutoff - dt.timedelta(microseconds=1)),
                    _record(2, cutoff),
                    _record(3, cutoff + dt.timedelta(days=1)),
                ]
            )
            assert log.count_before(cutoff) == 1
            assert log.purge(cutoff) == 1
            assert sorted(r.lead_id for r in log.records(AccessQuery())) == [2, 3]
            assert log.purge(cutoff) == 0

    class TestErasure:
        def test_erasure_leaves_the_figures_and_not_the_person(
            self, repository: LeadRepository
        ) -> None:
            """R14: contact, free texts and notes go; status, dates, postcode area,
            the consent (as proof) and every tab count stay."""
            world = World(repository)
            document = make_document("gdpr-1", name="Zacharias Quastenflosser")
            lead = world.desk.intake(world.source, _with_consent(document)).lead
            world.desk.claim(world.anna, lead.id)
            world.desk.record(
                world.anna,
                lead.id,
                Status.FIRST_CONTACT,
                channel=Channel.PHONE,
                note="Herr Quastenflosser bittet um Rückruf",
            )
            before = world.desk.get(world.admin, lead.id).lead
            counts = world.desk.counts(world.anna), world.desk.counts(world.admin)
            result = world.desk.erase_personal_data(
                world.admin, email="ERIKA@example.org", reason="Art. 17 request"
            )
            assert result.erased == (lead.id,)
            after = world.desk.get(world.admin, lead.id).lead
            contact = after.document.contact
            assert (contact.name, contact.street, contact.city, contact.email) == ("", "", "", "")
            assert (contact.phone, contact.reachability, contact.comment) == ("", "", "")
            assert (contact.postal_code, contact.country) == ("04", "DE")
            assert after.document.roof == before.document.roof
            assert after.document.costs == before.document.costs
            assert after.document.consent == Consent(
                _CONSENT.text_version,
                _CONSENT.given_at,
                "https://solarrechner.example/angebot",
            )
            assert (after.status, after.status_at, after.received_at, after.holder_id) == (
                before.status,
                before.status_at,
                before.received_at,
                before.holder_id,
            )
            assert [e.note for e in world.desk.history(world.admin, lead.id)] == ["", "", ""]
            assert (world.desk.counts(world.anna), world.desk.counts(world.admin)) == counts
            page = world.desk.tab(world.admin, Tab.ALL)
            assert [row.lead.name for row in page.items] == [""]
            stored = _keeper(repository).personal_data.erasures([lead.id])
            assert [(r.actor_id, r.reason) for r in stored] == [("a-root", "Art. 17 request")]
            assert "Quastenflosser" not in json.dumps(
                world.desk.export_personal_data(world.admin, email="erika@example.org")
            )

        def test_erasing_twice_or_an_unknown_address_is_harmless(
            self, repository: LeadRepository
        ) -> None:
            """R14: a second erasure changes nothing and records nothing more."""
            world = World(repository)
            lead_id = world.intake("gdpr-2")
            first = world.desk.erase_personal_data(world.admin, lead_id=lead_id, reason="asked")
            again = world.desk.erase_personal_data(world.admin, lead_id=lead_id, reason="again")
            unknown = world.desk.erase_personal_data(
                world.admin, email="nobody@example.org", reason="asked"
            )
            assert (first.erased, again.erased, again.already_erased) == (
                (lead_id,),
                (),
                (lead_id,),
            )
            assert unknown.erased == unknown.already_erased == ()
            records = _keeper(repository).personal_data.erasures([lead_id])
            assert [r.reason for r in records] == ["asked"]

        def test_an_erased_person_is_no_duplicate_of_himself_any_more(
            self, repository: LeadRepository
        ) -> None:
            """R14: duplicate detection's match keys derive from the person's data, so an
            erasure takes them too; the same person asking again is a lead of its own."""
            world = World(repository, policy=Policy(duplicate_detection=True))
            first = world.intake("gdpr-dup-1")
            second = world.desk.intake(world.source, lead_document("gdpr-dup-2", "04107"))
            assert second.duplicate_of == first
            email = lead_document()["contact"]["email"]
            erased = world.desk.erase_personal_data(world.admin, email=email, reason="asked")
            assert sorted(erased.erased) == [first, second.lead.id]
            third = world.desk.intake(world.source, lead_document("gdpr-dup-3", "04107"))
            assert third.created
            assert third.duplicate_of is None

        def test_the_reason_is_required_and_the_admin_alone_may_erase(
            self, repository: LeadRepository
        ) -> None:
            """R12, R14: nobody but an admin erases; an erasure says why."""
            world = World(repository)
            lead_id = world.intake("gdpr-3")
            with pytest.raises(InvalidInput):
                world.desk.erase_personal_data(world.admin, lead_id=lead_id, reason="  ")
            with pytest.raises(NotPermitted):
                world.desk.erase_personal_data(world.rep_east, lead_id=lead_id, reason="x")
            with pytest.raises(NotPermitted):
                world.desk.export_personal_data(world.anna, email="erika@example.org")
            assert world.desk.get(world.admin, lead_id).lead.document.contact.name != ""

    class TestExport:
        def test_export_holds_every_lead_history_mail_and_access(
            self, repository: LeadRepository
        ) -> None:
            """R14 (Art. 15): one JSON document with all the person's leads."""
            world = World(repository)
            first = world.desk.intake(world.source, _with_consent(make_document("gdpr-4"))).lead
            second = world.desk.intake(world.source, make_document("gdpr-5")).lead.id
            world.desk.claim(world.anna, first.id)
            world.desk.get(world.anna, first.id, client="203.0.113.77")
            export = world.desk.export_personal_data(world.admin, email="Erika@Example.org")
            json.dumps(export)
            assert [lead["id"] for lead in export["leads"]] == [first.id, second]
            assert export["leads"][0]["document"]["contact"]["name"] == "Erika Mustermann"
            assert [e["kind"] for e in export["leads"][0]["history"]] == ["received", "claimed"]
            assert [c["text_version"] for c in export["consents"]] == ["einwilligung-v3"]
            assert {m["recipient_id"] for m in export["mails"]} >= {"i-anna", "i-ben"}
            kinds = [(a["user_id"], a["kind"], a["client"]) for a in export["access_log"]]
            assert ("i-anna", "view", "203.0.113.0") in kinds
            assert ("a-root", "export", "") in kinds

    class TestRetention:
        def test_retention_takes_exactly_the_due_leads_and_records(
            self, repository: LeadRepository
        ) -> None:
            """R14: with the clock at a period's end plus one day, the sweep anonymises
            exactly the leads past it and purges exactly the records past theirs."""
            closed_at = dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.UTC)
            world = World(repository, now=closed_at)
            ids = [
                lead.id
                for lead in world.store(
                    _closed("ret-old-won", Status.ORDER_PLACED, closed_at),
                    _closed("ret-old-lost", Status.UNSUCCESSFUL, closed_at),
                    _closed("ret-young", Status.ORDER_PLACED, closed_at + dt.timedelta(days=2)),
                    make_lead("ret-pool-old", received_at=closed_at + dt.timedelta(days=730 - 365)),
                    make_lead(
                        "ret-pool-held",
                        received_at=closed_at,
                        previous_holders=frozenset({"i-anna"}),
                    ),
                    attrs.evolve(
                        make_lead("ret-working", received_at=closed_at, holder_id="i-anna"),
                        status=Status.OFFER_SENT,
                    ),
                )
            ]
            # The access log's 12 months end on 2026-03-10 12:00 for the first record.
            log = _keeper(repository).access_log
            log.append(
                [
                    _record(ids[0], dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)),
                    _record(ids[2], dt.datetime(2025, 3, 12, 12, 0, tzinfo=dt.UTC)),
                ]
            )
            # 24 months after closed_at, plus one day.
            now = dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC)
            world.clock.set(now)
            dry = world.desk.apply_retention(dry_run=True)
            assert (dry.anonymised, dry.access_records_purged) == (3, 1)
            report = world.desk.sweep()
            assert (report.anonymised, report.access_records_purged) == (3, 1)
            erased = {r.lead_id for r in _keeper(repository).personal_data.erasures(ids)}
            assert erased == {ids[0], ids[1], ids[3]}
            for lead_id in ids:
                name = world.desk.get(world.admin, lead_id).lead.document.contact.name
                assert (name == "") == (lead_id in erased)
            assert [r.lead_id for r in log.records(AccessQuery(user_id="i-anna"))] == [ids[2]]
            again = world.desk.sweep()
            assert (again.anonymised, again.access_records_purged) == (0, 0)

        def test_retention_takes_more_leads_than_one_batch_holds(
            self, repository: LeadRepository
        ) -> None:
            """R14: 250 due people, each with his own name, all go in one run."""
            old = dt.datetime(2020, 2, 3, 9, 0, tzinfo=dt.UTC)
            world = World(repository)
            stored = world.store(
                *(_named(f"bulk-{i}", f"Person Nummer{i:03d}", old) for i in range(250))
            )
            report = world.desk.apply_retention()
            assert report.anonymised == 250
            erased = _keeper(repository).personal_data.erasures([lead.id for lead in stored])
            assert len(erased) == 250
            assert world.desk.get(world.admin, stored[-1].id).lead.document.contact.name == ""


def _named(source_id: str, name: str, received_at: dt.datetime) -> Lead:
    lead = make_lead(source_id, received_at=received_at)
    return attrs.evolve(lead, document=make_document(source_id, name=name))


def _with_consent(document: LeadDocument) -> LeadDocument:
    return attrs.evolve(document, consent=_CONSENT)


def _closed(source_id: str, status: Status, at: dt.datetime) -> Lead:
    lead = make_lead(source_id, received_at=at - dt.timedelta(days=30), holder_id="i-anna")
    return attrs.evolve(lead, status=status, status_at=at)
