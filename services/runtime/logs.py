"""Structured logs, JSON off a TTY. PII never reaches a log line (P7): a redaction processor
masks anything shaped like a phone number or an email, whatever field it hides in."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_EMAIL = re.compile(r"[^@\s\"'<>]+@[^@\s\"'<>]+\.[A-Za-z]{2,}")
# E.164, North-American formatting, or a bare run of 10+ digits (e.g. a Chinese mobile).
# Over-redacting a long number in a log line is cheap; leaking a phone number is not (P7).
_PHONE = re.compile(r"\+\d[\d\s-]{6,17}\d|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\b\d{10,15}\b")


def redact_text(text: str) -> str:
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    return value


def redact_pii(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in ("timestamp", "level", "logger"):
            continue
        event_dict[key] = _redact(event_dict[key])
    return event_dict


class _RedactingFilter(logging.Filter):
    """Library loggers (aiokafka, uvicorn) get the same treatment."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


class _RedactingFormatter(logging.Formatter):
    """The filter sees only the message; a traceback or stack is formatted here, and a vendor's
    error text in it may quote the number or address it refused."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (the stdlib's name)
        # Formatter.format caches this on the record (exc_text), so it is cached redacted.
        return redact_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (the stdlib's name)
        return redact_text(super().formatStack(stack_info))

    def format(self, record: logging.LogRecord) -> str:
        # Also covers an exc_text another formatter cached on the record before this one.
        return redact_text(super().format(record))


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become text before redaction, so an exception's message is redacted too;
        # the console renderer then prints them plain (its pretty form may show locals).
        structlog.processors.format_exc_info,
        redact_pii,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Library chatter (rebalances, retries) at WARNING unless debugging.
    root.setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def reset_logging() -> None:
    """Back to structlog's and the stdlib's defaults (tests that configured logging clean up)."""
    structlog.reset_defaults()
    root = logging.getLogger()
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
