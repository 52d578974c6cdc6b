"""The gateway's Kafka side: where webhooks go (outcomes topic) and who they are about
(a directory projected from the upstream topic's profiles and links)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
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


class UpstreamDirectory(InMemoryDirectory):
    """Follows the upstream topic from the beginning (no consumer group) and indexes who owns
    which number. A projection: rebuilt on every start, never written anywhere.

    Not :meth:`ready` until it has read up to the end offsets the topic had when it started
    (what it must know, fixed once so a busy topic cannot keep it catching up forever); the
    gateway asks vendors to retry what it cannot route until then. Afterwards it keeps following
    the topic and stays ready."""

    def __init__(self, bootstrap: str, topics: Topics, partitions: int) -> None:
        super().__init__(ready=False)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        self._tps = [TopicPartition(topics.upstream, p) for p in range(partitions)]
        self._task: asyncio.Task[None] | None = None
        self._targets: dict[TopicPartition, int] | None = None
        self.applied = 0

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.assign(self._tps)
        await self._consumer.seek_to_beginning(*self._tps)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def caught_up(self) -> bool:
        """True when every partition has been read up to its end offset *now*."""
        ends = await self._consumer.end_offsets(self._tps)
        return await self._read_up_to(ends)

    async def _read_up_to(self, offsets: dict[TopicPartition, int]) -> bool:
        for tp in self._tps:
            if await self._consumer.position(tp) < offsets[tp]:
                return False
        return True

    async def _check_ready(self) -> None:
        try:
            if self._targets is None:
                self._targets = await self._consumer.end_offsets(self._tps)
            if await self._read_up_to(self._targets):
                self.mark_ready()
                log.info("gateway.directory_ready", applied=self.applied)
        except KafkaError as exc:  # not ready yet; asked again after the next fetch
            log.warning("gateway.directory_catch_up_check_failed", error=type(exc).__name__)

    async def _follow(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=2000)
            for records in batch.values():
                for record in records:
                    self._index(record.value)
            if not self.ready():
                await self._check_ready()

    def _index(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            envelope = Envelope.model_validate_json(value)
            if envelope.type == BorrowerProfiled.TYPE:
                profile = BorrowerProfiled.model_validate(envelope.payload)
                self.add(envelope.borrower_id, profile.party_id, [p.number for p in profile.phones])
            elif envelope.type == PartyLinked.TYPE:
                link = PartyLinked.model_validate(envelope.payload)
                self.add(envelope.borrower_id, link.party_id, [p.number for p in link.phones])
        except ValueError:
            return  # the orchestrator dead-letters bad records; the directory just skips them
        self.applied += 1
