"""Retry policy, Retry-After parsing and the circuit breaker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from services.channels.retry import (
    CircuitBreaker,
    RetriesExhausted,
    RetryPolicy,
    TransientError,
    parse_retry_after,
)
from tests.unit.channels.channels_unit_support import RecordingSleep


def failing(
    times: int, *, retry_after: float | None = None
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise TransientError("http_503", retry_after=retry_after)
        return "ok"

    return call, calls


async def test_retries_transient_errors_until_success() -> None:
    """Two failures then success: three calls, two jittered sleeps within the backoff cap."""
    sleep = RecordingSleep()
    call, calls = failing(2)

    result = await RetryPolicy(sleep=sleep, max_backoff_s=1.0).run(call)

    assert result == "ok"
    assert len(calls) == 3
    assert len(sleep.calls) == 2
    assert all(0 <= s <= 1.0 for s in sleep.calls)


async def test_stops_after_max_attempts() -> None:
    """The attempt bound holds and the last transient error is reported."""
    sleep = RecordingSleep()
    call, calls = failing(10)

    with pytest.raises(RetriesExhausted) as exhausted:
        await RetryPolicy(max_attempts=3, sleep=sleep).run(call)

    assert len(calls) == 3
    assert exhausted.value.tries == 3
    assert exhausted.value.last.detail == "http_503"


async def test_stops_when_the_total_delay_budget_would_be_exceeded() -> None:
    """Retry-After of 4s against a 10s budget: two sleeps fit, the third would not."""
    sleep = RecordingSleep()
    call, calls = failing(10, retry_after=4)

    with pytest.raises(RetriesExhausted):
        await RetryPolicy(max_attempts=10, max_total_delay_s=10, sleep=sleep).run(call)

    assert sleep.calls == [4, 4]
    assert len(calls) == 3


async def test_give_up_hook_stops_retrying() -> None:
    """The caller's deadline (e.g. not_after) ends retries before the next sleep."""
    sleep = RecordingSleep()
    call, calls = failing(10)

    with pytest.raises(RetriesExhausted):
        await RetryPolicy(sleep=sleep).run(call, give_up=lambda _next: True)

    assert len(calls) == 1


async def test_other_exceptions_are_not_retried() -> None:
    """Bugs propagate at once; only TransientError is retried."""

    async def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await RetryPolicy(sleep=RecordingSleep()).run(broken)


def test_parses_retry_after_seconds_and_dates() -> None:
    """Delta-seconds, HTTP-dates (relative to now), and garbage."""
    now = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 03 Mar 2025 15:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_breaker_opens_after_consecutive_failures_and_half_opens_after_reset() -> None:
    """N failures open it; after T one probe is allowed; success closes, failure reopens."""
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=5, clock=lambda: now[0])
    seen: list[tuple[str, bool]] = []

    breaker.record_failure()
    seen.append((breaker.state, breaker.allow()))
    breaker.record_failure()
    seen.append((breaker.state, breaker.allow()))
    now[0] = 5.0
    seen.append((breaker.state, breaker.allow()))  # the probe
    seen.append((breaker.state, breaker.allow()))  # only one probe at a time
    breaker.record_failure()  # the probe failed: open again
    seen.append((breaker.state, breaker.allow()))
    now[0] = 10.0
    seen.append((breaker.state, breaker.allow()))
    breaker.record_success()
    seen.append((breaker.state, breaker.allow()))

    assert seen == [
        ("closed", True),
        ("open", False),
        ("half_open", True),
        ("half_open", False),
        ("open", False),
        ("half_open", True),
        ("closed", True),
    ]


def test_breaker_counts_only_consecutive_failures() -> None:
    """A success in between resets the count."""
    breaker = CircuitBreaker(failure_threshold=2)

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state == "closed"
