"""Reading a partition of a log from the beginning to a fixed end, outside any consumer group."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


class PartitionReader:
    """Reads assigned partitions up to the end offsets observed when ``catch_up`` is called.

    Kept open so later calls only read the tail (the channel worker's dispatch-time re-check).
    """

    def __init__(self, bootstrap: str, topic: str, max_fetch_bytes: int = 8 * 1024 * 1024) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=max_fetch_bytes,
            # Reading to a known end offset: never let the broker hold a fetch open for long
            # (tansu holds every fetch for the full max wait, see broker.md).
            fetch_max_wait_ms=10,
        )
        self._topic = topic
        self._assigned: set[int] = set()
        self._started = False

    async def start(self) -> None:
        await self._consumer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._consumer.stop()
            self._started = False

    async def assign(self, partitions: set[int]) -> None:
        """Track exactly ``partitions``; newly added ones start from the beginning."""
        new = partitions - self._assigned
        self._assigned = set(partitions)
        self._consumer.assign([TopicPartition(self._topic, p) for p in sorted(self._assigned)])
        if new:
            await self._consumer.seek_to_beginning(*[TopicPartition(self._topic, p) for p in new])

    async def catch_up(
        self, partitions: set[int] | None = None
    ) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
        """Yield every record up to the end of the log as it is now.

        tansu reports the last batch's *base* offset + 1 as the end (docs/decisions/0005); a
        fetch always returns whole batches, so reading until the position reaches the reported
        end lands on the true end. Never filter records by the reported end: that loses the
        tail of the last batch.
        """
        wanted = [TopicPartition(self._topic, p) for p in sorted(partitions or self._assigned)]
        if not wanted:
            return
        ends = await self._consumer.end_offsets(wanted)
        pending = [tp for tp in wanted if await self._consumer.position(tp) < ends[tp]]
        while pending:
            batch = await self._consumer.getmany(*pending, timeout_ms=200, max_records=5000)
            for records in batch.values():
                for record in records:
                    yield record
            pending = [tp for tp in pending if await self._consumer.position(tp) < ends[tp]]


async def read_all(
    bootstrap: str, topic: str, partitions: set[int]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    reader = PartitionReader(bootstrap, topic)
    await reader.start()
    try:
        await reader.assign(partitions)
        async for record in reader.catch_up():
            yield record
    finally:
        await reader.stop()
