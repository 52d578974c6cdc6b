"""Which partition a key belongs to: Kafka's default murmur2 partitioner, as every client uses."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: bytes, partitions: int) -> int:
    return int((murmur2(key) & 0x7FFFFFFF) % partitions)
