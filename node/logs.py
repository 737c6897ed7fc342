"""Structured logs for the `hearth` commands: one JSON object per line on standard error."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from node.clock import iso


class JsonFormatter(logging.Formatter):
    """`time`, `level`, `logger`, `message`, and `error` (the trace) when there is one; in a
    pod of several processes, `process` (its index) too."""

    process: int | None = None

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": iso(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.process is not None:
            out["process"] = self.process
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot parse at ERROR, with the offending line, which may be
    an `Authorization` header and its token: keep who sent it and what kind of fault it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg = "malformed request from %s: %s"
            record.args = (peer, type(exc).__name__)
            record.exc_info = record.exc_text = None
            # The client's fault, answered 400: nothing for the operator to act on.
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MalformedRequests())
    logging.basicConfig(level=level, handlers=[handler])


def tag_process(index: int) -> None:
    """Mark this process's log lines with its index among the pod's processes."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.formatter.process = index
