"""Test doubles beside the real adapters: same Protocol, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.outcomes import OutcomeKind
from contracts.tasks import Task
from contracts.values import Channel
from services.channels.ports import SendResult

__all__ = ["FakeChannelAdapter"]


class FakeChannelAdapter:
    """Records every task it is asked to send and answers from a script.

    ``results`` is consumed in order (a bare :class:`OutcomeKind` is shorthand for a result with
    that outcome); once exhausted every send gets ``default``.
    """

    def __init__(
        self,
        *,
        channel: Channel = Channel.SMS,
        vendor: str = "fake",
        results: Iterable[SendResult | OutcomeKind] = (),
        default: OutcomeKind = OutcomeKind.ACCEPTED,
    ) -> None:
        self._channel = channel
        self._vendor = vendor
        self._script = list(results)
        self._default = default
        self.sent: list[Task] = []
        self.closed = False

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def vendor(self) -> str:
        return self._vendor

    @property
    def attempt_ids(self) -> list[str]:
        return [task.attempt_id for task in self.sent]

    async def send(self, task: Task) -> SendResult:
        self.sent.append(task)
        step = self._script.pop(0) if self._script else self._default
        if isinstance(step, SendResult):
            return step
        external_id = f"fake-{len(self.sent)}" if step is OutcomeKind.ACCEPTED else ""
        return SendResult(self._vendor, step, external_id=external_id)

    async def aclose(self) -> None:
        self.closed = True
