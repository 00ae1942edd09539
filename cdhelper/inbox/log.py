"""One JSON line per delivery and per dispatch on stderr, where containers and systemd
collect it. Callers pass names, counts and short details: never a secret, never a payload.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from cdhelper.redact import redact
from cdhelper.values import format_time

_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    line = redact(
        json.dumps({"time": format_time(datetime.now(UTC)), "event": event, **fields}, default=str)
    )
    with _lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


class JsonFormatter(logging.Formatter):
    """uvicorn's own lines (start, stop, errors) as JSON too, so stderr is one format."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": format_time(datetime.fromtimestamp(record.created, UTC)),
            "event": "server",
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(fields, default=str))


# uvicorn's logging: JSON on stderr, and no access log (a token in a URL path must never be
# printed; every delivery has its own line, without the path, from the inbox itself).
UVICORN_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "cdhelper.inbox.log.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
