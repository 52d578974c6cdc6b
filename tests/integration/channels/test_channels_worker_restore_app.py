"""The channel worker service with a wall clock, on the real broker: restarted, it restores its
partitions through a real rebalance, with the restore bounded by the horizon and the group's
backlog (ADR 0010), and a task re-published after it was sent is not sent again (P2)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.values import Channel
from events.envelope import wrap
from events.topics import Topics
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.app import create_app
from services.channels.settings import ChannelSettings
from services.runtime.clock import WallClock
from tests.support.authorised import ledger_before
from tests.support.pipeline import (
    FAST,
    producer,
    read_topic,
    send_envelope,
    send_record,
    wait_settled,
)
from tests.unit.channels.channels_unit_support import sms

pytestmark = pytest.mark.broker

BORROWER = "b-restart"


@asynccontextmanager
async def running_worker(
    bootstrap: str, settings: ChannelSettings, adapter: FakeChannelAdapter
) -> AsyncIterator[None]:
    app = create_app(settings, bootstrap, {Channel.SMS: adapter}, WallClock())
    await app.start()
    try:
        yield
    finally:
        await app.stop()


async def outcomes(bootstrap: str, topics: Topics, attempt_id: str) -> list[dict[str, Any]]:
    envelopes = [json.loads(r.value) for r in await read_topic(bootstrap, topics.outcomes)]
    return [
        e
        for e in envelopes
        if e["type"] == "contact.outcome" and e["payload"]["attempt_id"] == attempt_id
    ]


async def test_a_restarted_wall_clock_worker_does_not_send_a_republished_task_again(
    bootstrap: str, topics: Topics
) -> None:
    settings = ChannelSettings.model_validate(
        {**FAST, "namespace": topics.namespace, "group_id": f"g{uuid.uuid4().hex[:8]}"}
    )
    now = datetime.now(UTC)
    task = sms("att-restart").model_copy(
        update={"authorised_at": now, "not_after": now + timedelta(minutes=15)}
    )
    envelope = wrap(task, borrower_id=BORROWER, occurred_at=now, producer="orchestrator")
    first, second = FakeChannelAdapter(), FakeChannelAdapter()

    async with running_worker(bootstrap, settings, first), producer(bootstrap) as p:
        for entry in ledger_before(task, borrower_id=BORROWER):
            await send_record(p, topics.ledger, BORROWER, entry)
        await send_envelope(p, topics.tasks[0], envelope)
        for _ in range(300):
            if await outcomes(bootstrap, topics, "att-restart"):
                break
            await asyncio.sleep(0.05)
    async with producer(bootstrap) as p:
        await send_envelope(p, topics.tasks[0], envelope)  # the orchestrator re-publishes it
    async with running_worker(bootstrap, settings, second):
        await wait_settled(bootstrap, settings.group_id, [topics.tasks[0]])

    assert first.attempt_ids == ["att-restart"]
    assert second.sent == []
    assert [o["payload"]["outcome"] for o in await outcomes(bootstrap, topics, "att-restart")] == [
        "accepted"
    ]
