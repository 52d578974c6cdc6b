"""Thin helpers shared by the FastStream shells: publishing batches with pipelined acks, and
committing exactly the records a batch handled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol, cast

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from events.records import Out, Record
from services.runtime.settings import CommonSettings

log = structlog.get_logger("kafka")


def make_broker(settings: CommonSettings, bootstrap: str, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        acks="all",
        linger_ms=2,
        max_request_size=4 * settings.max_record_bytes,
        logger=structlog.get_logger("faststream"),
        graceful_timeout=15.0,
    )


async def undecoded(msg: KafkaMessage) -> Any:
    """The bodies as they came: the shells decode each record themselves and dead-letter the
    bad ones (P3). FastStream's own decoder parses every body as JSON before the handler runs,
    and a body it cannot parse (a broken one marked application/json, nesting deeper than the
    parser goes) failed the whole batch before the handler saw it: those records, and the good
    ones fetched with them, were neither applied nor dead-lettered, and the next commit moved
    past them."""
    return msg.body


def consumer_options(settings: CommonSettings) -> dict[str, Any]:
    return {
        "decoder": undecoded,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_partition_fetch_bytes": 4 * settings.max_record_bytes,
    }


async def publish_all(broker: KafkaBroker, records: Iterable[Out]) -> None:
    """Send every record, then wait for every acknowledgement (acks=all): one round trip per
    batch instead of one per record, and nothing counts as written until all are acked."""
    futures = [
        await broker.publish(r.value, r.topic, key=r.key, partition=r.partition, no_confirm=True)
        for r in records
    ]
    if futures:
        await asyncio.gather(*futures)


def next_offsets(records: Iterable[Record]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last of these records: what to commit for them."""
    offsets: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
    return offsets


def offsets_of(msg: KafkaMessage) -> BatchOffsets:
    """The offsets of ``msg``'s batch, on the consumer that read it."""
    return BatchOffsets(cast(AIOKafkaConsumer, msg.consumer))  # FastStream types a protocol


class BatchOffsets:
    """Commit the records a batch handled, and nothing else; read again those it put off.

    ``msg.ack()`` commits the consumer's position on every partition it holds, which covers the
    whole batch. A batch fetched before a rebalance may hold records of a partition the engine
    gave up before the batch reached it: those are skipped, for the partition's next owner to
    read from the last commit. Committing the position would put that commit past them, and the
    broker accepts it (the group's generation does not change until the rebalance completes), so
    they would never be read again. Commit while the partitions are still held (under the lock
    the rebalance listener takes), so that it lands before they move.
    """

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def commit(self, records: Iterable[Record]) -> None:
        assigned = self.consumer.assignment()
        offsets = {tp: o for tp, o in next_offsets(records).items() if tp in assigned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on first: the new owner re-reads these records and recognises
            # them from what this batch wrote, so nothing is lost or done twice (P2, P3).
            log.warning(
                "commit_refused",
                partitions=sorted(tp.partition for tp in offsets),
                error=type(exc).__name__,
            )

    def rewind(self, records: Iterable[Record]) -> None:
        """Fetch these records again: each partition from the first of them it still holds."""
        assigned = self.consumer.assignment()
        first: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            first[tp] = min(first.get(tp, r.offset), r.offset)
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)


class PartitionOwner(Protocol):
    """A shell that keeps state per partition: it rebuilds what it is given, drops what it loses."""

    async def assign(self, partitions: set[int]) -> None: ...

    async def revoke(self, partitions: set[int]) -> None: ...


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells a PartitionOwner which partitions of its input topics it gained or lost. The input
    topics are co-partitioned, so a partition number names a borrower's share of all of them."""

    def __init__(self, owner: PartitionOwner) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner.assign({tp.partition for tp in assigned})
