"""The shared send loop's classification, and failover with fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from contracts.outcomes import OutcomeKind
from contracts.values import Channel
from services.channels.adapters import FailoverAdapter, FakeChannelAdapter, is_unavailable
from services.channels.adapters._delivery import deliver
from services.channels.ports import SendResult
from services.channels.retry import RetryPolicy, TransientError
from tests.unit.channels.channels_unit_support import NOW, RecordingSleep, sms


def steps(*items: SendResult | Exception) -> Callable[[], Awaitable[SendResult]]:
    """A ``once`` that replays the given results / exceptions in order."""
    queue = list(items)

    async def once() -> SendResult:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return once


async def run(
    once: Callable[[], Awaitable[SendResult]],
    *,
    not_after: datetime = NOW + timedelta(hours=1),
    sleep: RecordingSleep | None = None,
    honours_idempotency: bool = False,
) -> SendResult:
    return await deliver(
        vendor="v",
        attempt_id="att-1",
        not_after=not_after,
        clock=lambda: NOW,
        policy=RetryPolicy(max_attempts=3, sleep=sleep or RecordingSleep()),
        breaker=None,
        once=once,
        honours_idempotency=honours_idempotency,
    )


async def test_expired_task_is_not_sent() -> None:
    """Past not_after nothing is called and the result says EXPIRED."""
    result = await run(steps(), not_after=NOW)

    assert result.outcome is OutcomeKind.EXPIRED


async def test_retries_stop_before_the_window_closes() -> None:
    """A backoff that would land after not_after ends the attempt instead of sending late."""
    sleep = RecordingSleep()
    once = steps(TransientError("http_429", retry_after=120), SendResult("v", OutcomeKind.ACCEPTED))

    result = await run(once, not_after=NOW + timedelta(seconds=60), sleep=sleep)

    assert is_unavailable(result)
    assert sleep.calls == []


async def test_ambiguous_try_followed_by_failures_is_unknown_not_failed() -> None:
    """With a vendor that honours idempotency keys an ambiguous try is retried; once a try may
    have reached the vendor, only an acceptance can settle it, so later refusals leave the
    outcome unknown and nobody re-plans a second contact."""
    once = steps(
        TransientError("no_response:ReadTimeout", ambiguous=True),
        TransientError("http_429"),
        TransientError("http_429"),
    )

    result = await run(once, honours_idempotency=True)

    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN


async def test_failover_moves_on_only_when_the_primary_was_unavailable() -> None:
    """Unavailable -> next vendor; the attempt id is unchanged."""
    primary = FakeChannelAdapter(
        vendor="a",
        results=[SendResult("a", OutcomeKind.FAILED, detail="unavailable:http_429 after 4 tries")],
    )
    secondary = FakeChannelAdapter(vendor="b")
    chain = FailoverAdapter([primary, secondary])

    result = await chain.send(sms("att-f"))

    assert (result.vendor, result.outcome) == ("b", OutcomeKind.ACCEPTED)
    assert primary.attempt_ids == secondary.attempt_ids == ["att-f"]


async def test_failover_never_moves_on_after_unknown_or_permanent_failure() -> None:
    """An unknown outcome may have reached the person; a permanent refusal would recur."""
    for first in (
        SendResult("a", OutcomeKind.OUTCOME_UNKNOWN, detail="no_response:ReadTimeout"),
        SendResult("a", OutcomeKind.FAILED, detail="http_400 code=21211"),
    ):
        secondary = FakeChannelAdapter(vendor="b")
        chain = FailoverAdapter([FakeChannelAdapter(vendor="a", results=[first]), secondary])

        result = await chain.send(sms())

        assert result == first
        assert secondary.sent == []


async def test_failover_rejects_mixed_channels_and_closes_every_adapter() -> None:
    """One chain serves one channel; aclose reaches each member."""
    sms_fake = FakeChannelAdapter(channel=Channel.SMS)
    also_sms = FakeChannelAdapter(channel=Channel.SMS)
    chain = FailoverAdapter([sms_fake, also_sms])

    await chain.aclose()

    assert sms_fake.closed
    assert also_sms.closed
    try:
        FailoverAdapter([sms_fake, FakeChannelAdapter(channel=Channel.EMAIL)])
    except ValueError:
        pass
    else:
        raise AssertionError("mixed channels accepted")


async def test_fake_adapter_follows_its_script_then_the_default() -> None:
    """Scripted outcomes first, then ACCEPTED; every task is recorded."""
    fake = FakeChannelAdapter(results=[OutcomeKind.FAILED])

    first = await fake.send(sms("a1"))
    second = await fake.send(sms("a2"))

    assert (first.outcome, second.outcome) == (OutcomeKind.FAILED, OutcomeKind.ACCEPTED)
    assert fake.attempt_ids == ["a1", "a2"]
