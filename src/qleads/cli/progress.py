"""A sweep's running count on a terminal: ``qleads sweep`` and ``qleads worker`` rewrite
one line in place after every batch, so that a sweep of a long outage's backlog shows
it is moving. On a pipe or a file nothing is written until the command's own total: a
log or a cron mail gets one line, not hundreds."""

from __future__ import annotations

from typing import TextIO

from qleads.desk.sweep import SweepReport

__all__ = ["ProgressLine", "progress_line"]


class ProgressLine:
    """Called with the totals after each committed batch (``LeadDesk.sweep``'s
    ``progress``); :meth:`done` ends the line."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._shown = False

    def __call__(self, report: SweepReport) -> None:
        self._stream.write(f"\r{self._label}: {report.total:,} deadlines fired so far")
        self._stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False


def progress_line(stream: TextIO, label: str) -> ProgressLine | None:
    """A :class:`ProgressLine` on ``stream`` if it is a terminal, else ``None``."""
    isatty = getattr(stream, "isatty", None)
    return ProgressLine(stream, label) if isatty is not None and isatty() else None
