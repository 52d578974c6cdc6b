"""The send loop every real adapter shares: deadline, breaker, retries, final classification,
and the one log line per send (attempt id, vendor, outcome; never a number or address, P7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from contracts.outcomes import OutcomeKind
from services.channels.ports import SendResult
from services.channels.retry import CircuitBreaker, RetriesExhausted, RetryPolicy, TransientError

log = structlog.get_logger()

# A FAILED result whose detail starts with this never reached the vendor (refused connection,
# 5xx, open breaker): another vendor may take the same attempt. See FailoverAdapter.
UNAVAILABLE = "unavailable:"


def is_unavailable(result: SendResult) -> bool:
    """True when the attempt certainly did not reach ``result.vendor`` and may go elsewhere."""
    return result.outcome is OutcomeKind.FAILED and result.detail.startswith(UNAVAILABLE)


class _CircuitOpen(Exception):
    pass


async def deliver(
    *,
    vendor: str,
    attempt_id: str,
    not_after: datetime,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    breaker: CircuitBreaker | None,
    once: Callable[[], Awaitable[SendResult]],
) -> SendResult:
    """Run ``once`` (one vendor call) under the retry policy and breaker.

    ``once`` returns a definite result or raises :class:`TransientError`. If any try was
    ambiguous (may have reached the vendor) and no later try got an acceptance, the result is
    OUTCOME_UNKNOWN, never FAILED: a FAILED attempt may be re-planned, which could contact the
    person twice (P2).
    """
    if clock() >= not_after:
        return _logged(
            attempt_id, SendResult(vendor, OutcomeKind.EXPIRED, detail="not_after passed")
        )
    ambiguous = False

    async def attempt() -> SendResult:
        nonlocal ambiguous
        if breaker is not None and not breaker.allow():
            raise _CircuitOpen
        try:
            result = await once()
        except TransientError as exc:
            ambiguous = ambiguous or exc.ambiguous
            if breaker is not None:
                breaker.record_failure()
            log.info("channel.try_failed", attempt_id=attempt_id, vendor=vendor, detail=exc.detail)
            raise
        if breaker is not None:
            breaker.record_success()  # any definite answer shows the vendor is up
        return result

    def past_deadline(next_sleep_s: float) -> bool:
        # Never dispatch after the window closes, not even as a retry (P1).
        return clock() + timedelta(seconds=next_sleep_s) >= not_after

    try:
        result = await policy.run(attempt, give_up=past_deadline)
    except _CircuitOpen:
        result = SendResult(vendor, OutcomeKind.FAILED, detail=UNAVAILABLE + "circuit_open")
    except RetriesExhausted as exc:
        result = SendResult(
            vendor,
            OutcomeKind.FAILED,
            detail=f"{UNAVAILABLE}{exc.last.detail} after {exc.tries} tries",
        )
    if ambiguous and result.outcome is not OutcomeKind.ACCEPTED:
        result = SendResult(
            vendor, OutcomeKind.OUTCOME_UNKNOWN, detail=f"ambiguous; then {result.detail}"
        )
    return _logged(attempt_id, result)


def _logged(attempt_id: str, result: SendResult) -> SendResult:
    log.info(
        "channel.sent",
        attempt_id=attempt_id,
        vendor=result.vendor,
        outcome=result.outcome.value,
        external_id=result.external_id,
        detail=result.detail,
    )
    return result
