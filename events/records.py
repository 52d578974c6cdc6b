"""Plain record types passed between the broker-free engines and the Kafka shells."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """The parts of a consumed record the engines read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Out:
    """A record to produce to an explicit partition (the input's: co-partitioning)."""

    topic: str
    partition: int
    key: bytes
    value: bytes
