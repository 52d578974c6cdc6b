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
# a 429/408 rejection after retries, open breaker): another vendor may take the same attempt.
# See FailoverAdapter. A 5xx or 409 is never "unavailable": the vendor may hold the message.
UNAVAILABLE = "unavailable:"


def is_unavailable(result: SendResult) -> bool:
    """True when the attempt certainly did not reach ``result.vendor`` and may go elsewhere."""
    return result.outcome is OutcomeKind.FAILED and result.detail.startswith(UNAVAILABLE)


class _CircuitOpen(Exception):
    pass


class _StopAmbiguous(Exception):
    """An ambiguous failure at a vendor that does not honour idempotency keys: a retry could
    contact the person twice, so the attempt ends now. Not a TransientError, so never retried."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def deliver(
    *,
    vendor: str,
    attempt_id: str,
    not_after: datetime,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    breaker: CircuitBreaker | None,
    once: Callable[[], Awaitable[SendResult]],
    honours_idempotency: bool = False,
) -> SendResult:
    """Run ``once`` (one vendor call) under the retry policy and breaker.

    ``once`` returns a definite result or raises :class:`TransientError`. A non-ambiguous one
    (nothing reached the vendor) is retried. An ambiguous one (the vendor may have the message)
    is retried only if ``honours_idempotency`` says the vendor dedupes on the attempt id;
    otherwise the attempt ends at once as OUTCOME_UNKNOWN. If any try was ambiguous and no later
    try got an acceptance, the result is OUTCOME_UNKNOWN, never FAILED: a FAILED attempt may be
    re-planned (or failed over), which could contact the person twice (P2).

    Every exception from ``once`` counts as a failure for the breaker (so a half-open probe
    always settles); anything but a TransientError then propagates to the caller.
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
            if exc.ambiguous and not honours_idempotency:
                raise _StopAmbiguous(exc.detail) from None
            raise
        except BaseException:
            # Whatever it was (a body that cannot be decoded, a bug, a cancellation), the call
            # did not end well: count it, so a half-open probe never stays "probing" forever.
            if breaker is not None:
                breaker.record_failure()
            raise
        if breaker is not None:
            breaker.record_success()  # any definite answer shows the vendor is up
        return result

    def past_deadline(next_sleep_s: float) -> bool:
        # Never dispatch after the window closes, not even as a retry (P1).
        return clock() + timedelta(seconds=next_sleep_s) >= not_after

    try:
        result = await policy.run(attempt, give_up=past_deadline)
    except _StopAmbiguous as exc:
        result = SendResult(vendor, OutcomeKind.OUTCOME_UNKNOWN, detail=exc.detail)
    except _CircuitOpen:
        result = SendResult(vendor, OutcomeKind.FAILED, detail=UNAVAILABLE + "circuit_open")
    except RetriesExhausted as exc:
        # "unavailable" only if no try may have reached the vendor.
        prefix = "" if ambiguous else UNAVAILABLE
        result = SendResult(
            vendor, OutcomeKind.FAILED, detail=f"{prefix}{exc.last.detail} after {exc.tries} tries"
        )
    if ambiguous and result.outcome not in (OutcomeKind.ACCEPTED, OutcomeKind.OUTCOME_UNKNOWN):
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
