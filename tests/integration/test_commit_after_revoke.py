"""A batch fetched before a rebalance commits only what it handled.

A consumer's batch can hold records of a partition whose revocation reached the shell before the
batch did (the listener and the handler share one lock, and the listener won). The shell skips
those records for the partition's next owner. Committing the consumer's position, as
``msg.ack()`` does, would put the group's offset past them, and the broker accepts that commit
while the rebalance is still being prepared, so nobody would ever read them: an input lost.
Both shells (the orchestrator and the channel worker) are checked on the real broker.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from events.records import Out, Record
from events.topics import Topics
from services.channels.app import Worker
from services.channels.app import _Rebalance as WorkerRebalance
from services.channels.engine import Dispatcher
from services.orchestrator.app import Runner, build_engine
from services.orchestrator.app import _Rebalance as RunnerRebalance
from services.runtime.clock import SimClock
from services.runtime.kafka import committer, make_broker, publish_all
from services.runtime.logreader import PartitionReader
from tests.support.pipeline import PARTITIONS, orchestrator_settings, producer, read_topic

pytestmark = pytest.mark.broker

KEPT, REVOKED = 0, 1
PER_PARTITION = 3


@asynccontextmanager
async def fetched_batch(
    bootstrap: str, topic: str
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[Record]]]:
    """A group consumer holding every partition, and one batch it fetched from two of them."""
    async with producer(bootstrap) as p:
        for partition in (KEPT, REVOKED):
            for n in range(PER_PARTITION):
                # Not an event: each is dead-lettered, which is enough to see it was handled.
                await p.send_and_wait(topic, b"not json", key=f"k{n}".encode(), partition=partition)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        records: list[Record] = []
        while len(records) < 2 * PER_PARTITION:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records += [Record(r.topic, r.partition, r.offset, r.key, r.value) for r in batch]
        yield consumer, records
    finally:
        await consumer.stop()


async def assert_only_the_kept_partition_committed(
    consumer: AIOKafkaConsumer, topic: str, bootstrap: str, topics: Topics
) -> None:
    kept, revoked = TopicPartition(topic, KEPT), TopicPartition(topic, REVOKED)
    # The consumer's position covers the whole batch: committing it would lose the records.
    assert await consumer.position(revoked) == PER_PARTITION
    assert await consumer.committed(kept) == PER_PARTITION
    assert await consumer.committed(revoked) is None
    dead = await read_topic(bootstrap, topics.deadletter)
    assert len(dead) == PER_PARTITION  # the kept partition's records, each handled once


async def test_the_orchestrator_commits_nothing_of_a_partition_revoked_before_its_batch(
    bootstrap: str, topics: Topics
) -> None:
    settings = orchestrator_settings(topics)
    broker = make_broker(settings, bootstrap, client_id="test-orchestrator")
    await broker.connect()
    try:
        runner = Runner(build_engine(settings), broker, bootstrap)
        await RunnerRebalance(runner).on_partitions_assigned(
            {TopicPartition(topics.upstream, p) for p in range(PARTITIONS)}
        )
        async with fetched_batch(bootstrap, topics.upstream) as (consumer, records):
            await RunnerRebalance(runner).on_partitions_revoked(
                {TopicPartition(topics.upstream, REVOKED)}
            )
            await runner.handle(tuple(records), None, committer(consumer))
            await assert_only_the_kept_partition_committed(
                consumer, topics.upstream, bootstrap, topics
            )
    finally:
        await broker.stop()


async def test_the_channel_worker_commits_nothing_of_a_partition_revoked_before_its_batch(
    bootstrap: str, topics: Topics
) -> None:
    broker = make_broker(orchestrator_settings(topics), bootstrap, client_id="test-channels")
    await broker.connect()
    ledger = PartitionReader(bootstrap, topics.ledger)
    await ledger.start()
    topic = topics.tasks[0]

    async def publish(records: Sequence[Out]) -> None:
        await publish_all(broker, records)

    try:
        worker = Worker(Dispatcher(topics, {}, SimClock()), ledger, bootstrap)
        await WorkerRebalance(worker).on_partitions_assigned(
            {TopicPartition(topic, p) for p in range(PARTITIONS)}
        )
        async with fetched_batch(bootstrap, topic) as (consumer, records):
            await WorkerRebalance(worker).on_partitions_revoked({TopicPartition(topic, REVOKED)})
            await worker.handle(records, publish, committer(consumer))
            await assert_only_the_kept_partition_committed(consumer, topic, bootstrap, topics)
    finally:
        await ledger.stop()
        await broker.stop()
