"""What makes two webhooks the same report, and a bounded memory of reports already emitted.

A report is identified by (vendor, external id, status): vendors retry a webhook until it is
acknowledged, and may post it again much later. Two layers keep a retry from counting twice:

- :class:`SeenKeys`, in memory and per process, drops a retry before it is published, so the
  outcomes topic mostly carries each report once. It is forgotten on restart and not shared
  between replicas.
- :func:`event_id`, derived from the same key, is what makes it durable: a retry the memory
  missed is published with the *same* event id, and the orchestrator's per-borrower set of seen
  event ids (rebuilt from the ledger on every start) records it as a duplicate with no effect.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from contracts import Message
from contracts.outcomes import ContactOutcomeRecorded, InboundMessageReceived
from events.envelope import derive_id

__all__ = ["SeenKeys", "event_id", "report_key"]


def report_key(message: Message) -> tuple[str, str, str]:
    """(vendor, external id, status) of a report the gateway emits.

    The status is the normalised outcome, so two vendor words for the same fact ("delivered",
    "read") are one report; an inbound text has a single status of its own.
    """
    if isinstance(message, ContactOutcomeRecorded):
        return (message.vendor, message.external_id, message.outcome.value)
    if isinstance(message, InboundMessageReceived):
        return (message.vendor, message.external_id, "inbound")
    raise TypeError(f"the gateway does not emit {type(message).__name__}")


def event_id(message: Message, borrower_id: str) -> str:
    """The envelope event id of a report: the same report for the same borrower, the same id,
    whenever and by whichever gateway process it is emitted. The borrower is part of it because
    one inbound text is emitted once per borrower using the number."""
    return derive_id("gateway", message.TYPE, borrower_id, *report_key(message))


class SeenKeys:
    """An LRU set: remembers the most recent ``capacity`` keys."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def claim(self, key: Hashable) -> bool:
        """Mark ``key`` seen; False if it already was. Claim before emitting and ``release`` on
        failure, so two concurrent copies cannot both emit."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True

    def release(self, key: Hashable) -> None:
        self._keys.pop(key, None)
