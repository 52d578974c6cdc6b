"""What a batch commits, and what happens when a batch cannot be finished, on the real broker.

A consumer's batch can hold records of a partition whose revocation reached the shell before the
batch did (the listener and the handler share one lock, and the listener won). The shell skips
those records for the partition's next owner. Committing the consumer's position, as
``msg.ack()`` does, would put the group's offset past them, and the broker accepts that commit
while the rebalance is still being prepared, so nobody would ever read them: an input lost.

An input that fails half-way leaves its partition's state suspect: the rest of the batch for
that partition is read again once the state is rebuilt from the ledger. A batch whose writes
fail ends the process (services/runtime/failstop.py) before anything is committed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import LoanOpened, Message
from contracts.values import Money
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from events.topics import Topics
from services.channels.app import Worker
from services.channels.engine import Dispatcher
from services.orchestrator.app import Runner, build_engine
from services.orchestrator.core.decide import decide as real_decide
from services.orchestrator.engine import Emitted
from services.runtime.clock import SimClock
from services.runtime.kafka import BatchOffsets, Rebalance, make_broker, publish_all
from services.runtime.logreader import PartitionReader
from tests.support.pipeline import PARTITIONS, orchestrator_settings, producer, read_topic

pytestmark = pytest.mark.broker

KEPT, REVOKED = 0, 1
PER_PARTITION = 3
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class Stopped(Exception):
    """Raised by the test's stand-in for fail_stop, which would end the process."""


def stop_recorder(calls: list[str]) -> Any:
    def fail(event: str, exc: BaseException) -> NoReturn:
        calls.append(event)
        raise Stopped(event) from exc

    return fail


async def consumed(consumer: AIOKafkaConsumer, n: int) -> list[Record]:
    records: list[Record] = []
    while len(records) < n:
        for batch in (await consumer.getmany(timeout_ms=1000)).values():
            records += [Record(r.topic, r.partition, r.offset, r.key, r.value) for r in batch]
    return records


