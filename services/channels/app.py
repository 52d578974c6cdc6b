"""The channel worker service: FastStream wiring around the dispatcher. Thin on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from aiokafka import TopicPartition
from faststream import AckPolicy, FastStream
from faststream.kafka.annotations import KafkaMessage

from contracts.values import Channel
from events.records import Out, Record
from events.topics import Topics
from services.channels.engine import Dispatcher, Horizon, Publish
from services.channels.ports import ChannelAdapter
from services.channels.settings import ChannelSettings
from services.runtime.clock import Clock, WallClock
from services.runtime.failstop import Fail, fail_stop
from services.runtime.kafka import (
    BatchOffsets,
    Rebalance,
    consumer_options,
    make_broker,
    offsets_of,
    publish_all,
)
from services.runtime.logreader import PartitionReader, backlog_stamps, read_since

log = structlog.get_logger("channels")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RestoreBound:
    """Lets a restore read the outcomes back only as far as it must (ADR 0010). Wall-clock
    deployments only: record timestamps are wall time, which a simulated clock's times are not
    comparable with, so a simulation reads them all."""

    group_id: str  # the task consumers' group: what it has not committed comes again
    wall: Clock = field(default_factory=WallClock)


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


class Worker:
    """Owns the dispatcher's partitions: restores them when assigned, sends each batch, and
    commits what it handled, all under one lock, so a rebalance never lands mid-batch."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        ledger: PartitionReader,
        bootstrap: str,
        *,
        recheck_max_age_s: float = 1.0,
        fail: Fail = fail_stop,
        bound: RestoreBound | None = None,
    ) -> None:
        self.dispatcher, self.ledger, self.bootstrap = dispatcher, ledger, bootstrap
        self.bound = bound  # None: a restore reads every outcome from the beginning
        self.recheck_max_age_s = recheck_max_age_s
        self.fail = fail  # what an unexpected failure does: end the process (failstop.py)
        self.lock = asyncio.Lock()
        self._reading = asyncio.Lock()  # one reader of the ledger's tail at a time
        self._read_from = float("-inf")  # when the last read of the tail began (loop time)

    async def handle(
        self, records: Sequence[Record], publish: Publish, offsets: BatchOffsets
    ) -> None:
        async with self.lock:
            try:
                # A partition revoked after this batch was fetched is skipped and not
                # committed: its next owner reads those records from the last commit.
                handled = [r for r in records if r.partition in self.dispatcher.states]
                await self.recheck(fresh=True)  # whatever was processed before this batch
                await self.dispatcher.dispatch(handled, publish, self.recheck)
                await offsets.commit(handled)
            except Exception as exc:
                self.fail("channels_batch_failed", exc)

    async def recheck(self, *, fresh: bool = False) -> None:
        """P6: fold the ledger's tail into the dispatcher before a send, unless a read that began
        less than ``recheck_max_age_s`` ago already has (``fresh``: whatever its age). A batch
        can take minutes to send (many borrowers, vendor retries), so once a batch is not
        enough: a revocation the orchestrator processed mid-batch is seen within that bound
        before the next send."""
        async with self._reading:
            began = asyncio.get_running_loop().time()
            if not fresh and began - self._read_from < self.recheck_max_age_s:
                return
            async for record in self.ledger.catch_up():
                self.dispatcher.restore_ledger(record.partition, record.value)
            self._read_from = began

    async def revoke(self, partitions: set[int]) -> None:
        async with self.lock:
            for p in partitions:
                self.dispatcher.revoke(p)
            # The reader stops following them too: given back (an eager rebalance revokes every
            # partition, then assigns them again), a partition's state starts empty and must be
            # read from the beginning, its holds, consent and authorisations all (P1, P6).
            async with self._reading:
                await self.ledger.assign(set(self.dispatcher.states))

    async def assign(self, partitions: set[int]) -> None:
        async with self.lock:
            try:
                await self._restore(partitions - set(self.dispatcher.states))
            except Exception as exc:  # half a restore must never send anything
                self.fail("channels_restore_failed", exc)

    async def _restore(self, new: set[int]) -> None:
        for p in new:
            self.dispatcher.assign(p)
        since = await self._outcomes_since(new)
        read = 0
        async for record in read_since(self.bootstrap, self.dispatcher.topics.outcomes, since):
            self.dispatcher.restore_outcome(record.partition, record.value)
            read += 1
        # The whole ledger, still: a hold or revocation of any age must win (P6, ADR 0010).
        await self.ledger.assign(set(self.dispatcher.states))
        async for record in self.ledger.catch_up(new):
            self.dispatcher.restore_ledger(record.partition, record.value)
        log.info("worker_partitions_restored", partitions=sorted(new), outcome_records=read)

    async def _outcomes_since(self, new: set[int]) -> dict[int, int | None]:
        """Per partition, the record time (ms) a restore reads the outcomes from; None: the
        beginning. The earlier of two bounds (ADR 0010): the horizon's span back from now holds
        every record of an attempt that may still be sent; and a task the group has not
        committed comes again, so the records of it a crash left, written after it (give or
        take the skew), are read however old: it is recognised, not recorded as expired."""
        if self.bound is None:
            return dict.fromkeys(new)
        horizon = self.dispatcher.horizon
        since = dict.fromkeys(new, _ms(self.bound.wall.now() - horizon.span - _EPOCH))
        tasks = [TopicPartition(t, p) for t in self.dispatcher.topics.tasks for p in sorted(new)]
        for tp, stamp in (await backlog_stamps(self.bootstrap, self.bound.group_id, tasks)).items():
            since[tp.partition] = min(since[tp.partition], stamp - _ms(horizon.clock_skew))
        # A time query takes no instant before the epoch: from the beginning, then.
        return {p: ms if ms > 0 else None for p, ms in since.items()}


def create_app(
    settings: ChannelSettings,
    bootstrap: str,
    adapters: dict[Channel, ChannelAdapter],
    clock: Clock,
) -> FastStream:
    topics = Topics(settings.namespace)
    horizon = Horizon(
        timedelta(seconds=settings.task_lifetime_s),
        timedelta(seconds=settings.clock_skew_margin_s),
    )
    dispatcher = Dispatcher(
        topics,
        adapters,
        clock,
        max_in_flight=settings.max_in_flight,
        max_record_bytes=settings.max_record_bytes,
        horizon=horizon,
    )
    broker = make_broker(settings, bootstrap, client_id="parley-channels")
    ledger = PartitionReader(bootstrap, topics.ledger)
    worker = Worker(
        dispatcher,
        ledger,
        bootstrap,
        recheck_max_age_s=settings.recheck_max_age_s,
        bound=RestoreBound(settings.group_id) if settings.clock == "wall" else None,
    )
    inputs = list(topics.tasks) + ([topics.clock] if settings.clock == "topic" else [])

    async def publish(records: Sequence[Out]) -> None:
        await publish_all(broker, records)

    @broker.subscriber(
        *inputs,
        group_id=settings.group_id,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        ack_policy=AckPolicy.MANUAL,
        listener=Rebalance(worker),
        **consumer_options(settings),
    )
    async def on_tasks(msg: KafkaMessage) -> None:
        raw = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        records = [Record(r.topic, r.partition, r.offset, r.key, r.value) for r in raw]
        await worker.handle(records, publish, offsets_of(msg))

    app = FastStream(broker, logger=None)

    @app.on_startup
    async def open_ledger() -> None:
        await ledger.start()

    @app.after_shutdown
    async def close() -> None:
        await ledger.stop()
        for adapter in adapters.values():
            await adapter.aclose()

    return app
