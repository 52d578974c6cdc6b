"""Resilience policies for vendor calls, declared once: bounded jittered retries and a breaker.

Only the shell uses these (adapters); the pure core never retries. A retried vendor call keeps
the same attempt id, so a vendor that honours idempotency keys cannot turn a retry into a
second contact (P2).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

__all__ = [
    "CircuitBreaker",
    "RetriesExhausted",
    "RetryPolicy",
    "TransientError",
    "parse_retry_after",
]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class TransientError(Exception):
    """A vendor call failed in a way worth retrying.

    ``ambiguous`` marks failures after the request may have reached the vendor (read timeout,
    dropped connection): retrying those is only safe with an honoured idempotency key, and if
    retries run out the outcome is unknown, not failed.
    """

    def __init__(self, detail: str, *, retry_after: float | None = None, ambiguous: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class RetriesExhausted(Exception):
    """The retry budget ran out; ``last`` is the final transient failure."""

    def __init__(self, last: TransientError, tries: int) -> None:
        super().__init__(last.detail)
        self.last = last
        self.tries = tries


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` tries and ``max_total_delay_s`` of sleeping,
    full-jitter exponential backoff, and a vendor's Retry-After honoured up to a cap."""

    max_attempts: int = 4
    max_total_delay_s: float = 20.0
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    retry_after_cap_s: float = 30.0
    sleep: Sleep = field(default=asyncio.sleep, repr=False)

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        give_up: Callable[[float], bool] = lambda _next_sleep: False,
    ) -> T:
        """Call ``call`` until it returns, retrying :class:`TransientError` within the budget.

        ``give_up(next_sleep_s)`` may stop early (e.g. the attempt's ``not_after`` would pass).
        Raises :class:`RetriesExhausted` when the budget is spent; other exceptions propagate.
        """
        jitter = wait_random_exponential(multiplier=self.initial_backoff_s, max=self.max_backoff_s)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientError) and exc.retry_after is not None:
                return min(exc.retry_after, self.retry_after_cap_s)
            return jitter(state)

        def over_budget(state: RetryCallState) -> bool:
            # Counts planned sleep, not wall time, so an injected sleep keeps tests exact.
            return state.idle_for + state.upcoming_sleep > self.max_total_delay_s

        retrying = AsyncRetrying(
            sleep=self.sleep,
            stop=stop_any(
                stop_after_attempt(self.max_attempts),
                _StopWhen(over_budget),
                _StopWhen(lambda state: give_up(state.upcoming_sleep)),
            ),
            wait=wait,
            retry=retry_if_exception_type(TransientError),
        )
        try:
            return await retrying(call)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            assert isinstance(last, TransientError)  # only these are retried
            raise RetriesExhausted(last, exc.last_attempt.attempt_number) from None


class _StopWhen(stop_base):
    """Adapts a predicate to tenacity's stop type, so it composes with ``stop_any``."""

    def __init__(self, predicate: Callable[[RetryCallState], bool]) -> None:
        self._predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._predicate(retry_state)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Per-vendor breaker: ``failure_threshold`` consecutive transient failures open it for
    ``reset_after_s``; then one probe is let through (half-open) and its result decides."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_after = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_after:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go to the vendor now? In half-open state only one probe at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._probing = False
