"""A channel worker's restore on the real broker (ADR 0010). It reads the outcomes back only as
far as it must: the horizon's span, or the oldest task its group has not committed, whichever is
earlier. What lies before is never read, and an attempt that may still be sent, or that a crash
left without an outcome, is still recognised and never sent again (P2).

Record times are the broker's (tansu stamps arrival), so the test waits out a horizon of well
under a second between the old records and the recent ones; the restore's "now" is pinned."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.outcomes import ContactOutcomeRecorded, DispatchStarted, OutcomeKind
from contracts.values import Channel
from events.envelope import wrap
from events.records import Out, Record
from events.topics import Topics
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.app import RestoreBound, Worker
from services.channels.engine import PRODUCER, Dispatcher, Horizon
from services.runtime.clock import SimClock
from services.runtime.logreader import PartitionReader, backlog_stamps
from tests.support.pipeline import producer, read_topic
from tests.unit.channels.channels_unit_support import NOW, sms

pytestmark = pytest.mark.broker

PARTITION = 1
KEY = b"b-1"
HORIZON = Horizon(task_lifetime=timedelta(milliseconds=400), clock_skew=timedelta(milliseconds=100))
GAP_S = 1.5  # well past the horizon's span of 0.6 s


class PinnedWall:
    """The restore's wall clock, pinned, so that the test does not race the horizon."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


class Reading(Dispatcher):
    """A dispatcher that notes which attempts the restore read a record of."""

    def __init__(self, topics: Topics, adapter: FakeChannelAdapter, clock: SimClock) -> None:
        super().__init__(topics, {Channel.SMS: adapter}, clock, horizon=HORIZON)
        self.read: list[str] = []

    def restore_outcome(self, partition: int, value: bytes) -> None:
        self.read.append(json.loads(value)["payload"]["attempt_id"])
        super().restore_outcome(partition, value)


class Published:
    def __init__(self) -> None:
        self.records: list[Out] = []

    async def __call__(self, records: Sequence[Out]) -> None:
        self.records += records

    def outcome(self, attempt_id: str) -> str:
        [outcome] = [
            e["payload"]["outcome"]
            for e in (json.loads(r.value) for r in self.records)
            if e["type"] == "contact.outcome" and e["payload"]["attempt_id"] == attempt_id
        ]
        return str(outcome)


def task(attempt_id: str) -> bytes:
    envelope = wrap(sms(attempt_id), borrower_id="b-1", occurred_at=NOW, producer="orchestrator")
    return envelope.model_dump_json().encode()


def started(attempt_id: str) -> bytes:
    message = DispatchStarted(
        attempt_id=attempt_id, channel=Channel.SMS, vendor="fake", started_at=NOW
    )
    return (
        wrap(message, borrower_id="b-1", occurred_at=NOW, producer=PRODUCER)
        .model_dump_json()
        .encode()
    )


def finished(attempt_id: str) -> bytes:
    message = ContactOutcomeRecorded(
        attempt_id=attempt_id, channel=Channel.SMS, outcome=OutcomeKind.DELIVERED, reported_at=NOW
    )
    return (
        wrap(message, borrower_id="b-1", occurred_at=NOW, producer=PRODUCER)
        .model_dump_json()
        .encode()
    )


async def write(p: AIOKafkaProducer, topic: str, *values: bytes) -> None:
    for value in values:
        await p.send_and_wait(topic, value, key=KEY, partition=PARTITION)


