"""The per-vendor token bucket: bursts pass, then senders wait exactly as long as the rate says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.outcomes import OutcomeKind
from contracts.tasks import SendSms
from contracts.values import Channel, Purpose
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.ratelimit import RateLimited, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def _task(n: int) -> SendSms:
    at = datetime(2026, 3, 3, 15, tzinfo=UTC)
    return SendSms(
        attempt_id=f"a{n}",
        party_id="b1",
        loan_id="L1",
        purpose=Purpose.COLLECTION,
        authorised_at=at,
        not_after=at + timedelta(minutes=15),
        to="+15185550147",
        body="x",
    )


async def test_a_burst_passes_then_each_send_waits_one_token_interval() -> None:
    """Rate 10/s, burst 3: three sends at once, then 0.1 s apart."""
    t = FakeTime()
    inner = FakeChannelAdapter(channel=Channel.SMS)
    limited = RateLimited(inner, TokenBucket(10, 3, clock=t.clock, sleep=t.sleep))

    for n in range(6):
        result = await limited.send(_task(n))
        assert result.outcome is OutcomeKind.ACCEPTED

    assert t.slept == [0.1, 0.1, 0.1]
    assert inner.attempt_ids == [f"a{n}" for n in range(6)]


async def test_idle_time_refills_the_bucket_up_to_the_burst() -> None:
    """After a quiet spell the next burst passes without waiting, but no more than the burst."""
    t = FakeTime()
    limited = RateLimited(FakeChannelAdapter(), TokenBucket(10, 2, clock=t.clock, sleep=t.sleep))
    for n in range(2):
        await limited.send(_task(n))

    t.now += 60
    for n in range(2, 5):
        await limited.send(_task(n))

    assert t.slept == [0.1]


def test_a_bucket_without_capacity_is_refused() -> None:
    """A zero rate would block forever: a configuration error, said at start-up."""
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0, 1)


async def test_a_token_refunded_while_a_sender_waits_is_kept() -> None:
    """A reservation given back during another sender's wait is not lost when that wait ends:
    the sender after them takes it without waiting."""
    t = FakeTime()
    refunds = [True]  # one reserved send is refused while the third sender waits

    async def sleep(seconds: float) -> None:
        if refunds:
            refunds.pop()
            bucket.refund()
        await t.sleep(seconds)

    bucket = TokenBucket(1, 2, clock=t.clock, sleep=sleep)
    for _ in range(4):  # the burst of two, a third that waits, a fourth that takes the refund
        await bucket.acquire()

    assert t.slept == [1.0]
