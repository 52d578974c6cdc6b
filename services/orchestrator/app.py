"""The orchestrator service: FastStream wiring around the engine. Thin on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta

import structlog
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from events.partitioning import partition_for
from events.records import Out, Record
from events.topics import Topics
from services.compliance.core import load_policy
from services.compliance.core.registry import policy_document
from services.orchestrator.context import context_factory
from services.orchestrator.engine import Emitted, Orchestrator
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.failstop import Fail, fail_stop
from services.runtime.kafka import (
    BatchOffsets,
    Rebalance,
    consumer_options,
    make_broker,
    offsets_of,
    publish_all,
)
from services.runtime.logreader import read_all

log = structlog.get_logger("orchestrator")


def build_engine(settings: OrchestratorSettings) -> Orchestrator:
    context_for, strategy_version = context_factory(settings)
    return Orchestrator(
        Topics(settings.namespace),
        settings.partitions,
        context_for(load_policy(settings.policy)),
        strategy_version=strategy_version,
        max_record_bytes=settings.max_record_bytes,
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
    )


class Runner:
    """Owns the engine's partitions: restores them from the ledger, processes batches, ticks."""

    def __init__(
        self,
        engine: Orchestrator,
        broker: KafkaBroker,
        bootstrap: str,
        fail: Fail = fail_stop,
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.bootstrap = bootstrap
        self.fail = fail  # what an unexpected failure does: end the process (failstop.py)
        self.lock = asyncio.Lock()  # one writer per partition: batches and ticks never interleave

    async def assign(self, partitions: set[int]) -> None:
        async with self.lock:
            try:
                await self.restore(partitions - set(self.engine.states))
            except Exception as exc:  # half a fold must never decide anything
                self.fail("orchestrator_restore_failed", exc)

    async def revoke(self, partitions: set[int]) -> None:
        async with self.lock:  # let the batch in flight finish first
            for p in partitions:
                self.engine.revoke(p)

    async def restore(self, partitions: set[int]) -> None:
        started = asyncio.get_running_loop().time()
        for p in partitions:
            self.engine.assign(p)
        count = 0
        async for record in read_all(self.bootstrap, self.engine.topics.ledger, partitions):
            self.engine.restore(record.partition, record.value)
            count += 1
        pending = [t for p in partitions for t in self.engine.pending_tasks(p)]
        await publish_all(self.broker, pending)
        log.info(
            "partitions_restored",
            partitions=sorted(partitions),
            ledger_entries=count,
            tasks_republished=len(pending),
            seconds=round(asyncio.get_running_loop().time() - started, 3),
        )

    async def handle(
        self, records: tuple[Record, ...], wall_now: datetime | None, offsets: BatchOffsets
    ) -> None:
        async with self.lock:
            try:
                await self._handle(records, wall_now, offsets)
            except Exception as exc:
                self.fail("orchestrator_batch_failed", exc)

    async def _handle(
        self, records: tuple[Record, ...], wall_now: datetime | None, offsets: BatchOffsets
    ) -> None:
        out = Emitted()
        handled: list[Record] = []
        put_off: list[Record] = []
        for record in records:
            ps = self.engine.states.get(record.partition)
            if ps is None:
                continue  # revoked after this batch was fetched: its next owner reads it
            if ps.dirty:
                # An input failed half-way: nothing more is decided on this partition's state
                # until it is rebuilt from the ledger; the rest of the batch is read again.
                put_off.append(record)
                continue
            out.extend(self.engine.process(record, wall_now))
            handled.append(record)
        await self.flush(out)
        await offsets.commit(handled)  # once the ledger holds their effects, before a revoke
        if await self._rebuild_dirty():
            offsets.rewind(put_off)

    async def _rebuild_dirty(self) -> bool:
        """Rebuild from the ledger every partition an input or a timer failed on half-way."""
        dirty = {p for p, s in self.engine.states.items() if s.dirty}
        if not dirty:
            return False
        log.error(
            "partitions_reloaded_after_processing_error",
            partitions=sorted(dirty),
            timers_set_aside=self.engine.set_aside,  # borrower ids are opaque (P7)
        )
        await self.restore(dirty)
        return True

    async def tick(self, now: datetime) -> None:
        async with self.lock:
            try:
                out = Emitted()
                for p in sorted(self.engine.states):
                    out.extend(self.engine.tick(p, now))
                await self.flush(out)
                await self._rebuild_dirty()
            except Exception as exc:
                self.fail("orchestrator_tick_failed", exc)

    async def flush(self, out: Emitted) -> None:
        # Dead letters first: the ledger's entries mark the offsets applied, so a crash between
        # the two must not leave a dead-lettered input behind a later applied one (P3). Then the
        # ledger; a task is published only once its reservation is durable (P2).
        await publish_all(self.broker, out.deadletters)
        await publish_all(self.broker, out.ledger)
        await publish_all(self.broker, out.tasks)


def create_app(settings: OrchestratorSettings, bootstrap: str) -> FastStream:
    engine = build_engine(settings)
    broker = make_broker(settings, bootstrap, client_id="parley-orchestrator")
    runner = Runner(engine, broker, bootstrap)
    topics = engine.topics
    inputs = [topics.upstream, topics.outcomes] + (
        [topics.clock] if settings.clock == "topic" else []
    )
    wall = settings.clock == "wall"

    # One subscriber over every input topic: the range assignor then gives partition p of each
    # topic to the same member, so one instance owns all of a borrower's inputs.
    @broker.subscriber(
        *inputs,
        group_id=settings.group_id,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        ack_policy=AckPolicy.MANUAL,
        listener=Rebalance(runner),
        **consumer_options(settings),
    )
    async def on_inputs(msg: KafkaMessage) -> None:
        raw = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        records = tuple(Record(r.topic, r.partition, r.offset, r.key, r.value) for r in raw)
        await runner.handle(records, datetime.now(UTC) if wall else None, offsets_of(msg))

    ticker: asyncio.Task[None] | None = None

    async def tick_forever() -> None:
        while True:
            await asyncio.sleep(settings.tick_interval_s)
            await runner.tick(datetime.now(UTC))

    app = FastStream(broker, logger=None)

    @app.after_startup
    async def record_policy() -> None:
        # The audit re-runs decisions under the policy recorded here, keyed by its version.
        version = engine.ctx.policy.version
        document = json.dumps(policy_document(engine.ctx.policy), sort_keys=True).encode()
        partition = partition_for(version.encode(), settings.partitions)
        await publish_all(broker, [Out(topics.policies, partition, version.encode(), document)])

    @app.after_startup
    async def start_ticker() -> None:
        nonlocal ticker
        if wall:  # in simulation, ticks arrive on the clock topic through the same path
            ticker = asyncio.create_task(tick_forever())

    @app.on_shutdown
    async def stop_ticker() -> None:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    return app
