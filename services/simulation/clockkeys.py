"""Keys that route to each partition, so a clock tick reaches every partition's owner."""

from __future__ import annotations

from events.partitioning import partition_for


def clock_keys(partitions: int) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    n = 0
    while len(keys) < partitions:
        key = f"clock-{n}".encode()
        keys.setdefault(partition_for(key, partitions), key)
        n += 1
    return keys
