"""Logging set-up for every ``zkprover`` command: plain text for a terminal, or one JSON object
per line (``--log-format json`` / ``$ZKPROVER_LOG_FORMAT=json``) for log collectors.

Job-scoped messages carry ``job=<id>``; the JSON form lifts that into a ``job_id`` field so a
collector can filter one job's lines across servers and workers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time

_JOB = re.compile(r"\bjob=([0-9A-Za-z_-]+)")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message,
        }
        job_id = getattr(record, "job_id", None)
        if job_id is None:
            m = _JOB.search(message)
            job_id = m.group(1) if m else None
        if job_id is not None:
            entry["job_id"] = job_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "WARNING", fmt: str | None = None) -> None:
    fmt = (fmt or os.environ.get("ZKPROVER_LOG_FORMAT") or "text").lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json, got {fmt!r}")
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
