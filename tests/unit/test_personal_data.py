"""R14's pure rules: the consent block as the intake validates it, what an erasure
leaves of a document, the client address the access log keeps, the retention periods."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from qleads.documents import (
    document_fingerprint,
    structure_stored_document,
    unstructure_document,
)
from qleads.errors import InvalidDocument, InvalidInput
from qleads.intake import parse_document
from qleads.lifecycle import Status
from qleads.model import Consent
from qleads.personal_data import (
    RetentionCutoffs,
    anonymised,
    check_reason,
    client_address,
    months_before,
    person_values,
    retention_cutoffs,
    retention_due,
    scrubbed,
)
from qleads.testing.world import lead_document, make_document, make_lead

UTC = dt.UTC
CONSENT = {
    "text_version": "sha256:9f2c…e1",
    "given_at": "2026-11-02T08:55:00+01:00",
    "source_page": "https://solarrechner.example/angebot",
}


def _errors(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidDocument) as info:
        parse_document(raw)
    return {e.path: e.message for e in info.value.errors}


class TestConsentBlock:
    def test_a_consent_block_is_taken_in_and_stored(self) -> None:
        """R1, R14: the consent is a validated part of the document, kept in UTC."""
        document = parse_document(lead_document(consent=CONSENT))
        assert document.consent == Consent(
            "sha256:9f2c…e1",
            dt.datetime(2026, 11, 2, 7, 55, tzinfo=UTC),
            "https://solarrechner.example/angebot",
        )
        stored = unstructure_document(document)
        assert structure_stored_document(stored) == document
        assert parse_document(stored) == document

    def test_without_a_consent_block_the_fingerprint_stays_what_it_was(self) -> None:
        """R1: documents stored before the consent block keep their idempotency."""
        document = parse_document(lead_document())
        assert document.consent is None
        assert "consent" not in unstructure_document(document)
        assert document_fingerprint(document) != document_fingerprint(
            parse_document(lead_document(consent=CONSENT))
        )

    def test_every_consent_error_is_named_by_its_path(self) -> None:
        """R1: a bad consent block is refused with each field's error, like any field."""
        bad = {"text_version": "", "given_at": "2026-11-02 08:55", "extra": 1}
        errors = _errors(lead_document(consent=bad))
        assert set(errors) >= {"consent.text_version", "consent.given_at", "consent.extra"}
        assert (
            "UTC offset" in errors["consent.given_at"] or "RFC 3339" in errors["consent.given_at"]
        )

    def test_the_consent_time_is_required(self) -> None:
        errors = _errors(lead_document(consent={"text_version": "v3", "given_at": None}))
        assert "consent.given_at" in errors


class TestAnonymised:
    def test_the_person_goes_and_the_figures_stay(self) -> None:
        """R14: contact and free texts empty, postcode area and country kept."""
        document = attrs.evolve(
            make_document("a-1"),
            consent=Consent(
                "v3", dt.datetime(2026, 1, 1, tzinfo=UTC), "https://x.example/p?e=a@b#f"
            ),
        )
        erased = anonymised(document)
        contact = erased.contact
        assert (contact.name, contact.street, contact.city, contact.email, contact.phone) == (
            "",
            "",
            "",
            "",
            "",
        )
        assert (contact.reachability, contact.comment) == ("", "")
        assert (contact.postal_code, contact.country) == ("04", "DE")
        assert (erased.roof, erased.costs, erased.consumption) == (
            document.roof,
            document.costs,
            document.consumption,
        )
        assert erased.consent == Consent(
            "v3", dt.datetime(2026, 1, 1, tzinfo=UTC), "https://x.example/p"
        )
        assert anonymised(erased) == erased

    def test_the_values_an_erasure_looks_for_elsewhere(self) -> None:
        values = person_values(make_document("a-2", name="Erika Mustermann"))
        assert values[0] == max(values, key=len)
        assert {"Erika Mustermann", "Mustermann", "Augustusplatz 9", "erika@example.org"} <= set(
            values
        )
        assert "493411234567" in values
        assert all(len(v) >= 4 for v in values)

    def test_scrubbing_replaces_every_spelling(self) -> None:
        text = "Frau MUSTERMANN (erika mustermann) rief an; Mustermann."
        assert "ustermann" not in scrubbed(text, ("Erika Mustermann", "Mustermann")).lower()

    def test_a_reason_is_required_and_bounded(self) -> None:
        assert check_reason("  per   Brief ") == "per Brief"
        for bad in ("", "   ", "x" * 501):
            with pytest.raises(InvalidInput):
                check_reason(bad)


