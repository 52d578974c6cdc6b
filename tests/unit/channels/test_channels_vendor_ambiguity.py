"""What a vendor's answer proves about an attempt (P2), the breaker surviving odd exceptions,
and the safe default for vendor idempotency.

Only a failure that proves the request never reached the vendor (connect error, 429, 408) may
be retried without an honoured idempotency key or moved to another vendor. A 5xx or 409 may
have come after the vendor took the message: retried only with an honoured key, and if still
not accepted the outcome is unknown, never "unavailable".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from contracts.outcomes import OutcomeKind
from services.channels.adapters import FailoverAdapter, SmtpEmail, TwilioSms, is_unavailable
from services.channels.adapters._delivery import deliver
from services.channels.ports import SendResult
from services.channels.registry import AdapterSettings, build_adapter
from services.channels.retry import CircuitBreaker, RetryPolicy, TransientError
from tests.unit.channels.channels_unit_support import NOW, RecordingSleep, email, sms

SID = "AC" + "1" * 32
BAD_GZIP = "bad_gzip"


@dataclass
class ScriptedVendor:
    """A Twilio-style vendor behind httpx.MockTransport: answers each POST from ``script``
    (a status, or BAD_GZIP: a 201 whose gzip body cannot be decoded), then 201; counts every
    request it saw."""

    script: list[int | str] = field(default_factory=list)
    requests: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        item = self.script.pop(0) if self.script else 201
        if item == BAD_GZIP:
            # Accepted, but the body blows up while httpx decodes it.
            headers = {"Content-Encoding": "gzip"}
            return httpx.Response(201, headers=headers, stream=httpx.ByteStream(b"not gzip"))
        assert isinstance(item, int)
        if item >= 300:
            return httpx.Response(item, json={"code": 20500, "message": "scripted"})
        return httpx.Response(item, json={"sid": f"SM{self.requests}"})


def failover(
    primary: ScriptedVendor, backup: ScriptedVendor, *, honours_idempotency: bool
) -> FailoverAdapter:
    return FailoverAdapter(
        [
            twilio(primary, name="primary", honours_idempotency=honours_idempotency),
            twilio(backup, name="backup", honours_idempotency=honours_idempotency),
        ]
    )


def twilio(
    vendor: ScriptedVendor,
    *,
    name: str = "twilio",
    breaker: CircuitBreaker | None = None,
    max_attempts: int = 4,
    **kwargs: bool,
) -> TwilioSms:
    return TwilioSms(
        base_url="http://vendor.test",
        account_sid=SID,
        auth_token="token",
        from_number="+15005550006",
        callback_base_url="http://gateway.test",
        vendor=name,
        retry=RetryPolicy(max_attempts=max_attempts, sleep=RecordingSleep()),
        breaker=breaker,
        clock=lambda: NOW,
        transport=httpx.MockTransport(vendor.handle),
        **kwargs,
    )


# --- 1. 5xx / 409 are ambiguous --------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 409])
async def test_ambiguous_reply_without_honoured_idempotency_is_unknown_and_not_resent(
    status: int,
) -> None:
    """A 5xx/409 may come after the vendor took the message; without an honoured key a retry
    could send it twice, so one POST and OUTCOME_UNKNOWN (not a second POST and ACCEPTED)."""
    vendor = ScriptedVendor([status, 201])
    adapter = twilio(vendor, honours_idempotency=False)

    result = await adapter.send(sms("att-amb"))
    await adapter.aclose()

    assert vendor.requests == 1
    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert not is_unavailable(result)


async def test_ambiguous_reply_is_retried_when_the_vendor_honours_idempotency() -> None:
    """With an honoured key the same token is resent and the vendor's acceptance settles it."""
    vendor = ScriptedVendor([504, 409, 201])
    adapter = twilio(vendor, honours_idempotency=True)

    result = await adapter.send(sms("att-amb-ok"))
    await adapter.aclose()

    assert vendor.requests == 3
    assert result.outcome is OutcomeKind.ACCEPTED


async def test_exhausted_ambiguous_retries_are_unknown_not_unavailable() -> None:
    """5xx on every try, even with an honoured key: OUTCOME_UNKNOWN, never FAILED/unavailable."""
    vendor = ScriptedVendor([503, 503, 503, 503])
    adapter = twilio(vendor, honours_idempotency=True)

    result = await adapter.send(sms("att-amb-ex"))
    await adapter.aclose()

    assert vendor.requests == 4
    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert "unavailable" not in result.detail


