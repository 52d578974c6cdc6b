"""P7: channel and gateway logs carry ids and statuses, never numbers or addresses."""

from __future__ import annotations

from structlog.testing import capture_logs

from services.channels.adapters import SmtpEmail
from services.channels.simulator import Reply
from services.channels.smtp_capture import SmtpCapture
from tests.integration.channels.channels_support import (
    EMAIL,
    PHONE,
    RecordingSleep,
    email,
    fast_retry,
    running_simulator,
    sms,
    twilio_sms,
)


async def test_logs_during_sends_and_failures_contain_no_phone_number_or_email() -> None:
    """Successful, retried and failed sends, plus the simulator's own logs, leak no PII."""
    sleep = RecordingSleep()
    script: list[Reply | int] = [429, 400]
    with capture_logs() as logs:
        async with running_simulator(scripts={"messages": script}) as (sim, url):
            adapter = twilio_sms(url, sleep)
            await adapter.send(sms("att-log-1"))  # 429 (retried) then 400
            await adapter.send(sms("att-log-2"))  # accepted
            await adapter.aclose()
            await sim.drain()
        async with SmtpCapture() as capture:
            mailer = SmtpEmail(
                hostname=capture.hostname,
                port=capture.port,
                from_address="c@lender.example",
                retry=fast_retry(sleep),
            )
            await mailer.send(email("att-log-3"))

    assert any(entry.get("attempt_id") == "att-log-2" for entry in logs)
    dumped = repr(logs)
    assert PHONE not in dumped
    assert PHONE.lstrip("+") not in dumped
    assert EMAIL not in dumped
