"""Where log lines go (qleads.cli.logs): text or one JSON object per line, the level
for the named loggers only, and nothing left behind by remove_logging."""

from __future__ import annotations

import io
import json
import logging

import pytest

from qleads.cli.logs import configure_logging, remove_logging
from qleads.errors import ConfigurationError

_BEFORE = logging.getLogger().level


@pytest.fixture(autouse=True)
def _clean() -> None:
    yield
    remove_logging()


def test_json_lines_carry_level_logger_and_message() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    logging.getLogger("qleads.mail.worker").info("round: %d sent", 3)
    logging.getLogger("qleads.mail.worker").debug("not at info")
    logging.getLogger("somebody.else").info("not ours at info")
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "info"
    assert record["logger"] == "qleads.mail.worker"
    assert record["message"] == "round: 3 sent"
    assert record["time"].endswith("+00:00")


def test_settings_come_from_the_environment() -> None:
    stream = io.StringIO()
    env = {"QLEADS_LOG_LEVEL": "warning", "QLEADS_LOG_FORMAT": "text"}
    configure_logging(environ=env, stream=stream)
    logging.getLogger("qleads.x").info("quiet")
    logging.getLogger("qleads.x").warning("loud")
    assert stream.getvalue().count("\n") == 1
    assert "WARNING qleads.x" in stream.getvalue()


def test_a_second_call_replaces_the_first_and_remove_undoes_it() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "text", stream=first)
    configure_logging("info", "text", stream=second)
    logging.getLogger("qleads.y").info("once")
    assert first.getvalue() == ""
    assert "once" in second.getvalue()
    handlers = len(logging.getLogger().handlers)
    remove_logging()
    assert logging.getLogger().level == _BEFORE
    assert len(logging.getLogger().handlers) == handlers - 1
    assert logging.getLogger("qleads").level == logging.NOTSET


@pytest.mark.parametrize(("level", "fmt"), [("loud", "text"), ("info", "xml")])
def test_unknown_values_are_configuration_errors(level: str, fmt: str) -> None:
    with pytest.raises(ConfigurationError):
        configure_logging(level, fmt, stream=io.StringIO())
