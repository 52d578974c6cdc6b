"""Clocks for the imperative shell. The pure core never reads a clock; it is handed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimClock:
    """Simulated time, advanced by clock ticks (demo and tests); never goes backwards."""

    def __init__(self, start: datetime | None = None) -> None:
        # Without a start, the first tick sets the time (a service joining a running simulation).
        self._now = start or datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance_to(self, instant: datetime) -> None:
        self._now = max(self._now, instant)
