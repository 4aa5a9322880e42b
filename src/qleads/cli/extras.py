"""Commands whose optional parts are not installed: which extra brings what, and the
one line a command prints instead of a traceback when its extra is missing.

``pip install qleads`` alone brings no database driver and no mail rendering, yet every
command still answers ``--help``, and a command that cannot run says in one line which
extra to install (exit code 2, like any other configuration problem).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence

from qleads.cli.common import EXIT_USAGE, Commands
from qleads.errors import ConfigurationError

__all__ = ["EXTRA_MODULES", "add_stand_in", "extra_of", "missing_before_help", "needs_extras"]

#: What each extra brings, by import name (the rest of an extra comes along with these).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "sql": ("sqlalchemy", "alembic", "orjson"),
    "postgres": ("psycopg",),
    "mail": ("babel",),
}

#: Extras a command finds missing only when it runs: which database driver it needs
#: depends on its URL, so its help is shown without them.
_FOUND_AT_RUN_TIME = frozenset({"sql", "postgres"})


def extra_of(error: BaseException | None) -> str | None:
    """The extra that brings the module whose import failed with ``error`` (or caused
    it: the engine's "cannot set up" error for a missing driver), or ``None`` when no
    extra does (then the error is a bug, not a missing install)."""
    if not isinstance(error, ModuleNotFoundError):
        return extra_of(error.__cause__) if isinstance(error, ConfigurationError) else None
    top = (error.name or "").partition(".")[0]
    return next((extra for extra, names in EXTRA_MODULES.items() if top in names), None)


def _missing(extra: str) -> bool:
    return any(importlib.util.find_spec(name) is None for name in EXTRA_MODULES[extra])


def missing_before_help(extras: Sequence[str]) -> list[str]:
    """The extras of a command group to name instead of its help: none while only its
    database extras are missing (the command names those when it runs), else every one
    of ``extras`` that is missing, so that one install is enough."""
    if not any(_missing(x) for x in extras if x not in _FOUND_AT_RUN_TIME):
        return []
    return [x for x in extras if _missing(x)]


def _the_extras(extras: Sequence[str]) -> str:
    names = " and ".join(f"'{extra}'" for extra in extras)
    return f"the {names} extra{'s' if len(extras) > 1 else ''}"


def needs_extras(command: str, extras: Sequence[str]) -> str:
    """The one line a command prints when its extras are not installed."""
    return f"{command} needs {_the_extras(extras)}: pip install 'qleads[{','.join(extras)}]'"


def add_stand_in(commands: Commands, name: str, help_: str, extras: Sequence[str]) -> None:
    """A command whose extras are missing: it takes any arguments (``--help`` too: its
    only option prefix is NUL, which no argument can hold) and says what to install."""
    message = needs_extras(f"qleads {name}", extras)
    stand_in = commands.add_parser(
        name, help=f"{help_} (needs {_the_extras(extras)})", add_help=False, prefix_chars="\0"
    )
    stand_in.add_argument("arguments", nargs="*")

    def missing(args: argparse.Namespace) -> int:
        print(message, file=sys.stderr)
        return EXIT_USAGE

    stand_in.set_defaults(handler=missing)
