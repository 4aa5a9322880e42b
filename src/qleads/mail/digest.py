"""The daily digest (R10, digest option): one mail a day instead of one per new lead.

An installer with ``digest_hour`` set gets, once his local clock has passed that hour,
one mail listing the leads of his territory that became available since his previous
digest and are still available. The dispatcher marks his single new-lead notices as
digested instead of mailing them. The :class:`~qleads.mail.ports.DigestLog` makes the
digest go out once per installer and local day, however often and from however many
processes :meth:`DigestSender.send_digests` runs; its ``Message-ID`` is derived from
(installer, day), so a re-send after a crash is recognisably the same message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import attrs

from qleads.mail.errors import MailError, TransientMailError
from qleads.mail.ports import DigestLog, Mailer
from qleads.mail.render import Renderer, compose, message_id_for, zone_of
from qleads.model import Installer, Lead
from qleads.ports import Clock, Directory, LeadRepository
from qleads.tabs import Scope, Tab, query_for

__all__ = ["DigestReport", "DigestSender", "digest_installers"]

_PAGE = 200


@attrs.frozen
class DigestReport:
    """``empty`` digests had nothing to list and sent no mail; ``retried`` ones failed
    and stay open for the next run."""

    sent: int = 0
    empty: int = 0
    retried: int = 0


def digest_installers(directory: Directory) -> Iterator[Installer]:
    """Every active installer who chose the digest, found through the reps that own
    territories (an installer of a rep without territories has no leads to list). The
    reps are distinct and an installer has one rep, so nobody comes twice."""
    for rep_id in sorted({t.rep_id for t in directory.territories()}):
        for installer in directory.installers_of(rep_id):
            if installer.active and installer.digest_hour is not None:
                yield installer


class DigestSender:
    """Sends the due digests; run it from the same cron job as the dispatcher."""

    def __init__(
        self,
        log: DigestLog,
        mailer: Mailer,
        renderer: Renderer,
        directory: Directory,
        leads: LeadRepository,
        clock: Clock,
        *,
        message_id_domain: str = "qleads",
        sender: str | None = None,
        lease_for: dt.timedelta = dt.timedelta(minutes=10),
    ) -> None:
        self.log = log
        self.mailer = mailer
        self.renderer = renderer
        self.directory = directory
        self.leads = leads
        self.clock = clock
        self.message_id_domain = message_id_domain
        self.sender = sender
        self.lease_for = lease_for

    def send_digests(self, now: dt.datetime | None = None) -> DigestReport:
        """Send every digest that is due at ``now`` (default: the clock) and not yet
        sent for the installer's local day.

        A mail server that cannot be reached at all ends the run: every other digest
        would wait for the same connection timeout. The digests not tried are not
        reserved, so the next run sends them."""
        at = self.clock.now() if now is None else now
        report = DigestReport()
        for installer in digest_installers(self.directory):
            local = at.astimezone(zone_of(installer))
            assert installer.digest_hour is not None
            if local.hour < installer.digest_hour:
                continue
            day = local.date()
            if not self.log.reserve_digest(installer.id, day, at, at + self.lease_for):
                continue
            report, unreachable = self._send(installer, day, at, report)
            if unreachable:
                break
        return report

    def _send(
        self, installer: Installer, day: dt.date, now: dt.datetime, report: DigestReport
    ) -> tuple[DigestReport, bool]:
        """The report with this digest counted, and whether the server was unreachable."""
        since = self.log.last_digest(installer.id) or now - dt.timedelta(days=1)
        leads = self.available_since(installer, since, now)
        if not leads:
            self.log.digest_sent(installer.id, day, message_id=None, lead_count=0, now=now)
            return attrs.evolve(report, empty=report.empty + 1), False
        message_id = message_id_for(
            f"digest:{installer.id}:{day.isoformat()}", self.message_id_domain
        )
        try:
            message = compose(
                self.renderer.render_digest(installer, leads, day),
                to_name=installer.name,
                to_address=installer.email,
                message_id=message_id,
                date=now,
                sender=self.sender,
            )
            self.mailer.send(message)
        except MailError as exc:
            self.log.digest_retry(installer.id, day, exc.message)
            unreachable = isinstance(exc, TransientMailError) and exc.unreachable
            return attrs.evolve(report, retried=report.retried + 1), unreachable
        self.log.digest_sent(
            installer.id, day, message_id=message_id, lead_count=len(leads), now=now
        )
        return attrs.evolve(report, sent=report.sent + 1), False

    def available_since(
        self, installer: Installer, since: dt.datetime, until: dt.datetime
    ) -> list[Lead]:
        """The leads he can take now (R2) that became available in ``(since, until]``,
        newest first."""
        territories = self.directory.territory_ids_of(installer.rep_id)
        scope = Scope(territory_ids=territories, installer_id=installer.id)
        found: list[Lead] = []
        offset = 0
        with self.leads.unit_of_work() as uow:
            while True:
                page = uow.find(query_for(scope, Tab.AVAILABLE, offset=offset, limit=_PAGE))
                # Rows are summaries; the mail shows modules, storage and savings too.
                found += [uow.get(row.id) for row in page.leads if since < row.status_at <= until]
                offset += _PAGE
                if offset >= page.total or not page.leads:
                    return found
