"""Structured logs: one JSON object per line, an event name plus fields, with the request id."""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import secrets
import sys
import time
from typing import Any

import orjson

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it came from; messages are ours and hold no secrets.
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's own access log is replaced by ours (it would log the query string verbatim).
    logging.getLogger("aiohttp.access").disabled = True


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})


class AccessLog:
    """One JSON line per request, without the logging module's per-record machinery.

    On the /token path a stdlib log record costs ~15 µs (record, formatter, lock, a write
    syscall per line); these lines are built with orjson and written in batches, at most
    `usage_flush_seconds` late (and at shutdown).
    """

    def __init__(self, fd: int = 2, *, max_buffer: int = 64 * 1024) -> None:
        self._fd = fd
        self._max = max_buffer
        self._lines: list[bytes] = []
        self._size = 0
        self._second = -1
        self._stamp = ""

    def write(
        self, method: str, path: str, status: int, ms: float, remote: str | None, rid: str
    ) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line = orjson.dumps(
            {
                "ts": f"{self._stamp}.{int((now - second) * 1000):03d}Z",
                "level": "info",
                "logger": "regauth.http",
                "event": "request",
                "request_id": rid,
                "method": method,
                "path": path,  # never the query string: it may be long or hostile
                "status": status,
                "ms": ms,
                "remote": remote,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self._max:
            self.flush()

    def flush(self) -> int:
        if not self._lines:
            return 0
        data, count = b"".join(self._lines), len(self._lines)
        self._lines, self._size = [], 0
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        return count


_ids = itertools.count(1)
_id_prefix = secrets.token_hex(4)  # per process, so ids stay unique across workers


def new_request_id() -> str:
    return f"{_id_prefix}{next(_ids):x}"
