"""Where the log lines of a ``qleads`` process go: ``--log-level`` and ``--log-format``.

The library only logs (one named logger per module, ``qleads.…``) and installs no
handler; an entry point — the ``qleads`` command, the portal — calls
:func:`configure_logging` once. ``text`` is one human line per record; ``json`` is one
JSON object per line (``time``, ``level``, ``logger``, ``message``, and ``exception`` when
there is one), for a log shipper. Both go to stderr, so a command's results on stdout
stay parseable.

The settings may come from the environment (:data:`LOG_LEVEL_ENV`,
:data:`LOG_FORMAT_ENV`), which is how containers and the portal set them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Final, TextIO

from qleads.errors import ConfigurationError

__all__ = [
    "LOG_FORMATS",
    "LOG_FORMAT_ENV",
    "LOG_LEVELS",
    "LOG_LEVEL_ENV",
    "JsonFormatter",
    "add_log_options",
    "configure_logging",
    "remove_logging",
]

LOG_LEVEL_ENV: Final = "QLEADS_LOG_LEVEL"
LOG_FORMAT_ENV: Final = "QLEADS_LOG_FORMAT"
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
LOG_FORMATS: Final = ("text", "json")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
#: Marks the handler this module installed, so that a second call replaces it.
_OURS = "_qleads_handler"
#: The loggers whose level :func:`configure_logging` set (for :func:`remove_logging`).
_configured: list[str] = []
#: The root logger's level before :func:`configure_logging` (restored on removal).
_root_level: list[int] = []


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes, not to the one there was
    when logging was set up (a test's captured stderr is closed after the test)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """Ignores the stream ``StreamHandler`` sets: the handler always reads
        ``sys.stderr`` afresh (above)."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def add_log_options(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format`` (defaults from the environment)."""
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=None,
        help=f"least severity logged (default: ${LOG_LEVEL_ENV} or info)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help=f"text lines or one JSON object per line (default: ${LOG_FORMAT_ENV} or text)",
    )


def configure_logging(
    level: str | None = None,
    log_format: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    loggers: Sequence[str] = ("qleads",),
) -> None:
    """Send the records of ``loggers`` at ``level`` (and everything else at ``warning``
    and up) to ``stream`` (default: stderr). Unset values come from the environment. Raises
    :class:`~qleads.errors.ConfigurationError` for an unknown level or format."""
    env = os.environ if environ is None else environ
    level = (level or env.get(LOG_LEVEL_ENV) or "info").lower()
    log_format = (log_format or env.get(LOG_FORMAT_ENV) or "text").lower()
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"log level {level!r} is none of {', '.join(LOG_LEVELS)}")
    if log_format not in LOG_FORMATS:
        raise ConfigurationError(f"log format {log_format!r} is none of {', '.join(LOG_FORMATS)}")
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT)
    handler.setFormatter(formatter)
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    if not _configured:
        _root_level[:] = [root.level]
    root.setLevel(logging.WARNING)
    for name in loggers:
        logging.getLogger(name).setLevel(level.upper())
    _configured[:] = loggers


def remove_logging() -> None:
    """Undo :func:`configure_logging`: its handler goes, its loggers' levels are unset.
    ``qleads.cli.main`` calls it on return, so that a program (or a test) that runs a
    command in-process keeps its own logging as it was."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    for name in _configured:
        logging.getLogger(name).setLevel(logging.NOTSET)
    if _configured and _root_level:
        root.setLevel(_root_level[0])
    _configured.clear()
