"""The gateway's Kafka side: where webhooks go (outcomes topic) and who they are about
(a directory projected from the upstream topic's profiles, links and debts)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from contracts import BorrowerProfiled, Message, PartyLinked
from events.envelope import Envelope, wrap
from events.partitioning import partition_for
from events.topics import Topics
from services.gateway.dedupe import event_id
from services.gateway.directory import InMemoryDirectory

log = structlog.get_logger("gateway")


class KafkaOutcomeSink:
    """Publishes what the gateway learned to the outcomes topic, keyed by borrower id."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topics: Topics,
        partitions: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._producer, self._topics, self._partitions, self._clock = (
            producer,
            topics,
            partitions,
            clock,
        )

    async def emit(self, message: Message, *, borrower_id: str) -> None:
        now = self._clock()
        # One report, one event id, across retries and restarts: the orchestrator then applies a
        # webhook the in-memory dedupe forgot exactly once (services/gateway/dedupe.py).
        envelope = wrap(
            message,
            borrower_id=borrower_id,
            occurred_at=now,
            producer="gateway",
            event_id=event_id(message, borrower_id),
        )
        key = borrower_id.encode()
        await self._producer.send_and_wait(
            self._topics.outcomes,
            envelope.model_dump_json().encode(),
            key=key,
            partition=partition_for(key, self._partitions),
        )


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long the directory waits before following the topic again after the n-th failure in
    a row: exponential, capped, and jittered so replicas do not reconnect in step."""

    initial_s: float = 0.5
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(failures - 1, 32))
        return ceiling / 2 + random.random() * ceiling / 2


def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )


class UpstreamDirectory(InMemoryDirectory):
    """Follows the upstream topic from the beginning (no consumer group) and indexes who owns
    which number, which borrowers each party is on, and whose each debt is (every record that
    names a ``loan_id``, under its envelope's borrower). A projection: rebuilt on every start,
    never written anywhere.

    Not :meth:`ready` until it has read up to the end offsets the topic had when it started
    (what it must know, fixed once so a busy topic cannot keep it catching up forever); the
    gateway asks vendors to retry what it cannot route until then.

    The follower is supervised: if following fails (a broker error, a bug on some record), the
    failure is logged (its type only, P7), the directory stops being ready, and following
    resumes on a new consumer after a :class:`Backoff`, from the record after the last one
    applied. Nothing is missed, and no rebuild from the beginning is needed: the index only ever
    grows, so what was applied stays true. It is ready again once it has read up to the end
    offsets the topic has at the restart, since until then a party published during the outage
    would look unknown and its webhook would be acknowledged and dropped.

    ``new_consumer`` and ``sleep`` are seams for tests (a consumer that fails on cue, a sleep
    that waits for the test).
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        partitions: int,
        *,
        backoff: Backoff | None = None,
        new_consumer: Callable[[], AIOKafkaConsumer] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(ready=False)
        self._new_consumer = new_consumer or (lambda: _consumer(bootstrap))
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._consumer: AIOKafkaConsumer | None = None
        self._tps = [TopicPartition(topics.upstream, p) for p in range(partitions)]
        self._next: dict[TopicPartition, int] = {}  # offset after the last record applied
        self._task: asyncio.Task[None] | None = None
        self._targets: dict[TopicPartition, int] | None = None
        self._failures = 0  # in a row: reset once caught up again
        self.applied = 0

    async def start(self) -> None:
        # The first connection is not retried: a broker that cannot be reached at start is a
        # configuration error the operator should see at once, not a readiness probe failing.
        await self._connect()
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def caught_up(self) -> bool:
        """True when every partition has been read up to its end offset *now*."""
        if self._consumer is None:
            return False
        ends = await self._consumer.end_offsets(self._tps)
        return await self._read_up_to(ends)

    async def _connect(self) -> None:
        consumer = self._new_consumer()
        try:
            await consumer.start()
            consumer.assign(self._tps)
            for tp in self._tps:
                if tp in self._next:
                    consumer.seek(tp, self._next[tp])
                else:
                    await consumer.seek_to_beginning(tp)
        except BaseException:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        self._consumer = consumer
        self._targets = None  # caught up = read what the topic holds now

    async def _disconnect(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):  # it may be what failed
                await consumer.stop()

    async def _supervise(self) -> None:
        # A loop rather than tenacity's AsyncRetrying: an attempt here never ends well (it
        # follows for ever), and the backoff must start over once the directory has recovered,
        # which tenacity's per-call attempt count cannot express.
        while True:
            try:
                if self._consumer is None:
                    await self._connect()
                await self._follow()
            except Exception as exc:  # any failure at all: a dead follower is never silent
                self._failures += 1
                delay = self._backoff.delay(self._failures)
                log.warning(
                    "gateway.directory_follow_failed",
                    error=type(exc).__name__,  # the type only: a message may quote a record (P7)
                    failures=self._failures,
                    retry_in_s=round(delay, 3),
                    applied=self.applied,
                )
                self.mark_catching_up()
                await self._disconnect()
                await self._sleep(delay)

    async def _read_up_to(self, offsets: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None
        for tp in self._tps:
            if await self._consumer.position(tp) < offsets[tp]:
                return False
        return True

    async def _check_ready(self) -> None:
        assert self._consumer is not None
        try:
            if self._targets is None:
                self._targets = await self._consumer.end_offsets(self._tps)
            if await self._read_up_to(self._targets):
                self.mark_ready()
                self._failures = 0
                log.info("gateway.directory_ready", applied=self.applied)
        except KafkaError as exc:  # not ready yet; asked again after the next fetch
            log.warning("gateway.directory_catch_up_check_failed", error=type(exc).__name__)

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, records in batch.items():
                for record in records:
                    self._index(record.value)
                    self._next[tp] = record.offset + 1
            if not self.ready():
                await self._check_ready()

    def _index(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            envelope = Envelope.model_validate_json(value)
            borrower_id = envelope.borrower_id
            if envelope.type == BorrowerProfiled.TYPE:
                profile = BorrowerProfiled.model_validate(envelope.payload)
                self.add(borrower_id, profile.party_id, [p.number for p in profile.phones])
            elif envelope.type == PartyLinked.TYPE:
                link = PartyLinked.model_validate(envelope.payload)
                numbers = [p.number for p in link.phones]
                self.add(borrower_id, link.party_id, numbers, loans=[link.loan_id])
            loan_id = envelope.payload.get("loan_id")
            if isinstance(loan_id, str) and loan_id:
                # The topic is keyed by borrower: a debt named on a borrower's stream (opened,
                # linked, asked about by a desk, ...) is one of theirs, which is what routes its
                # receipts (routing.py); and the orchestrator names the borrower's own party by
                # the borrower id (services/orchestrator/core/evolve.py, _borrower).
                if self.loan_owned_elsewhere(loan_id, borrower_id):
                    # Upstream broke "a debt has one borrower": the first is kept (a receipt
                    # may already have gone there); an opaque id, so it can be logged (P7).
                    log.warning("gateway.directory_loan_conflict", loan_id=loan_id)
                self.add(borrower_id, borrower_id, loans=[loan_id])
        except ValueError:
            return  # the orchestrator dead-letters bad records; the directory just skips them
        self.applied += 1
