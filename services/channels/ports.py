"""The seam between channel workers and vendors. Every real adapter has a fake beside it."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from contracts import Message
from contracts.outcomes import OutcomeKind
from contracts.tasks import Task
from contracts.values import Channel

# The borrower whose task an adapter is sending, set by the dispatcher around each send (each
# send runs in its own asyncio task, so each sees its own). A task does not carry it: it is the
# record's key. Adapters that give the vendor a status-callback URL name it there, so that the
# gateway files the vendor's report under that borrower without looking anything up: a lookup
# by debt would miss a debt whose upstream records have outlived the topic's retention.
SENDING_FOR: ContextVar[str | None] = ContextVar("parley_sending_for", default=None)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a vendor said about one attempt. ``outcome`` is ACCEPTED, FAILED or OUTCOME_UNKNOWN."""

    vendor: str
    outcome: OutcomeKind
    external_id: str = ""
    detail: str = ""  # machine-readable-ish reason; never contains PII (P7)


class ChannelAdapter(Protocol):
    """Sends one task to one vendor. Must pass ``task.attempt_id`` as the vendor idempotency key
    where the vendor supports one, and must not raise for vendor errors: it returns FAILED or
    OUTCOME_UNKNOWN instead (a timeout after the request left is OUTCOME_UNKNOWN)."""

    @property
    def channel(self) -> Channel: ...

    @property
    def vendor(self) -> str: ...

    async def send(self, task: Task) -> SendResult: ...

    # Optional: adapters whose vendor deduplicates on the attempt id also define
    # ``honours_idempotency -> bool``; the worker then resends an attempt whose outcome is
    # unknown, if its last start went to this same vendor and was marked de-duplicated.
    # Adapters that may have to wait before a send (a rate limit) define ``async reserve()``;
    # the worker awaits it before its last checks, so that no wait follows them.

    async def aclose(self) -> None: ...


class OutcomeSink(Protocol):
    """Where the gateway puts what it learned (a Kafka publisher in production, a list in tests)."""

    async def emit(self, message: Message, *, borrower_id: str) -> None: ...
