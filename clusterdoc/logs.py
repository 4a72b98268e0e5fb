"""Logging for both processes: one JSON object a line (python-json-logger), or plain text.

``CLUSTERDOC_LOG_FORMAT`` (``json`` or ``text``, default ``text``) and ``CLUSTERDOC_LOG_LEVEL``
(default ``WARNING``; ``-v`` means ``DEBUG``) choose. Every line carries the ids of what the
process is doing: ``job_id`` and ``error_id`` while a worker runs a job (:func:`log_context`), and
``error_id`` of any message that names one (``[error 1a2b3c4d]``, the id a Slack message shows),
so an error id seen in a thread finds its log line.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

FORMAT_ENV = "CLUSTERDOC_LOG_FORMAT"
LEVEL_ENV = "CLUSTERDOC_LOG_LEVEL"
FORMATS = ("json", "text")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_fields: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar("clusterdoc_log", default=())
_ERROR_ID = re.compile(r"\[error ([0-9a-f]{6,32})\]|error id `([0-9a-f]{6,32})`")


class LogSettingError(ValueError):
    """``str()`` is one line naming the variable."""


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add ``fields`` (``job_id=...``, ``request_id=...``) to every log record made inside the block."""
    token = _fields.set(tuple({**dict(_fields.get()), **fields}.items()))
    try:
        yield
    finally:
        _fields.reset(token)


class ContextFilter(logging.Filter):
    """Puts the context's ids, and the error id a message names, on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _fields.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        if not hasattr(record, "error_id") or not getattr(record, "error_id", None):
            try:
                found = _ERROR_ID.search(record.getMessage())
            except Exception:  # a broken %-format is logging's problem to report, not ours
                found = None
            if found:
                record.error_id = found.group(1) or found.group(2)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)


def setup_logging(verbose: bool = False, environ: dict[str, str] | None = None) -> None:
    """Configure the root logger from the environment; :class:`LogSettingError` names a bad variable."""
    env = os.environ if environ is None else environ
    fmt = env.get(FORMAT_ENV, "text").strip().lower() or "text"
    if fmt not in FORMATS:
        raise LogSettingError(f"{FORMAT_ENV}: must be json or text, got {fmt!r}")
    level = "DEBUG" if verbose else (env.get(LEVEL_ENV, "WARNING").strip().upper() or "WARNING")
    if level not in LEVELS:
        raise LogSettingError(f"{LEVEL_ENV}: must be one of {', '.join(LEVELS)}, got {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
