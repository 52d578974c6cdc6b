"""Reading a partition of a log from the beginning to a fixed end, outside any consumer group."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


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

    async def seek_to_times(self, instants: dict[int, int]) -> None:
        """Move each partition to its first record stamped at or after the instant (ms since
        the epoch), or to its end when there is none. Kafka answers the first offset whose
        timestamp is at or after it; tansu the first batch that *arrived* at or after it, which
        is no later for records stamped on arrival (broker.md, Gaps #4)."""
        wanted = {TopicPartition(self._topic, p): ms for p, ms in instants.items()}
        if not wanted:
            return
        found = await self._consumer.offsets_for_times(wanted)
        ends = await self._consumer.end_offsets(list(wanted))
        for tp, hit in found.items():
            # None from Kafka, (0, -1) from tansu: nothing stamped that late. The end tansu
            # reports may fall inside the last batch; what it skips is older still.
            self._consumer.seek(tp, ends[tp] if hit is None or hit.timestamp < 0 else hit.offset)

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
    """Every record of ``partitions`` from the beginning to the end as it is now."""
    async for record in read_since(bootstrap, topic, dict.fromkeys(partitions)):
        yield record


async def read_since(
    bootstrap: str, topic: str, since: dict[int, int | None]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Each partition's records from its first stamped at or after its instant (ms since the
    epoch; None: from the beginning) to the end as it is now."""
    reader = PartitionReader(bootstrap, topic)
    await reader.start()
    try:
        await reader.assign(set(since))
        await reader.seek_to_times({p: ms for p, ms in since.items() if ms is not None})
        async for record in reader.catch_up():
            yield record
    finally:
        await reader.stop()


async def backlog_stamps(
    bootstrap: str, group_id: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """When the first record ``group_id`` has not committed was stamped (ms), for each partition
    that has one: the oldest record its next owner will read (again)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # Explicit partitions: tansu answers the all-partitions form malformed (broker.md).
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        await admin.close()
    # No commit (-1): the group reads from the earliest record, as consumer_options says.
    return await first_stamps(
        bootstrap, {tp: max(committed[tp].offset, 0) if tp in committed else 0 for tp in partitions}
    )


async def first_stamps(
    bootstrap: str, starts: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The timestamp (ms) of the first record at or after each offset, where there is one."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # an offset below the log's start: its first record
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        consumer.assign(list(starts))
        firsts = await consumer.beginning_offsets(list(starts))
        ends = await consumer.end_offsets(list(starts))
        pending = {tp for tp in starts if ends[tp] > firsts[tp]}
        for tp in pending:
            # tansu reports the last batch's base + 1 as the end (docs/decisions/0005): a record
            # at or after the start may lie in that batch even when the start is past the
            # reported end, so read from the last offset reported; a fetch gives whole batches.
            consumer.seek(tp, max(min(starts[tp], ends[tp] - 1), firsts[tp]))
        stamps: dict[TopicPartition, int] = {}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=200)
            for tp, records in batch.items():
                later = [r.timestamp for r in records if r.offset >= starts[tp]]
                if later:
                    stamps[tp] = later[0]
                if records:
                    pending.discard(tp)
            for tp in list(pending):
                # Nothing came and nothing is left to read (the log emptied by retention, or
                # its last offsets are control records or compacted away): no record there.
                if tp not in batch and await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return stamps
    finally:
        await consumer.stop()
