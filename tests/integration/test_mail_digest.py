"""The daily digest (R10, digest option): one mail a day at the installer's chosen
local hour, listing the new leads of his territory that are still available."""

from __future__ import annotations

import datetime as dt
import threading

import attrs
from mail_support import BASE_URL, World, body, document

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.mail import (
    DIGESTED,
    DigestReport,
    DigestSender,
    Dispatcher,
    RecordingMailer,
    Renderer,
)
from qleads.model import Installer

#: Friday 13.11.2026 06:00 UTC = 07:00 in Leipzig.
FRIDAY_7AM = dt.datetime(2026, 11, 13, 6, 0, tzinfo=dt.UTC)


def digest_at_8(installer: Installer) -> Installer:
    return attrs.evolve(installer, digest_hour=8) if installer.id == "anna" else installer


class Setup:
    def __init__(self) -> None:
        self.repository = InMemoryLeadRepository()
        self.outbox = InMemoryOutbox(self.repository)
        self.world = World.build(self.repository, FRIDAY_7AM, tweak=digest_at_8)
        self.mailer = RecordingMailer()
        renderer = Renderer(BASE_URL)
        w = self.world
        self.dispatcher = Dispatcher(
            self.outbox, self.mailer, renderer, w.directory, w.clock, leads=self.repository
        )
        self.digests = DigestSender(
            self.outbox, self.mailer, renderer, w.directory, self.repository, w.clock
        )

    def at(self, day: int, hour_utc: int) -> dt.datetime:
        instant = dt.datetime(2026, 11, day, hour_utc, 0, tzinfo=dt.UTC)
        self.world.clock.set(instant)
        return instant

    def to(self, address: str) -> list[str]:
        return [m["Subject"] for m in self.mailer.sent if address in m["To"]]


class TestDigest:
    def test_digest_installer_gets_no_single_new_lead_mails(self) -> None:
        """R10: with a digest hour set, new-lead notices are digested, not mailed;
        installers without one still get one mail per lead (the manual's default)."""
        s = Setup()
        s.world.desk.intake(s.world.source, document("s-1"))
        report = s.dispatcher.dispatch_all()
        assert (report.sent, report.digested) == (1, 1)
        assert s.to("anna@example.org") == []
        assert len(s.to("bob@example.org")) == 1
        anna_row = next(e for e in s.outbox.entries() if e.notification.recipient_id == "anna")
        assert anna_row.message_id == DIGESTED

    def test_one_digest_at_the_chosen_hour_listing_what_is_still_available(self) -> None:
        """R10: at 08:00 his time he gets one mail with the leads still available; a
        lead claimed meanwhile is not listed."""
        s = Setup()
        kept = s.world.desk.intake(s.world.source, document("s-1", postal_code="04109")).lead
        gone = s.world.desk.intake(s.world.source, document("s-2", postal_code="04229")).lead
        s.world.desk.claim(s.world.bob, gone.id)
        assert s.digests.send_digests().sent == 0  # 07:00 in Leipzig: not yet
        s.at(13, 7)  # 08:00 in Leipzig
        assert s.digests.send_digests().sent == 1
        [digest] = [m for m in s.mailer.sent if "anna@example.org" in m["To"]]
        assert digest["Subject"] == "Ihre neuen Anfragen vom 13.11.2026 (1)"
        text = body(digest, "plain")
        assert f"{BASE_URL}/leads/{kept.id}" in text
        assert f"/leads/{gone.id}" not in text
        assert digest["Message-ID"].endswith("@qleads>")

    def test_once_per_local_day_however_often_and_in_parallel(self) -> None:
        """R10: the digest goes out once per installer and local day, even when several
        processes send digests at the same time."""
        s = Setup()
        s.world.desk.intake(s.world.source, document("s-1"))
        s.at(13, 9)
        threads = [threading.Thread(target=s.digests.send_digests) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s.at(13, 20)
        s.digests.send_digests()
        assert len(s.to("anna@example.org")) == 1

    def test_next_day_lists_only_what_is_new_since(self) -> None:
        """R10: each digest lists the leads that became available since the last one;
        a day without any sends nothing."""
        s = Setup()
        s.world.desk.intake(s.world.source, document("s-1"))
        s.at(13, 8)
        s.digests.send_digests()
        s.at(14, 8)  # Saturday: nothing new
        assert s.digests.send_digests().empty == 1
        s.at(14, 12)
        later = s.world.desk.intake(s.world.source, document("s-2")).lead
        s.at(15, 8)
        assert s.digests.send_digests().sent == 1
        subjects = s.to("anna@example.org")
        assert subjects == [
            "Ihre neuen Anfragen vom 13.11.2026 (1)",
            "Ihre neuen Anfragen vom 15.11.2026 (1)",
        ]
        assert f"/leads/{later.id}" in body(s.mailer.sent[-1], "plain")

    def test_failed_digest_is_tried_again(self) -> None:
        """R10: a digest that could not be sent stays open for the next run."""
        from qleads.mail import TransientMailError

        s = Setup()
        s.world.desk.intake(s.world.source, document("s-1"))
        s.at(13, 8)
        s.mailer.fail_all(TransientMailError("down", unreachable=True))
        assert s.digests.send_digests().retried == 1
        s.mailer.fail_all(None)
        assert s.digests.send_digests().sent == 1
        assert s.digests.send_digests().sent == 0

    def test_an_unreachable_server_ends_the_run(self) -> None:
        """R10: the first digest that cannot reach the server stops the run instead of
        waiting out the timeout for everyone; a server that refuses one mailbox does
        not. Every digest goes out on a later run."""
        from qleads.mail import PermanentMailError, TransientMailError

        s = Setup()
        bob = attrs.evolve(s.world.bob, digest_hour=8)
        s.world.directory.update_installer(bob)
        s.world.desk.intake(s.world.source, document("s-1"))
        s.at(13, 8)
        s.mailer.fail_all(TransientMailError("down", unreachable=True))
        assert s.digests.send_digests() == DigestReport(retried=1)
        s.mailer.fail_all(None)
        s.mailer.fail_for("anna@example.org", PermanentMailError("550 no such user"))
        assert s.digests.send_digests() == DigestReport(sent=1, retried=1)
        s.mailer.fail_for("anna@example.org", None)
        assert s.digests.send_digests() == DigestReport(sent=1)
        assert len(s.to("anna@example.org")) == len(s.to("bob@example.org")) == 1

    def test_english_digest(self) -> None:
        """R10: the digest is in the installer's language."""
        s = Setup()
        bob = attrs.evolve(s.world.bob, digest_hour=6)
        s.world.directory.update_installer(bob)
        s.world.desk.intake(s.world.source, document("s-1"))
        s.at(13, 8)
        s.digests.send_digests()
        assert s.to("bob@example.org") == ["Your new leads of 13 Nov 2026 (1)"]
