"""The delivery options that ``qleads mail dispatch`` and ``qleads worker`` share: the SMTP
server, its login and security, the links' base URL, the sender and the outbox lease.

:func:`add_delivery_options` adds them to a parser; :func:`build_delivery` checks them
and returns the mailer and the settings a :class:`~qleads.mail.dispatcher.Dispatcher`
needs. Passwords come from an environment variable named on the command line, never from
the command line itself (process lists show it).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Literal

import attrs

from qleads.errors import ConfigurationError

if TYPE_CHECKING:
    from qleads.adapters.smtp import SmtpMailer

__all__ = ["DEFAULT_LEASE_S", "DeliverySettings", "add_delivery_options", "delivery_settings"]

#: How long a run leases the rows it took (``--lease``).
DEFAULT_LEASE_S = 300.0


@attrs.frozen
class DeliverySettings:
    """The checked delivery options."""

    host: str
    port: int
    security: Literal["none", "starttls", "ssl"]
    user: str | None
    password: str | None
    base_url: str
    sender: str
    message_id_domain: str
    timeout: float
    lease: float
    limit: int
    max_attempts: int
    digests: bool

    def mailer(self) -> SmtpMailer:
        """A mailer for the server (it connects when the first mail goes out)."""
        from qleads.adapters.smtp import SmtpMailer

        return SmtpMailer(
            self.host,
            self.port,
            username=self.user,
            password=self.password,
            security=self.security,
            timeout=self.timeout,
            sender=self.sender,
        )


def add_delivery_options(parser: argparse.ArgumentParser) -> None:
    """``--smtp HOST:PORT`` and the options that go with it."""
    parser.add_argument("--smtp", metavar="HOST:PORT", help="the SMTP server (required)")
    security = parser.add_mutually_exclusive_group()
    security.add_argument("--starttls", action="store_true", help="STARTTLS (port 587)")
    security.add_argument("--ssl", action="store_true", help="implicit TLS (port 465)")
    parser.add_argument("--user", help="SMTP login")
    parser.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the SMTP password"
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get("QLEADS_BASE_URL"),
        help="where the portal runs, for the links in mails (default: $QLEADS_BASE_URL)",
    )
    parser.add_argument(
        "--sender", default="qleads@localhost", help="From and envelope sender address"
    )
    parser.add_argument(
        "--message-id-domain", default=None, help="right side of Message-IDs (default: sender's)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="SMTP timeout, seconds")
    parser.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE_S,
        metavar="SECONDS",
        help="how long a run holds the rows it took before another run may take them over "
        f"(a run that died); longer than --timeout (default: {DEFAULT_LEASE_S:.0f})",
    )
    parser.add_argument("--limit", type=int, default=100, help="rows leased per round")
    parser.add_argument("--max-attempts", type=int, default=8, help="before a row fails")
    parser.add_argument("--no-digests", action="store_true", help="do not send digests")


def _smtp_address(value: str | None) -> tuple[str, int]:
    if not value:
        raise ConfigurationError("--smtp HOST:PORT is required")
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise ConfigurationError(f"--smtp needs HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def delivery_settings(args: argparse.Namespace) -> DeliverySettings:
    """The options of :func:`add_delivery_options`, checked; a
    :class:`~qleads.errors.ConfigurationError` names the first that is wrong."""
    host, port = _smtp_address(args.smtp)
    password = None
    if args.password_env is not None:
        password = os.environ.get(args.password_env)
        if password is None:
            raise ConfigurationError(f"${args.password_env} is not set")
    if (args.user is None) != (password is None):
        raise ConfigurationError("--user and --password-env go together")
    if not args.base_url:
        raise ConfigurationError("--base-url (or $QLEADS_BASE_URL) is required for links")
    if args.limit < 1 or args.max_attempts < 1:
        raise ConfigurationError("--limit and --max-attempts must be at least 1")
    if not args.lease > args.timeout > 0:
        # A lease that runs out while a row is still being sent lets another run send
        # it again.
        raise ConfigurationError("--lease must be longer than --timeout, and both positive")
    domain = args.message_id_domain or args.sender.rpartition("@")[2].strip(">") or "qleads"
    return DeliverySettings(
        host=host,
        port=port,
        security="ssl" if args.ssl else "starttls" if args.starttls else "none",
        user=args.user,
        password=password,
        base_url=args.base_url,
        sender=args.sender,
        message_id_domain=domain,
        timeout=args.timeout,
        lease=args.lease,
        limit=args.limit,
        max_attempts=args.max_attempts,
        digests=not args.no_digests,
    )
