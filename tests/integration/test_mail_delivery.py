"""Delivery of the outbox through a real SMTP server (aiosmtpd), on the in-memory
repository: which mail reaches whom, in which language, with which link and deadline
(R10), and how delivery survives a server that is down or refuses a mailbox."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from mail_support import BASE_URL, SmtpServer, World, body, document

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.adapters.smtp import SmtpMailer
from qleads.errors import StorageError
from qleads.lifecycle import Status
from qleads.mail import OBSOLETE, DeliveryState, Dispatcher, Renderer
from qleads.model import NotificationKind, Policy


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer()
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.fixture
def repository() -> InMemoryLeadRepository:
    return InMemoryLeadRepository()


@pytest.fixture
def outbox(repository: InMemoryLeadRepository) -> InMemoryOutbox:
    return InMemoryOutbox(repository)


@pytest.fixture
def world(repository: InMemoryLeadRepository) -> World:
    return World.build(repository)


@pytest.fixture
def mailer(server: SmtpServer) -> Iterator[SmtpMailer]:
    with SmtpMailer("127.0.0.1", server.port, timeout=5, sender="leads@example.com") as m:
        yield m


def make_dispatcher(
    world: World,
    repository: InMemoryLeadRepository,
    outbox: InMemoryOutbox,
    mailer: SmtpMailer,
    *,
    policy: Policy | None = None,
) -> Dispatcher:
    return Dispatcher(
        outbox,
        mailer,
        Renderer(BASE_URL, policy=policy),
        world.directory,
        world.clock,
        leads=repository,
        message_id_domain="leads.example.com",
    )


class TestEachMail:
    """R10: every kind of mail reaches its recipient in his language, with the deep link
    and the running deadline in his local time."""

    def test_new_lead_goes_to_every_installer_in_his_language(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R1, R10: a new lead is announced to each installer who can see it."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        report = make_dispatcher(world, repository, outbox, mailer).dispatch_once()
        assert report.sent == 2
        [anna] = server.messages_to("anna@example.org")
        [bob] = server.messages_to("bob@example.org")
        assert anna["Subject"] == f"Neue Anfrage {lead.id}: 04107 Leipzig"
        assert bob["Subject"] == f"New lead {lead.id}: 04107 Leipzig"
        text = body(anna, "plain")
        assert f"{BASE_URL}/leads/{lead.id}" in text
        assert "Guten Tag Anna Solar" in text
        assert "Anzahl Module:" in text
        assert "24" in text
        assert "Interesse an Speicher: Ja" in text
        assert "13.11.2026" in text
        assert "924,00\xa0€" in text  # savings per year, formatted by Babel for de
        assert "Erika" not in text  # R16: no customer name before a claim
        assert "Hello Bob Sun" in body(bob, "plain")
        assert "€924.00" in body(bob, "plain")
        assert f'href="{BASE_URL}/leads/{lead.id}"' in body(bob, "html")

    def test_assignment_shows_the_reminder_deadline_in_local_time(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R5, R9, R10: assigned on Friday 16:00 in Leipzig, the status is due by
        Tuesday 16:00 (two Saxon business days)."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_once()
        world.desk.assign(world.rep, lead.id, world.anna)
        world.desk.assign(
            world.rep, world.desk.intake(world.source, document("s-2")).lead.id, world.bob
        )
        dispatcher.dispatch_once()
        anna = server.messages_to("anna@example.org")[-1]
        assert anna["Subject"] == f"Anfrage {lead.id} wurde Ihnen zugeteilt: Erika Mustermann"
        assert "bis Dienstag, 17.11.2026, 16:00 Uhr" in body(anna, "plain")
        assert f"{BASE_URL}/leads/{lead.id}" in body(anna, "plain")
        bob = server.messages_to("bob@example.org")[-1]
        assert "has been assigned to you" in bob["Subject"]
        assert "by Tuesday, 17 November 2026, 16:00" in body(bob, "plain")

    def test_reminder_claim_expiry_and_follow_up(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R4, R5, R6, R10: the sweep's mails go to the holder."""
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        assigned = world.desk.intake(world.source, document("s-1")).lead
        claimed = world.desk.intake(world.source, document("s-2")).lead
        follow = world.desk.intake(world.source, document("s-3")).lead
        world.desk.assign(world.rep, assigned.id, world.anna)
        world.desk.claim(world.bob, claimed.id)
        world.desk.claim(world.anna, follow.id)
        due = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)  # Monday 10:00 in Leipzig
        world.desk.record(world.anna, follow.id, Status.FOLLOW_UP, due_at=due)
        dispatcher.dispatch_all()
        before = len(server.envelopes)
        world.clock.set(dt.datetime(2026, 11, 17, 16, 0, tzinfo=dt.UTC))  # Tue 17:00
        world.desk.sweep()
        report = dispatcher.dispatch_all()
        assert report.failed == 0
        new = server.envelopes[before:]
        subjects = {(e.rcpt_tos[0], e.message["Subject"]) for e in new}
        assert (
            "anna@example.org",
            f"Erinnerung: Anfrage {assigned.id} wartet auf Sie (Erika Mustermann)",
        ) in subjects
        assert ("bob@example.org", f"Claim expired: lead {claimed.id}, 04107 Leipzig") in subjects
        assert (
            "anna@example.org",
            f"Wiedervorlage fällig: Anfrage {follow.id} (Erika Mustermann)",
        ) in subjects
        # The expired lead is available again: Anna hears of it, Bob (who let it go) not.
        assert ("anna@example.org", f"Neue Anfrage {claimed.id}: 04107 Leipzig") in subjects
        follow_up = next(e.message for e in new if "Wiedervorlage" in e.message["Subject"])
        assert "fällig seit Montag, 16.11.2026, 10:00 Uhr" in body(follow_up, "plain")
        assert f"{BASE_URL}/leads/{follow.id}" in body(follow_up, "plain")

    def test_escalation_reaches_the_rep(self, repository, outbox, mailer, server) -> None:
        """R5 (beyond the manual): after the reminder, the rep is told."""
        world = World.build(repository)
        world.desk.policy = Policy(escalation_days=1)
        lead = world.desk.intake(world.source, document("s-1")).lead
        world.desk.assign(world.rep, lead.id, world.anna)
        world.clock.set(dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC))
        world.desk.sweep()
        world.desk.sweep()
        make_dispatcher(world, repository, outbox, mailer).dispatch_all()
        [rita] = server.messages_to("rita@example.org")
        assert rita["Subject"] == (
            f"Eskalation: Anfrage {lead.id} ohne Bearbeitung (Erika Mustermann)"
        )


