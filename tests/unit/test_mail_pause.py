"""The rep's mail when one of his installers is paused from claiming (``qleads.limits``):
German and English, with the end of the pause, and without the customer's name."""

from __future__ import annotations

import datetime as dt

import attrs

from qleads.lifecycle import Status
from qleads.mail import Renderer, is_obsolete
from qleads.model import Notification, NotificationKind, SalesRep
from qleads.testing.world import SAXONY, make_lead

BASE = "https://leads.example.com/"
#: Thursday 26.11.2026 13:00 in Leipzig.
UNTIL = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
RITA = SalesRep("r-east", "Rita Ost", "rita@example.org", calendar=SAXONY)


def _mail(language: str) -> tuple[str, str]:
    lead = attrs.evolve(make_lead("pause-1", status=Status.NEW), id=7, version=3)
    notice = Notification.for_lead(
        NotificationKind.CLAIMING_PAUSED, lead, RITA.id, UNTIL, deadline_at=UNTIL
    )
    rendered = Renderer(BASE).render(notice, lead, attrs.evolve(RITA, language=language))
    assert lead.document.contact.name not in rendered.subject + rendered.text + rendered.html
    assert not is_obsolete(notice, lead)
    return rendered.subject, rendered.text


def test_the_rep_reads_it_in_german() -> None:
    subject, text = _mail("de")
    assert subject.startswith("Reservieren pausiert: Reservierung der Anfrage 7 abgelaufen")
    assert "Pausiert bis Donnerstag, 26.11.2026, 13:00 Uhr." in text
    assert "Sie oder ein Admin können die Pause im Portal aufheben." in text


def test_the_rep_reads_it_in_english() -> None:
    subject, text = _mail("en")
    assert subject.startswith("Claiming paused: the claim of lead 7 expired")
    assert "Paused until Thursday, 26 November 2026, 13:00." in text
    assert "You or an admin can lift the pause" in text
