"""The running count ``qleads sweep`` and ``qleads worker`` show while a sweep works
through a backlog: on a terminal only, one line rewritten in place."""

from __future__ import annotations

import io

from qleads.cli.progress import ProgressLine, progress_line
from qleads.desk import SweepReport


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_rewritten_after_each_batch_and_ended() -> None:
    terminal = _Terminal()
    line = progress_line(terminal, "qleads sweep")
    assert isinstance(line, ProgressLine)
    line(SweepReport(expired=500))
    line(SweepReport(expired=700, reminded=300))
    line.done()
    assert terminal.getvalue() == (
        "\rqleads sweep: 500 deadlines fired so far\rqleads sweep: 1,000 deadlines fired so far\n"
    )


def test_ending_a_line_that_never_showed_writes_nothing() -> None:
    terminal = _Terminal()
    line = progress_line(terminal, "qleads worker: sweep")
    assert line is not None
    line.done()
    assert terminal.getvalue() == ""


def test_a_pipe_or_a_file_gets_no_progress() -> None:
    assert progress_line(io.StringIO(), "qleads sweep") is None