@pytest.mark.parametrize("honours", [True, False])
@pytest.mark.parametrize("status", [503, 409])
async def test_failover_never_sends_an_ambiguous_attempt_to_a_second_vendor(
    status: int, honours: bool
) -> None:
    """The primary answered 5xx/409 every time: it may hold the message, so the backup never
    sees the attempt."""
    primary = ScriptedVendor([status] * 4)
    backup = ScriptedVendor()
    chain = failover(primary, backup, honours_idempotency=honours)

    result = await chain.send(sms("att-fo-amb"))
    await chain.aclose()

    assert (result.vendor, result.outcome) == ("primary", OutcomeKind.OUTCOME_UNKNOWN)
    assert backup.requests == 0


@pytest.mark.parametrize("status", [429, 408])
async def test_rejections_are_retried_and_may_fail_over_without_idempotency(status: int) -> None:
    """429/408 are refusals (nothing created): retried even without an honoured key, and when
    they persist the attempt is unavailable there and the backup takes it, once."""
    primary = ScriptedVendor([status, 201])
    adapter = twilio(primary, honours_idempotency=False)
    retried = await adapter.send(sms("att-rej"))
    await adapter.aclose()

    dead = ScriptedVendor([status] * 4)
    backup = ScriptedVendor()
    chain = failover(dead, backup, honours_idempotency=False)
    moved = await chain.send(sms("att-rej-fo"))
    await chain.aclose()

    assert (retried.outcome, primary.requests) == (OutcomeKind.ACCEPTED, 2)
    assert (moved.vendor, moved.outcome, backup.requests) == ("backup", OutcomeKind.ACCEPTED, 1)


async def test_ambiguous_failures_still_open_the_breaker() -> None:
    """A 5xx ends the attempt as unknown but still counts against the vendor's health."""
    vendor = ScriptedVendor([503, 503])
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=60)
    adapter = twilio(vendor, breaker=breaker, honours_idempotency=False)

    first = await adapter.send(sms("att-b1"))
    second = await adapter.send(sms("att-b2"))
    blocked = await adapter.send(sms("att-b3"))
    await adapter.aclose()

    assert first.outcome is second.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert breaker.state == "open"
    assert blocked.detail == "unavailable:circuit_open"
    assert vendor.requests == 2


async def test_deliver_stops_at_the_first_ambiguous_failure_without_honoured_keys() -> None:
    """The shared loop itself: an ambiguous TransientError is never retried unless the caller
    says the vendor honours idempotency keys."""
    calls: list[int] = []

    async def once() -> SendResult:
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("http_504", ambiguous=True)
        return SendResult("v", OutcomeKind.ACCEPTED)

    async def run(honours: bool) -> SendResult:
        calls.clear()
        return await deliver(
            vendor="v",
            attempt_id="att-d",
            not_after=NOW.replace(hour=23),
            clock=lambda: NOW,
            policy=RetryPolicy(max_attempts=3, sleep=RecordingSleep()),
            breaker=None,
            once=once,
            honours_idempotency=honours,
        )

    stopped = await run(False)
    stopped_calls = len(calls)
    retried = await run(True)

    assert (stopped.outcome, stopped_calls) == (OutcomeKind.OUTCOME_UNKNOWN, 1)
    assert (retried.outcome, len(calls)) == (OutcomeKind.ACCEPTED, 2)


# --- 2. the breaker survives any exception ---------------------------------------------------


async def test_half_open_probe_that_raises_unexpectedly_does_not_wedge_the_breaker() -> None:
    """A 201 whose gzip body cannot be decoded raises httpx.DecodingError during the half-open
    probe. The exception reaches the caller, the breaker counts a failure and opens again, and
    after the reset time the next probe goes through (it used to stay 'probing' forever)."""
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10, clock=lambda: now[0])
    vendor = ScriptedVendor([503, BAD_GZIP])
    adapter = twilio(vendor, breaker=breaker, max_attempts=1, honours_idempotency=True)

    await adapter.send(sms("att-p1"))  # 503: opens
    now[0] = 11.0
    with pytest.raises(httpx.DecodingError):
        await adapter.send(sms("att-p2"))  # the probe raises
    state_after_probe = breaker.state
    now[0] = 22.0
    later = await adapter.send(sms("att-p3"))
    await adapter.aclose()

    assert state_after_probe == "open"
    assert later.outcome is OutcomeKind.ACCEPTED
    assert breaker.state == "closed"
    assert vendor.requests == 3