@asynccontextmanager
async def group_consumer(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
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
        yield consumer
    finally:
        await consumer.stop()


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
    async with group_consumer(bootstrap, topic) as consumer:
        yield consumer, await consumed(consumer, 2 * PER_PARTITION)


@asynccontextmanager
async def orchestrator_runner(
    bootstrap: str, topics: Topics, fail: Any = None
) -> AsyncIterator[Runner]:
    settings = orchestrator_settings(topics)
    broker = make_broker(settings, bootstrap, client_id="test-orchestrator")
    await broker.connect()
    try:
        runner = Runner(
            build_engine(settings), broker, bootstrap, **({"fail": fail} if fail else {})
        )
        await Rebalance(runner).on_partitions_assigned(
            {TopicPartition(topics.upstream, p) for p in range(PARTITIONS)}
        )
        yield runner
    finally:
        await broker.stop()


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
    async with (
        orchestrator_runner(bootstrap, topics) as runner,
        fetched_batch(bootstrap, topics.upstream) as (consumer, records),
    ):
        await Rebalance(runner).on_partitions_revoked({TopicPartition(topics.upstream, REVOKED)})
        await runner.handle(tuple(records), None, BatchOffsets(consumer))
        await assert_only_the_kept_partition_committed(consumer, topics.upstream, bootstrap, topics)


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
        await Rebalance(worker).on_partitions_assigned(
            {TopicPartition(topic, p) for p in range(PARTITIONS)}
        )
        async with fetched_batch(bootstrap, topic) as (consumer, records):
            await Rebalance(worker).on_partitions_revoked({TopicPartition(topic, REVOKED)})
            await worker.handle(records, publish, BatchOffsets(consumer))
            await assert_only_the_kept_partition_committed(consumer, topic, bootstrap, topics)
    finally:
        await ledger.stop()
        await broker.stop()


async def send_events(bootstrap: str, topic: str, borrower: str, messages: list[Message]) -> int:
    """Each message as an upstream event of ``borrower``; returns the partition they went to."""
    key = borrower.encode()
    partition = partition_for(key, PARTITIONS)
    async with producer(bootstrap) as p:
        for message in messages:
            envelope = wrap(message, borrower_id=borrower, occurred_at=T0, producer="test")
            await p.send_and_wait(
                topic, envelope.model_dump_json().encode(), key=key, partition=partition
            )
    return partition


def loan(loan_id: str) -> LoanOpened:
    return LoanOpened(
        loan_id=loan_id, product="p", principal=Money(amount=Decimal(100), currency="USD")
    )


async def test_after_an_input_fails_half_way_the_rest_of_its_partition_is_read_again(
    bootstrap: str, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failed input had already changed the partition's state: deciding the next inputs on
    that state would record decisions the ledger cannot explain (P5). They wait for the
    rebuilt state instead, and are neither lost nor applied twice."""

    def decide(state: Any, message: Message, now: datetime, ctx: Any) -> Any:
        if isinstance(message, LoanOpened) and message.loan_id == "L-bug":
            raise RuntimeError("a bug in the core")
        return real_decide(state, message, now, ctx)

    monkeypatch.setattr("services.orchestrator.engine.decide", decide)
    partition = await send_events(
        bootstrap, topics.upstream, "b-1", [loan("L-bug"), loan("L-2"), loan("L-3")]
    )
    tp = TopicPartition(topics.upstream, partition)
    async with (
        orchestrator_runner(bootstrap, topics) as runner,
        group_consumer(bootstrap, topics.upstream) as consumer,
    ):
        await runner.handle(tuple(await consumed(consumer, 3)), None, BatchOffsets(consumer))

        assert await consumer.committed(tp) == 1  # the failed input, dead-lettered
        assert await consumer.position(tp) == 1  # the other two are fetched again
        assert await read_topic(bootstrap, topics.ledger) == []
        (letter,) = await read_topic(bootstrap, topics.deadletter)
        assert json.loads(letter.value)["reason"] == "processing_error"

        again = await consumed(consumer, 2)
        await runner.handle(tuple(again), None, BatchOffsets(consumer))

        assert [r.offset for r in again] == [1, 2]
        assert await consumer.committed(tp) == 3
        entries = [json.loads(r.value) for r in await read_topic(bootstrap, topics.ledger)]
        assert [e["input"]["offset"] for e in entries] == [1, 2]


async def test_a_batch_whose_writes_fail_stops_the_orchestrator_before_any_commit(
    bootstrap: str, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its state is now ahead of the ledger; carrying on would commit past what it lost (P3)."""
    calls: list[str] = []
    await send_events(bootstrap, topics.upstream, "b-1", [loan("L-1")])

    async def broker_gone(*_: object) -> None:
        raise ConnectionError("broker unreachable")

    async with (
        orchestrator_runner(bootstrap, topics, stop_recorder(calls)) as runner,
        group_consumer(bootstrap, topics.upstream) as consumer,
    ):
        records = tuple(await consumed(consumer, 1))
        monkeypatch.setattr(runner, "flush", broker_gone)
        with pytest.raises(Stopped):
            await runner.handle(records, None, BatchOffsets(consumer))
        with pytest.raises(Stopped):
            await runner.tick(T0)

        assert calls == ["orchestrator_batch_failed", "orchestrator_tick_failed"]
        tp = TopicPartition(topics.upstream, records[0].partition)
        assert await consumer.committed(tp) is None


async def test_a_restore_that_fails_half_way_stops_the_orchestrator(
    bootstrap: str, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a fold would decide new inputs without, say, a revocation it had not reached (P6)."""
    calls: list[str] = []

    async def half_a_ledger(*_: object) -> AsyncIterator[Any]:
        raise ConnectionError("broker unreachable")
        yield  # an async generator, as read_all is

    monkeypatch.setattr("services.orchestrator.app.read_all", half_a_ledger)
    with pytest.raises(Stopped):
        async with orchestrator_runner(bootstrap, topics, stop_recorder(calls)):
            pass
    assert calls == ["orchestrator_restore_failed"]


async def test_dead_letters_are_durable_before_the_ledger_entries_of_the_same_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ledger entry marks its input's offset applied, and every offset below it with it. If
    the ledger went first and the process died before the dead letters were acknowledged, a bad
    input read again would be taken for applied, and end in neither place (P3)."""
    written: list[list[str]] = []

    async def publish_all(_: object, records: Sequence[Out]) -> None:
        written.append([r.topic for r in records])

    monkeypatch.setattr("services.orchestrator.app.publish_all", publish_all)
    runner = Runner(build_engine(orchestrator_settings(Topics("unit"))), None, "")  # type: ignore[arg-type]
    out = Emitted(
        ledger=[Out("ledger", 0, b"k", b"")],
        deadletters=[Out("deadletter", 0, b"k", b"")],
        tasks=[Out("task", 0, b"k", b"")],
    )

    await runner.flush(out)

    assert [topics for topics in written if topics] == [["deadletter"], ["ledger"], ["task"]]
