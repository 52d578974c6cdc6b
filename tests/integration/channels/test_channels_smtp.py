"""The SMTP adapter against a real aiosmtpd server on loopback."""

from __future__ import annotations

import asyncio

from contracts.outcomes import OutcomeKind
from services.channels.adapters import SmtpEmail, is_unavailable
from services.channels.adapters.smtp_email import message_id_for
from services.channels.smtp_capture import SmtpCapture
from tests.integration.channels.channels_support import RecordingSleep, clock, email, fast_retry


def smtp_adapter(capture: SmtpCapture, sleep: RecordingSleep, **kwargs: object) -> SmtpEmail:
    return SmtpEmail(
        hostname=capture.hostname,
        port=capture.port,
        from_address="collections@lender.example",
        retry=fast_retry(sleep),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_email_arrives_with_the_attempt_header_and_a_deterministic_message_id() -> None:
    """The message reaches the server carrying X-Parley-Attempt and a Message-ID derived from
    the attempt id, with the body (and its opt-out text) untouched."""
    sleep = RecordingSleep()
    async with SmtpCapture() as capture:
        result = await smtp_adapter(capture, sleep).send(email("att-mail-1"))

    assert result.outcome is OutcomeKind.ACCEPTED
    assert capture.count("att-mail-1") == 1
    received = capture.messages[0]
    assert received.attempt_id == "att-mail-1"
    assert received.headers["Message-ID"] == message_id_for("att-mail-1", "parley.invalid")
    assert result.external_id == received.headers["Message-ID"]
    assert "UNSUBSCRIBE" in received.message.get_content()


async def test_smtp_timeout_after_data_is_unknown_and_never_resent() -> None:
    """The server stored the message but answered too late: OUTCOME_UNKNOWN, and no resend,
    because SMTP cannot deduplicate a second copy."""
    sleep = RecordingSleep()
    async with SmtpCapture(data_delay_s=1.0) as capture:
        adapter = smtp_adapter(capture, sleep, timeout_s=0.3)

        result = await adapter.send(email("att-mail-slow"))
        await asyncio.sleep(0.2)

    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert capture.count("att-mail-slow") == 1
    assert sleep.calls == []


async def test_dead_smtp_server_is_reported_unavailable_after_bounded_retries() -> None:
    """Connection refused on every try: FAILED as unavailable (safe to fail over), after the
    configured number of tries."""
    sleep = RecordingSleep()
    async with SmtpCapture() as capture:
        pass  # stopped: the port now refuses connections

    result = await smtp_adapter(capture, sleep, timeout_s=0.5).send(email("att-mail-dead"))

    assert is_unavailable(result)
    assert len(sleep.calls) == 4  # five tries, four sleeps