async def test_any_exception_from_a_call_counts_as_a_breaker_failure() -> None:
    """Closed state too: unexpected exceptions propagate and count toward opening."""
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=60)

    async def broken() -> SendResult:
        raise ValueError("vendor sent nonsense")

    for _ in range(2):
        with pytest.raises(ValueError, match="nonsense"):
            await deliver(
                vendor="v",
                attempt_id="att-x",
                not_after=NOW.replace(hour=23),
                clock=lambda: NOW,
                policy=RetryPolicy(sleep=RecordingSleep()),
                breaker=breaker,
                once=broken,
            )

    assert breaker.state == "open"


# --- 3. vendor idempotency is off unless configured ------------------------------------------


def test_vendor_idempotency_is_assumed_only_when_configured() -> None:
    """Whether Twilio's REST API dedupes on I-Twilio-Idempotency-Token is unverified, so every
    default says no; a vendor that does can be configured to say yes."""
    default_settings = AdapterSettings(twilio_base_url="http://127.0.0.1:9")
    enabled = AdapterSettings(twilio_base_url="http://127.0.0.1:9", twilio_honours_idempotency=True)

    built_default = build_adapter("twilio-sms", default_settings)
    built_enabled = build_adapter("twilio-voice", enabled)
    plain = twilio(ScriptedVendor())

    assert default_settings.twilio_honours_idempotency is False
    assert getattr(built_default, "honours_idempotency", None) is False
    assert plain.honours_idempotency is False
    assert getattr(built_enabled, "honours_idempotency", None) is True


# --- SMTP: an unintelligible reply after the body was sent is not a definite failure ----------


@contextlib.asynccontextmanager
async def smtp_stub(reply_to_body: bytes) -> AsyncIterator[tuple[int, Callable[[], int]]]:
    """A minimal SMTP server on loopback that answers the end of DATA with ``reply_to_body``;
    yields its port and a count of message bodies it received."""
    bodies = [0]

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 stub ready\r\n")
        in_body = False
        while line := await reader.readline():
            if in_body:
                if line == b".\r\n":
                    in_body = False
                    bodies[0] += 1
                    writer.write(reply_to_body)
            elif line.upper().startswith(b"EHLO"):
                writer.write(b"250 stub\r\n")
            elif line.upper().startswith(b"DATA"):
                in_body = True
                writer.write(b"354 go ahead\r\n")
            elif line.upper().startswith(b"QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, lambda: bodies[0]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("reply", [b"garbage without a code\r\n", b"299 odd but positive\r\n"])
async def test_smtp_unintelligible_reply_after_the_body_is_unknown_not_failed(
    reply: bytes,
) -> None:
    """After the body went out, only a 4xx/5xx reply proves the server refused it. A malformed
    or unexpected reply may hide an acceptance: OUTCOME_UNKNOWN and no resend, not FAILED."""
    async with smtp_stub(reply) as (port, bodies):
        mailer = SmtpEmail(
            hostname="127.0.0.1",
            port=port,
            from_address="c@lender.example",
            retry=RetryPolicy(max_attempts=3, sleep=RecordingSleep()),
            clock=lambda: NOW,
            timeout_s=2.0,
        )
        result = await mailer.send(email("att-smtp-odd"))

    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert bodies() == 1


async def test_smtp_refusal_of_the_body_stays_definite() -> None:
    """A 4xx to the body is 'not accepted, try later' (retried); a 5xx is a permanent FAILED."""
    async with smtp_stub(b"554 no\r\n") as (port, bodies):
        mailer = SmtpEmail(
            hostname="127.0.0.1",
            port=port,
            from_address="c@lender.example",
            retry=RetryPolicy(max_attempts=3, sleep=RecordingSleep()),
            clock=lambda: NOW,
        )
        result = await mailer.send(email("att-smtp-554"))

    assert (result.outcome, result.detail, bodies()) == (OutcomeKind.FAILED, "smtp_554", 1)
