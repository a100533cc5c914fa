"""Structured logs on stderr (stdout belongs to the protocol in stdio mode), secrets redacted.

Each record is one JSON object per line. A redaction filter masks anything that looks like a
credential, and every configured secret value verbatim, before a record is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from mcp_invoices.providers.catalog import CATALOG

__all__ = ["configure_logging", "add_secrets", "redact", "Throttled"]

_SECRETS: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    # Each provider's credentials as they look in text (its spec's ``secret_patterns``).
    *(re.compile(pattern) for entry in CATALOG for pattern in entry.secret_patterns),
    re.compile(r"\b(mcp[ir]_)[A-Za-z0-9_-]+"),  # access tokens, and the refresh tokens of sign-in
    re.compile(r"(?i)((?:token|key|secret|password|authorization)\"?\s*[:=]\s*\"?)[^\s\",]{4,}"),
    # A sign-in's flow id and an authorization code travel in URLs (an access log at DEBUG shows them).
    re.compile(r"(?i)\b((?:flow|code|code_verifier)=)[^&\s\"]{8,}"),
]
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def add_secrets(values: Iterable[str]) -> None:
    """Register configured secret values so they are masked wherever they appear."""
    _SECRETS.update(value for value in values if value and len(value) >= 4)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: f"{match.group(1)}[redacted]", text)
    return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | bool | None) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type only: messages and tracebacks may carry request data.
            entry["error"] = record.exc_info[0].__name__
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(level: str = "INFO") -> None:
    """Send every log record (ours and the SDK's) to stderr as redacted JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter at INFO is noise on a user's stderr (hosts show it to people as the server's log):
    # Alembic's plugin set-up and migration context, uvicorn's start-up steps, fontTools' glyph lists while
    # a PDF's font is subset (~10 KB a PDF). What an operator wants --
    # where the server listens, which providers are enabled, that the database was migrated -- we log.
    for noisy in (
        "httpx",
        "httpx2",
        "httpcore",
        "httpcore2",
        "uvicorn.access",
        "uvicorn.error",
        "mcp",
        "sse_starlette",
        "alembic",
        "fontTools",
        "fpdf",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class Throttled:
    """A repeated event logged once, then at most once per ``interval`` seconds with how many occurred.

    The first occurrence of each ``key`` is logged at once; later ones within the interval are
    counted, and the next one after it is logged with ``count`` (the occurrences it stands for).
    """

    def __init__(self, logger: logging.Logger, interval: float = 1.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def log(self, level: int, message: str, *, key: str, extra: dict[str, object] | None = None) -> None:
        now = time.monotonic()
        count = self._counts.get(key, 0) + 1
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._counts[key] = count
            return
        if len(self._last) > 1000:  # keys are a handful of fixed strings; never let them grow unbounded
            self._last.clear()
            self._counts.clear()
        self._last[key] = now
        self._counts[key] = 0
        self._logger.log(level, message, extra={**(extra or {}), "count": count})

    def info(self, message: str, *, key: str, extra: dict[str, object] | None = None) -> None:
        self.log(logging.INFO, message, key=key, extra=extra)

    def warning(self, message: str, *, key: str, extra: dict[str, object] | None = None) -> None:
        self.log(logging.WARNING, message, key=key, extra=extra)

    def error(self, message: str, *, key: str, extra: dict[str, object] | None = None) -> None:
        self.log(logging.ERROR, message, key=key, extra=extra)