class TestClientAddress:
    @pytest.mark.parametrize(
        ("given", "kept"),
        [
            ("203.0.113.77", "203.0.113.0"),
            ("2001:db8:abcd:12::1", "2001:db8:abcd::"),
            ("", ""),
            (None, ""),
        ],
    )
    def test_the_log_keeps_the_network_only(self, given: str | None, kept: str) -> None:
        assert client_address(given) == kept

    def test_something_else_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            client_address("erika@example.org")


class TestRetention:
    @pytest.mark.parametrize(
        ("at", "months", "before"),
        [
            ((2026, 3, 31), 1, (2026, 2, 28)),
            ((2028, 3, 31), 1, (2028, 2, 29)),
            ((2026, 3, 11), 24, (2024, 3, 11)),
            ((2026, 1, 15), 12, (2025, 1, 15)),
        ],
    )
    def test_months_are_calendar_months(
        self, at: tuple[int, int, int], months: int, before: tuple[int, int, int]
    ) -> None:
        instant = dt.datetime(*at, 12, 0, tzinfo=UTC)
        assert months_before(instant, months) == dt.datetime(*before, 12, 0, tzinfo=UTC)

    def test_the_boundary_is_inclusive_and_a_day_later_is_not_due(self) -> None:
        """R14: a lead closed exactly at the cutoff is due, one closed a day later not."""
        now = dt.datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
        cutoffs = retention_cutoffs(now, 24, 12, 12)
        assert cutoffs == RetentionCutoffs(
            dt.datetime(2024, 3, 11, 12, 0, tzinfo=UTC),
            dt.datetime(2025, 3, 11, 12, 0, tzinfo=UTC),
            dt.datetime(2025, 3, 11, 12, 0, tzinfo=UTC),
        )
        closed = attrs.evolve(
            make_lead("r-1", received_at=dt.datetime(2024, 1, 1, tzinfo=UTC), holder_id="i-anna"),
            status=Status.UNSUCCESSFUL,
            status_at=cutoffs.closed_before,
        )
        assert retention_due(closed, cutoffs)
        later = attrs.evolve(closed, status_at=cutoffs.closed_before + dt.timedelta(days=1))
        assert not retention_due(later, cutoffs)

    def test_only_never_claimed_new_leads_age_out_of_the_pool(self) -> None:
        cutoffs = retention_cutoffs(dt.datetime(2026, 3, 11, tzinfo=UTC), 24, 12, 12)
        old = dt.datetime(2024, 1, 1, tzinfo=UTC)
        assert retention_due(make_lead("p-1", received_at=old), cutoffs)
        held_once = make_lead("p-2", received_at=old, previous_holders=frozenset({"i-ben"}))
        assert not retention_due(held_once, cutoffs)
        working = attrs.evolve(
            make_lead("p-3", received_at=old, holder_id="i-ben"), status=Status.OFFER_SENT
        )
        assert not retention_due(working, cutoffs)


class TestEveryReturnedViewIsLogged:
    def test_a_claim_records_the_contact_it_reveals_and_a_release_does_not(self) -> None:
        """R14, R16: the claim hands the installer the contact (one record); the view a
        release returns hides it again (none); a rep's assignment shows it (one)."""
        from qleads.personal_data import AccessQuery
        from qleads.testing.world import World

        world = World()
        lead_id = world.desk.intake(world.source, make_document("v-1")).lead.id
        log = world.repository.access_log

        def count(user: str) -> int:
            return len(log.records(AccessQuery(lead_id=lead_id, user_id=user)))

        assert world.desk.get(world.anna, lead_id).contact_hidden
        assert count("i-anna") == 0
        world.desk.claim(world.anna, lead_id)
        assert count("i-anna") == 1
        world.desk.release(world.anna, lead_id)
        assert count("i-anna") == 1
        world.desk.assign(world.rep_east, lead_id, world.ben)
        assert count("r-east") == 1
