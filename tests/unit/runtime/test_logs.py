"""P7 for failures: a phone number or an email inside an exception's message or traceback is
redacted in the log line, from our structlog loggers and from library (stdlib) loggers alike."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from services.runtime.logs import configure_logging, reset_logging

PHONE = "+12125550147"
EMAIL = "someone@example.com"


class _VendorError(Exception):
    pass


def _fail() -> None:
    raise _VendorError(f"vendor refused {PHONE} and {EMAIL}")


@pytest.fixture(params=["json", "console"])
def sink(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("info", request.param, stream=out)
    yield out
    reset_logging()


def test_an_exception_logged_through_structlog_is_redacted(sink: io.StringIO) -> None:
    log = structlog.get_logger("parley.test")

    try:
        _fail()
    except _VendorError:
        log.exception("send_failed")
    try:
        _fail()
    except _VendorError as exc:
        log.error("send_failed_again", exc_info=exc)

    text = sink.getvalue()
    assert "_VendorError" in text  # the traceback is there ...
    assert PHONE not in text  # ... without the PII
    assert EMAIL not in text
    assert "[phone]" in text
    assert "[email]" in text


@pytest.mark.parametrize("name", ["aiokafka", "aiokafka.consumer.group_coordinator"])
def test_an_exception_logged_by_a_library_is_redacted(sink: io.StringIO, name: str) -> None:
    log = logging.getLogger(name)

    try:
        _fail()
    except _VendorError:
        log.exception("consumer crashed for %s", EMAIL)
    log.error("stack for %s", PHONE, stack_info=True)

    text = sink.getvalue()
    assert "_VendorError" in text
    assert PHONE not in text
    assert EMAIL not in text
    assert "[phone]" in text
    assert "[email]" in text
