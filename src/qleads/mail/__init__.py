"""Mail delivery of the outbox (R10): ports, rendering, dispatch, digests; the lead
notifications and the messages an embedder composes himself."""

from qleads.mail.digest import DigestReport, DigestSender, digest_installers
from qleads.mail.dispatcher import (
    OBSOLETE,
    Dispatcher,
    DispatchReport,
    find_recipient,
    is_obsolete,
)
from qleads.mail.errors import MailError, PermanentMailError, TransientMailError
from qleads.mail.outbox import (
    DIGESTED,
    MESSAGE_KIND,
    DeliveryState,
    Outbox,
    OutboxEntry,
    OutboxMessage,
)
from qleads.mail.ports import DigestLog, Mailer
from qleads.mail.recording import RecordingMailer
from qleads.mail.render import (
    PRODUCT_NAME,
    Recipient,
    RenderedMail,
    Renderer,
    compose,
    header_text,
    message_id_for,
)

__all__ = [
    "DIGESTED",
    "MESSAGE_KIND",
    "OBSOLETE",
    "PRODUCT_NAME",
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
    "OutboxMessage",
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
