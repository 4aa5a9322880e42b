"""Mail delivery of the notification outbox (R10): ports, rendering, dispatch, digests."""

from qleads.mail.digest import DigestReport, DigestSender, digest_installers
from qleads.mail.dispatcher import (
    OBSOLETE,
    Dispatcher,
    DispatchReport,
    find_recipient,
    is_obsolete,
)
from qleads.mail.errors import MailError, PermanentMailError, TransientMailError
from qleads.mail.outbox import DIGESTED, DeliveryState, Outbox, OutboxEntry
from qleads.mail.ports import DigestLog, Mailer
from qleads.mail.recording import RecordingMailer
from qleads.mail.render import (
    Recipient,
    RenderedMail,
    Renderer,
    compose,
    header_text,
    message_id_for,
)

__all__ = [
    "DIGESTED",
    "OBSOLETE",
    "DeliveryState",
    "DigestLog",
    "DigestReport",
    "DigestSender",
    "DispatchReport",
    "Dispatcher",
    "MailError",
    "Mailer",
    "Outbox",
    "OutboxEntry",
    "PermanentMailError",
    "Recipient",
    "RecordingMailer",
    "RenderedMail",
    "Renderer",
    "TransientMailError",
    "compose",
    "digest_installers",
    "find_recipient",
    "header_text",
    "is_obsolete",
    "message_id_for",
]
