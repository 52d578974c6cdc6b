"""A partition taken away and given back (an eager rebalance revokes every partition, then
assigns them again) is read again from the beginning of the ledger: its state starts empty, and
without the authorising entries an authorised task would be refused, and without the holds and
consent a revoked one sent (P1, P6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest
from aiokafka import TopicPartition

import services.channels.app as app_module
from contracts.values import Channel
from events.envelope import wrap
from events.records import Record
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.app import Worker
from services.channels.engine import Dispatcher
from services.runtime.clock import SimClock
from services.runtime.logreader import PartitionReader
from tests.support.authorised import ledger_before
from tests.unit.channels.channels_unit_support import NOW
from tests.unit.channels.test_worker_memory import (
    BORROWER,
    HORIZON,
    TOPICS,
    Published,
    authorised,
)


@dataclass
class _Read:
    partition: int
    value: bytes


class LedgerLog:
    """The ledger as a consumer reads it, per partition, from an in-memory log."""

    def __init__(self, log: dict[int, list[bytes]]) -> None:
        self.log = log
        self.at: dict[int, int] = {}

    def assign(self, tps: list[TopicPartition]) -> None:
        for tp in tps:
            self.at.setdefault(tp.partition, 0)

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        for tp in tps:
            self.at[tp.partition] = 0

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.log.get(tp.partition, [])) for tp in tps}

    async def position(self, tp: TopicPartition) -> int:
        return self.at[tp.partition]

    async def getmany(self, *tps: TopicPartition, **_: Any) -> dict[TopicPartition, list[_Read]]:
        out = {}
        for tp in tps:
            unread = self.log.get(tp.partition, [])[self.at[tp.partition] :]
            self.at[tp.partition] += len(unread)
            out[tp] = [_Read(tp.partition, v) for v in unread]
        return out


class NoCommit:
    async def commit(self, records: Any) -> None:
        return None


def _fail(event: str, exc: BaseException) -> NoReturn:
    raise exc


async def test_a_partition_given_back_is_read_again_and_its_authorised_task_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_outcomes(*_: Any) -> AsyncIterator[Any]:
        nothing: tuple[Any, ...] = ()
        for record in nothing:
            yield record

    monkeypatch.setattr(app_module, "read_since", no_outcomes)
    task = authorised("att-1", NOW)
    adapter = FakeChannelAdapter()
    d = Dispatcher(TOPICS, {Channel.SMS: adapter}, SimClock(NOW), horizon=HORIZON)
    envelope = wrap(task, borrower_id=BORROWER, occurred_at=NOW, producer="orchestrator")
    record = Record(TOPICS.tasks[0], 0, 0, BORROWER.encode(), envelope.model_dump_json().encode())
    reader = PartitionReader("unused", TOPICS.ledger)
    reader._consumer = LedgerLog({0: ledger_before(task, borrower_id=BORROWER)})  # type: ignore[assignment,unused-ignore]
    worker = Worker(d, reader, "unused", fail=_fail)
    published = Published()
    await worker.assign({0})

    await worker.revoke({0})
    await worker.assign({0})
    await worker.handle([record], published, NoCommit())  # type: ignore[arg-type]

    assert adapter.attempt_ids == ["att-1"]
    assert [o["payload"]["outcome"] for o in published.outcomes("att-1")] == ["accepted"]