async def commit(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


@asynccontextmanager
async def restored(
    bootstrap: str, d: Dispatcher, group: str, wall: PinnedWall
) -> AsyncIterator[Worker]:
    """A worker over ``d``, given the partition as a rebalance would give it."""
    ledger = PartitionReader(bootstrap, d.topics.ledger)
    await ledger.start()
    try:
        worker = Worker(d, ledger, bootstrap, bound=RestoreBound(group, wall))
        await worker.assign({PARTITION})
        yield worker
    finally:
        await ledger.stop()


def delivered_again(topic: str, offset: int, value: bytes) -> list[Record]:
    return [Record(topic, PARTITION, offset, KEY, value)]


async def test_a_restore_reads_only_the_horizon_and_still_refuses_a_recent_start(
    bootstrap: str, topics: Topics
) -> None:
    adapter, published = FakeChannelAdapter(), Published()
    d = Reading(topics, adapter, SimClock(NOW))
    async with producer(bootstrap) as p:
        await write(p, topics.outcomes, started("att-old"), finished("att-old"))
        await asyncio.sleep(GAP_S)
        wall = PinnedWall()
        await write(p, topics.outcomes, started("att-recent"))  # then the worker crashed

    async with restored(bootstrap, d, f"g{uuid.uuid4().hex[:8]}", wall):
        await d.dispatch(delivered_again(topics.tasks[0], 0, task("att-recent")), published)

    assert d.read == ["att-recent"]
    assert adapter.sent == []
    assert published.outcome("att-recent") == "outcome_unknown"


async def test_a_restore_long_after_the_last_dispatch_reads_nothing(
    bootstrap: str, topics: Topics
) -> None:
    """tansu answers a time past its last record with offset 0 (broker.md, Gaps #4): read
    naively, that would be the whole log again."""
    d = Reading(topics, FakeChannelAdapter(), SimClock(NOW))
    async with producer(bootstrap) as p:
        await write(p, topics.outcomes, started("att-old"), finished("att-old"))
    await asyncio.sleep(GAP_S)

    async with restored(bootstrap, d, f"g{uuid.uuid4().hex[:8]}", PinnedWall()):
        pass

    assert d.read == []


async def test_a_task_the_group_has_not_committed_is_recognised_however_long_ago_it_started(
    bootstrap: str, topics: Topics
) -> None:
    """The worker crashed mid-send and stayed down past the horizon: the task it was sending
    comes again, so the restore reads back to it, and it is recorded as outcome unknown (it may
    have reached the person), not as expired. What the group committed before is not read."""
    group, tasks = f"g{uuid.uuid4().hex[:8]}", topics.tasks[0]
    adapter, published = FakeChannelAdapter(), Published()
    async with producer(bootstrap) as p:
        await write(p, tasks, task("att-done"))  # offset 0, handled and committed
        await write(p, topics.outcomes, started("att-done"), finished("att-done"))
        await asyncio.sleep(GAP_S)
        await write(p, tasks, task("att-crashed"))  # offset 1: started, then the crash
        await write(p, topics.outcomes, started("att-crashed"))
    await commit(bootstrap, group, TopicPartition(tasks, PARTITION), 1)
    await asyncio.sleep(GAP_S)
    d = Reading(topics, adapter, SimClock(NOW + timedelta(hours=2)))  # back after its window

    async with restored(bootstrap, d, group, PinnedWall()):
        await d.dispatch(delivered_again(tasks, 1, task("att-crashed")), published)

    assert d.read == ["att-crashed"]
    assert adapter.sent == []
    assert published.outcome("att-crashed") == "outcome_unknown"


async def test_the_oldest_uncommitted_task_is_found_inside_the_last_batch(
    bootstrap: str, topics: Topics
) -> None:
    """tansu reports the last batch's base offset + 1 as the end (ADR 0005): a commit inside
    that batch lies past the reported end, yet the records after it are still to come again."""
    group, tp = f"g{uuid.uuid4().hex[:8]}", TopicPartition(topics.tasks[0], PARTITION)
    async with producer(bootstrap) as p:
        batch = p.create_batch()
        for n in range(3):
            batch.append(key=KEY, value=task(f"att-{n}"), timestamp=None)
        await (await p.send_batch(batch, tp.topic, partition=PARTITION))
    await commit(bootstrap, group, tp, 2)  # the first two handled, the third not

    stamps = await backlog_stamps(bootstrap, group, [tp])

    [third] = [r for r in await read_topic(bootstrap, tp.topic) if r.offset == 2]
    assert stamps == {tp: third.timestamp}
