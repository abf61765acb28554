"""JSON logs carry the job id as a field."""

from __future__ import annotations

import json
import logging

import pytest

from prover.logs import JsonFormatter, configure_logging


def _record(msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("zkprover.worker", logging.INFO, __file__, 1, msg, args, None)


def test_json_lines_lift_the_job_id():
    line = JsonFormatter().format(_record("job=%s claimed by %s", "ab12-cd", "w1"))
    entry = json.loads(line)
    assert entry["job_id"] == "ab12-cd"
    assert entry["msg"] == "job=ab12-cd claimed by w1"
    assert entry["level"] == "info" and entry["logger"] == "zkprover.worker"
    assert "job_id" not in json.loads(JsonFormatter().format(_record("server started")))


def test_bad_format_is_refused():
    with pytest.raises(ValueError, match="text or json"):
        configure_logging("INFO", "xml")
