"""A bounded memory of receipts already emitted, so vendor retries are not recorded twice.

In memory and per process: after a restart, or across gateway replicas, a duplicate can still
get through. Consumers must tolerate that anyway (events are at least once, P2).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["SeenKeys"]


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
