"""A mailer that keeps what it is given: the test double of :class:`~qleads.mail.ports.Mailer`."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from email.utils import getaddresses

from qleads.mail.errors import MailError

__all__ = ["RecordingMailer"]


class RecordingMailer:
    """Records every message it accepts, in order; thread-safe.

    :meth:`fail_all` makes every send raise the given error (a server that is down);
    :meth:`fail_for` makes sends to one address raise it (a mailbox that answers 550).
    Failed sends are not recorded, as a real server would not have accepted them.
    """

    def __init__(self, sender: str = "qleads@localhost") -> None:
        self.sender = sender
        self._lock = threading.Lock()
        self._sent: list[EmailMessage] = []
        self._fail_all: MailError | None = None
        self._fail_for: dict[str, MailError] = {}

    @property
    def sent(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._sent)

    def fail_all(self, error: MailError | None) -> None:
        with self._lock:
            self._fail_all = error

    def fail_for(self, address: str, error: MailError | None) -> None:
        with self._lock:
            if error is None:
                self._fail_for.pop(address.lower(), None)
            else:
                self._fail_for[address.lower()] = error

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            if self._fail_all is not None:
                raise self._fail_all
            for _name, address in getaddresses(message.get_all("To", [])):
                error = self._fail_for.get(address.lower())
                if error is not None:
                    raise error
            if message["From"] is None:
                message["From"] = self.sender
            self._sent.append(message)
