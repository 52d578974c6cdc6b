"""Consumer lag, for the simulation's barrier ("wait until everything in flight is processed").

The end of each partition is where a probe consumer that reads everything has got to, not the
broker's reported end offset: tansu under-reports the latter for multi-record batches
(docs/decisions/0005). The probe reads only what was written since its last call.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class LagProbe:
    def __init__(self, bootstrap: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
            auto_offset_reset="earliest",
        )
        self._tracked: set[TopicPartition] = set()

    async def start(self) -> None:
        await self._admin.start()
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def _true_ends(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        new = set(tps) - self._tracked
        if new:
            self._tracked |= new
            self._consumer.assign(sorted(self._tracked, key=lambda tp: (tp.topic, tp.partition)))
            await self._consumer.seek_to_beginning(*new)
        reported = await self._consumer.end_offsets(tps)
        # Whole batches come back from a fetch, so once the position passes the reported end
        # (base offset + 1 of the last batch on tansu) it is the true end.
        while True:
            behind = [tp for tp in tps if await self._consumer.position(tp) < reported[tp]]
            if not behind:
                return {tp: await self._consumer.position(tp) for tp in tps}
            await self._consumer.getmany(*behind, timeout_ms=200, max_records=10_000)

    async def lag(self, group: str, topics: list[str], partitions: int) -> int:
        return await self.total_lag({group: topics}, partitions)

    async def total_lag(self, groups: dict[str, list[str]], partitions: int) -> int:
        """Records not yet committed by each group on its topics, summed; one probe for all."""
        wanted = {
            g: [TopicPartition(t, p) for t in topics for p in range(partitions)]
            for g, topics in groups.items()
        }
        union = sorted(
            {tp for tps in wanted.values() for tp in tps}, key=lambda tp: (tp.topic, tp.partition)
        )
        ends = await self._true_ends(union)
        # Explicit partitions: tansu answers an all-partitions OffsetFetch malformed (broker.md).
        committed = await asyncio.gather(
            *(
                self._admin.list_consumer_group_offsets(g, partitions=tps)
                for g, tps in wanted.items()
            )
        )
        total = 0
        for tps, offsets in zip(wanted.values(), committed, strict=True):
            for tp in tps:
                meta = offsets.get(tp)
                position = meta.offset if meta is not None and meta.offset >= 0 else 0
                total += max(0, ends[tp] - position)
        return total
