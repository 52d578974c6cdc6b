"""An ordered chain of adapters for one channel: the first vendor that is up gets the attempt."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from contracts.tasks import Task
from contracts.values import Channel
from services.channels.adapters._delivery import is_unavailable
from services.channels.ports import ChannelAdapter, SendResult

__all__ = ["FailoverAdapter"]

log = structlog.get_logger()


class FailoverAdapter:
    """Tries each adapter in order while the previous one was *unavailable* (connection refused,
    429/408 rejections after retries, breaker open): the attempt certainly did not reach it. It
    never fails over after OUTCOME_UNKNOWN (which a 5xx, a 409 or a timeout after sending ends
    in) or a permanent refusal, so one attempt reaches at most one vendor (P2). The attempt id
    is unchanged, and the result names the vendor that answered."""

    def __init__(self, adapters: Sequence[ChannelAdapter]) -> None:
        if not adapters:
            raise ValueError("FailoverAdapter needs at least one adapter")
        channels = {adapter.channel for adapter in adapters}
        if len(channels) != 1:
            raise ValueError(f"all adapters in a chain must serve one channel, got {channels}")
        self._chain = tuple(adapters)

    @property
    def channel(self) -> Channel:
        return self._chain[0].channel

    @property
    def adapters(self) -> tuple[ChannelAdapter, ...]:
        """The chain, first choice first."""
        return self._chain

    @property
    def vendor(self) -> str:
        return ">".join(adapter.vendor for adapter in self._chain)

    async def reserve(self) -> None:
        """The first vendor's rate-limit wait, before the dispatcher's last checks (engine.py).
        A vendor further down the chain, reached only when the first is unavailable, waits for
        its own limit inside ``send``."""
        reserve = getattr(self._chain[0], "reserve", None)
        if reserve is not None:
            await reserve()

    def release(self) -> None:
        release = getattr(self._chain[0], "release", None)
        if release is not None:
            release()

    async def send(self, task: Task) -> SendResult:
        result: SendResult | None = None
        for adapter in self._chain:
            if result is not None:
                log.warning(
                    "channel.failover",
                    attempt_id=task.attempt_id,
                    from_vendor=result.vendor,
                    to_vendor=adapter.vendor,
                )
            result = await adapter.send(task)
            if not is_unavailable(result):
                return result
        assert result is not None
        return result

    async def aclose(self) -> None:
        for adapter in self._chain:
            await adapter.aclose()
