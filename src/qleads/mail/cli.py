"""Deprecated: ``qleads sweep`` and ``qleads mail …`` are :mod:`qleads.cli.sweep` and
:mod:`qleads.cli.mail` now, and ``python -m qleads.cli`` runs them; this module goes in
qleads 0.3."""

import warnings

from qleads.cli import mail as mail_commands
from qleads.cli import main
from qleads.cli import sweep as sweep_commands
from qleads.cli.common import Commands

__all__ = ["main", "register"]

warnings.warn(
    "qleads.mail.cli is deprecated: the commands are in qleads.cli (it goes in qleads 0.3)",
    DeprecationWarning,
    stacklevel=2,
)


def register(subparsers: Commands) -> None:
    """Add ``sweep`` and ``mail`` to the ``qleads`` parser's ``subparsers``, as
    :func:`qleads.cli.build_parser` does."""
    sweep_commands.add_parser(subparsers)
    mail_commands.add_parser(subparsers)


if __name__ == "__main__":  # pragma: no cover - ``python -m qleads.mail.cli``
    raise SystemExit(main())
