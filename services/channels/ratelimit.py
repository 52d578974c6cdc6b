"""A token bucket per vendor: vendors cap requests per second, and exceeding the cap turns into
429s and retries. The limiter wraps any adapter; the attempt is unchanged (charged once, P2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from contracts.tasks import Task
from contracts.values import Channel
from services.channels.ports import ChannelAdapter, SendResult


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. Clock and sleep are injectable."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._at = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # first come, first served: waiting senders keep their order
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                # Refilled by the time slept, plus anything refunded meanwhile.
                self._refill()
                self._tokens = max(self._tokens, 1.0)
            self._tokens -= 1

    def refund(self) -> None:
        """Give back a token taken for a send that did not happen (at most ``burst`` saved)."""
        self._tokens = min(float(self.burst), self._tokens + 1)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now


class RateLimited:
    """A ChannelAdapter that takes a token before every send to the vendor it wraps."""

    def __init__(self, inner: ChannelAdapter, bucket: TokenBucket) -> None:
        self._inner, self._bucket = inner, bucket
        self._reserved = 0  # tokens taken by ``reserve`` and not yet spent by ``send``

    @property
    def channel(self) -> Channel:
        return self._inner.channel

    @property
    def vendor(self) -> str:
        return self._inner.vendor

    @property
    def bucket(self) -> TokenBucket:
        """Shared by every adapter sending through the same vendor account."""
        return self._bucket

    @property
    def honours_idempotency(self) -> bool:
        return bool(getattr(self._inner, "honours_idempotency", False))

    async def reserve(self) -> None:
        """Take the token for the next send now. The dispatcher waits here before it re-checks
        holds, consent and the task's window, so no wait comes between those checks and the
        send; if they then refuse it, it calls ``release``."""
        await self._bucket.acquire()
        self._reserved += 1

    def release(self) -> None:
        """A reservation not spent on a send: its token goes back to the bucket."""
        if self._reserved > 0:
            self._reserved -= 1
            self._bucket.refund()

    async def send(self, task: Task) -> SendResult:
        if self._reserved > 0:
            self._reserved -= 1
        else:
            await self._bucket.acquire()
        return await self._inner.send(task)

    async def aclose(self) -> None:
        await self._inner.aclose()