class TestReliability:
    """R10: a mail server that is down loses nothing; nothing is mailed twice."""

    def test_server_down_during_50_changes(self, world, repository, outbox, mailer, server):
        """R10: 50 assignments while the server is down all succeed; once it is back,
        exactly 50 mails arrive, with 50 distinct Message-IDs."""
        leads = [world.desk.intake(world.source, document(f"s-{i}")).lead for i in range(50)]
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_all()
        before = len(server.envelopes)
        server.stop()
        for lead in leads:
            assert world.desk.assign(world.rep, lead.id, world.anna).lead.status is Status.ASSIGNED
        report = dispatcher.dispatch_all()
        assert (report.sent, report.retried) == (0, 50)
        assert outbox.pending_count() == 50
        server.start()
        world.clock.advance(dt.timedelta(minutes=1))
        report = dispatcher.dispatch_all()
        assert report.sent == 50
        arrived = server.wait_for(before + 50)[before:]
        assert len(arrived) == 50
        assert len({e.message["Message-ID"] for e in arrived}) == 50
        assert dispatcher.dispatch_all().handled == 0
        assert len(server.envelopes) == before + 50

    def test_backoff_grows_and_gives_up_after_max_attempts(self, world, repository, outbox):
        """R10: transient failures wait 1, 2, 4 … minutes; after the last attempt the
        row is failed and listed for admins."""
        from qleads.mail import RecordingMailer, TransientMailError

        mailer = RecordingMailer()
        mailer.fail_all(TransientMailError("421 try later", reply_code=421))
        dispatcher = Dispatcher(
            outbox, mailer, Renderer(BASE_URL), world.directory, world.clock,
            leads=repository, max_attempts=3,
        )  # fmt: skip
        world.desk.intake(world.source, document("s-1"))
        waits = []
        for _ in range(3):
            dispatcher.dispatch_once()
            pending = [e for e in outbox.entries() if e.state is DeliveryState.PENDING]
            if pending:
                waits.append(pending[0].next_attempt_at - world.clock.now())
                world.clock.set(pending[0].next_attempt_at)
        assert waits[:2] == [dt.timedelta(minutes=1), dt.timedelta(minutes=2)]
        assert {e.state for e in outbox.entries()} == {DeliveryState.FAILED}
        assert len(outbox.failed()) == 2
        outbox.retry(outbox.failed()[0].key)
        mailer.fail_all(None)
        assert dispatcher.dispatch_once().sent == 1

    def test_rolled_back_change_sends_nothing(self, world, repository, outbox, mailer, server):
        """R10: the notification is stored with the change or not at all."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_all()
        before = len(server.envelopes)

        class FailingCommit:
            """The repository, with a database that fails at commit time."""

            def unit_of_work(self, *, writing=False):  # type: ignore[no-untyped-def]
                uow = repository.unit_of_work(writing=writing)

                def commit() -> None:
                    raise StorageError("disk full")

                uow.commit = commit  # type: ignore[method-assign]
                return uow

        world.desk.repository = FailingCommit()  # type: ignore[assignment]
        with pytest.raises(StorageError):
            world.desk.assign(world.rep, lead.id, world.anna)
        world.desk.repository = repository
        assert dispatcher.dispatch_all().handled == 0
        assert len(server.envelopes) == before
        assert outbox.pending_count() == 0

    def test_550_fails_one_row_and_the_rest_go_out(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R10: a permanent refusal is failed after one attempt and blocks nothing."""
        server.handler.reject.add("anna@example.org")
        for i in range(5):
            world.desk.intake(world.source, document(f"s-{i}"))
        report = make_dispatcher(world, repository, outbox, mailer).dispatch_all()
        assert (report.sent, report.failed, report.retried) == (5, 5, 0)
        assert len(server.messages_to("bob@example.org")) == 5
        failed = outbox.failed()
        assert {e.notification.recipient_id for e in failed} == {"anna"}
        assert all(e.attempts == 1 and "550" in (e.last_error or "") for e in failed)

    def test_sweep_three_times_in_a_day_sends_one_reminder(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R5, R11: the reminder fires once however often the sweep runs."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        world.desk.assign(world.rep, lead.id, world.anna)
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_all()
        before = len(server.envelopes)
        for hour in (16, 17, 20):  # Tuesday 17.11., after the deadline
            world.clock.set(dt.datetime(2026, 11, 17, hour, 0, tzinfo=dt.UTC))
            world.desk.sweep()
            dispatcher.dispatch_all()
        reminders = [e for e in server.envelopes[before:] if "Erinnerung" in e.message["Subject"]]
        assert len(reminders) == 1

    def test_message_id_is_stable_for_a_resend(self, world, repository, outbox, mailer, server):
        """R10: a dispatcher that dies after the server's 250 but before marking the
        row sent leaves the row to be taken over; the re-send has the same Message-ID."""
        world.desk.intake(world.source, document("s-1"))
        first = make_dispatcher(world, repository, outbox, mailer)
        [entry, _] = outbox.lease(world.clock.now(), 2, "dead", dt.timedelta(minutes=5))
        # The dead dispatcher had sent the first row already:
        lead = repository.unit_of_work()
        with lead as uow:
            stored = uow.get(entry.notification.lead_id)
        from qleads.mail import compose, message_id_for
        from qleads.mail.dispatcher import find_recipient

        recipient = find_recipient(world.directory, entry.notification.recipient_id)
        assert recipient is not None
        mid = message_id_for(entry.key, "leads.example.com")
        mailer.send(
            compose(
                Renderer(BASE_URL).render(entry.notification, stored, recipient),
                to_name=recipient.name, to_address=recipient.email,
                message_id=mid, date=world.clock.now(),
            )
        )  # fmt: skip
        assert first.dispatch_once().handled == 0  # still leased
        world.clock.advance(dt.timedelta(minutes=6))
        report = first.dispatch_once()
        assert (report.sent, report.taken_over) == (2, 2)
        ids = [e.message["Message-ID"] for e in server.envelopes]
        assert ids.count(mid) == 2
        assert len(set(ids)) == 2


class TestHeaderInjection:
    def test_crlf_in_a_name_adds_no_header_and_no_recipient(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R10: a lead named ``Max\\r\\nBcc: x@example.org`` (intake refuses it; this one
        comes around validation) still cannot add a header or a recipient."""
        doc = document("s-1", name="Max\r\nBcc: x@example.org", city="Leipzig\r\nX-Evil: 1")
        lead = world.desk.intake(world.source, doc).lead
        world.desk.assign(world.rep, lead.id, world.anna)
        make_dispatcher(world, repository, outbox, mailer).dispatch_all()
        for envelope in server.envelopes:
            message = envelope.message
            assert message["Bcc"] is None
            assert message["X-Evil"] is None
            assert "x@example.org" not in envelope.rcpt_tos
            assert len(envelope.rcpt_tos) == 1
            assert "\r" not in message["Subject"]
            assert "\n" not in message["Subject"]
        assigned = server.messages_to("anna@example.org")[-1]
        assert assigned["Subject"] == (
            f"Anfrage {lead.id} wurde Ihnen zugeteilt: Max Bcc: x@example.org"
        )

    def test_html_is_escaped(self, world, repository, outbox, mailer, server) -> None:
        """R10: lead data cannot inject markup into the HTML part."""
        lead = world.desk.intake(world.source, document("s-1", city="<script>x</script>")).lead
        make_dispatcher(world, repository, outbox, mailer).dispatch_all()
        html = body(server.messages_to("anna@example.org")[0], "html")
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
        assert f"{BASE_URL}/leads/{lead.id}" in html


class TestObsoleteNotice:
    def test_new_lead_notice_for_a_lead_taken_meanwhile_is_not_mailed(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R2, R10: once claimed, nobody else can take the lead; its new-lead notices
        that had not gone out yet are dropped instead of mailed."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        world.desk.claim(world.anna, lead.id)
        report = make_dispatcher(world, repository, outbox, mailer).dispatch_all()
        assert (report.sent, report.skipped) == (0, 2)
        assert server.envelopes == []
        assert {e.state for e in outbox.entries()} == {DeliveryState.SENT}
        assert {e.notification.kind for e in outbox.entries()} == {NotificationKind.NEW_LEAD}

    @pytest.mark.parametrize("change", ["reassigned", "released", "closed"])
    def test_assigned_mail_for_a_lead_gone_before_dispatch_is_not_mailed(
        self, world, repository, outbox, mailer, server, change
    ) -> None:
        """R5, R10, R16: the "assigned" mail names the customer. When the lead was
        reassigned, released or closed before it went out, Anna no longer holds it:
        her mail is marked obsolete and never sent."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_all()
        before = len(server.envelopes)
        world.desk.assign(world.rep, lead.id, world.anna)
        if change == "reassigned":
            world.desk.assign(world.rep, lead.id, world.bob)
        elif change == "released":
            world.desk.release(world.anna, lead.id)
        else:
            world.desk.record(world.anna, lead.id, Status.ORDER_PLACED)
        report = dispatcher.dispatch_all()
        assert (report.skipped, report.failed) == (1, 0)
        sent = server.envelopes[before:]
        assert all("anna@example.org" not in e.rcpt_tos for e in sent)
        holder = ["bob@example.org"] if change == "reassigned" else []
        assert all("Erika" not in str(e.message["Subject"]) for e in sent if e.rcpt_tos != holder)
        [anna] = [
            e
            for e in outbox.entries()
            if e.notification.kind is NotificationKind.ASSIGNED
            and e.notification.recipient_id == "anna"
        ]
        assert (anna.state, anna.message_id) == (DeliveryState.SENT, OBSOLETE)
        if change == "reassigned":
            [bob] = [e.message for e in sent]
            assert bob["Subject"] == f"Lead {lead.id} has been assigned to you: Erika Mustermann"

    def test_reminder_for_a_lead_worked_on_before_dispatch_is_not_mailed(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R5, R10: "no status recorded yet" is wrong once a status was recorded, so the
        reminder that had not gone out by then is dropped."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        world.desk.assign(world.rep, lead.id, world.anna)
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_all()
        before = len(server.envelopes)
        world.clock.set(dt.datetime(2026, 11, 17, 16, 0, tzinfo=dt.UTC))  # Tue 17:00
        assert world.desk.sweep().reminded == 1
        world.desk.record(world.anna, lead.id, Status.CONTACT_ATTEMPTED)
        report = dispatcher.dispatch_all()
        assert (report.sent, report.skipped) == (0, 1)
        assert server.envelopes[before:] == []

    def test_follow_up_reminder_for_a_moved_date_is_not_mailed(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R6, R10: the follow-up came due, but before its mail went out Anna set a new
        date: the mail for the old date is dropped, the lead waits for the new one."""
        lead = world.desk.intake(world.source, document("s-1")).lead
        world.desk.claim(world.anna, lead.id)
        monday = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)
        world.desk.record(world.anna, lead.id, Status.FOLLOW_UP, due_at=monday)
        dispatcher = make_dispatcher(world, repository, outbox, mailer)
        dispatcher.dispatch_all()
        before = len(server.envelopes)
        world.clock.set(monday + dt.timedelta(hours=1))
        assert world.desk.sweep().follow_ups_due == 1
        later = monday + dt.timedelta(days=3)
        world.desk.record(world.anna, lead.id, Status.FOLLOW_UP, due_at=later)
        report = dispatcher.dispatch_all()
        assert (report.sent, report.skipped) == (0, 1)
        assert server.envelopes[before:] == []


class Counting:
    """Passes every call on to ``inner`` and counts them, by method and first argument."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[tuple[str, Any]] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[(name, args[0] if args else None)] += 1
            return attr(*args, **kwargs)

        return call


class TestOneReadPerRound:
    def test_each_lead_and_recipient_is_read_once_per_round(
        self, world, repository, outbox, mailer, server
    ) -> None:
        """R10: a round reads each lead and each recipient once, however many of its
        notices name them (two leads to two installers: four mails, two lead reads)."""
        world.desk.intake(world.source, document("s-1"))
        world.desk.intake(world.source, document("s-2"))
        leads, directory = Counting(repository), Counting(world.directory)
        dispatcher = Dispatcher(
            outbox,
            mailer,
            Renderer(BASE_URL),
            directory,
            world.clock,
            leads=leads,
        )
        report = dispatcher.dispatch_once()
        assert report.sent == 4
        assert leads.calls == {("unit_of_work", None): 2}
        assert directory.calls == {("installer", "anna"): 1, ("installer", "bob"): 1}
