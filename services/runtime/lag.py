"""Consumer lag, for the simulation's barrier ("wait until everything in flight is processed")."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class LagProbe:
    def __init__(self, bootstrap: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        await self._admin.start()
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def lag(self, group: str, topics: list[str], partitions: int) -> int:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        ends = await self._consumer.end_offsets(tps)
        # Explicit partitions: tansu answers an all-partitions OffsetFetch malformed (broker.md).
        committed = await self._admin.list_consumer_group_offsets(group, partitions=tps)
        total = 0
        for tp in tps:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else 0
            total += max(0, ends[tp] - position)
        return total
