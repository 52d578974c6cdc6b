"""P3 on the real broker: every bad record lands in the dead-letter topic with a machine-readable
reason and its original bytes, the consumer goes on, and in = processed + dead-lettered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiokafka import ConsumerRecord

from contracts import BorrowerProfiled, LoanOpened
from contracts.values import Money
from events.deadletter import DeadLetter
from events.envelope import wrap
from events.partitioning import partition_for
from events.topics import Topics
from tests.support.pipeline import (
    PARTITIONS,
    orchestrator_settings,
    producer,
    read_topic,
    running_orchestrator,
    send_envelope,
    wait_settled,
)

pytestmark = pytest.mark.broker
NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def _valid(borrower: str, n: int) -> bytes:
    return (
        wrap(
            LoanOpened(
                loan_id=f"L{n}", product="p", principal=Money(amount=Decimal(100), currency="USD")
            ),
            borrower_id=borrower,
            occurred_at=NOW,
            producer="test",
        )
        .model_dump_json()
        .encode()
    )


def _envelope_dict(borrower: str, **changes: object) -> dict[str, object]:
    env = wrap(
        BorrowerProfiled(party_id=borrower, name="A"),
        borrower_id=borrower,
        occurred_at=NOW,
        producer="test",
    )
    return {**json.loads(env.model_dump_json()), **changes}


async def test_bad_records_are_dead_lettered_with_reasons_and_counts_reconcile(
    bootstrap: str, topics: Topics
) -> None:
    """Malformed JSON, schema violation, unknown type, unknown version, oversized, keyless,
    key mismatch and misrouted records each get their reason; good records around them apply."""
    settings = orchestrator_settings(topics, max_record_bytes=64 * 1024)
    key = b"b-dlq-1"
    p_ok = partition_for(key, PARTITIONS)
    bad: dict[str, tuple[bytes | None, bytes, int]] = {
        "malformed_json": (key, b'{"event_id": "x", ', p_ok),
        "schema_violation": (
            key,
            json.dumps(_envelope_dict("b-dlq-1", payload={"party_id": "b-dlq-1"})).encode(),
            p_ok,
        ),
        "unknown_event_type": (
            key,
            json.dumps(_envelope_dict("b-dlq-1", type="loan.exploded")).encode(),
            p_ok,
        ),
        "unknown_schema_version": (
            key,
            json.dumps(_envelope_dict("b-dlq-1", schema_version=99)).encode(),
            p_ok,
        ),
        "oversized": (
            key,
            json.dumps(_envelope_dict("b-dlq-1", producer="x" * 10, padding="y" * 70_000)).encode(),
            p_ok,
        ),
        "missing_key": (None, _valid("b-dlq-1", 9), p_ok),
        "key_mismatch": (b"b-other", _valid("b-dlq-1", 8), partition_for(b"b-other", PARTITIONS)),
        "misrouted": (key, _valid("b-dlq-1", 7), (p_ok + 1) % PARTITIONS),
    }

    async with producer(bootstrap) as p, running_orchestrator(bootstrap, settings):
        await send_envelope(
            p,
            topics.upstream,
            wrap(
                BorrowerProfiled(party_id="b-dlq-1", name="A"),
                borrower_id="b-dlq-1",
                occurred_at=NOW,
                producer="test",
            ),
        )
        sent: dict[str, tuple[int, int]] = {}
        for reason, (k, value, partition) in bad.items():
            md = await p.send_and_wait(topics.upstream, value, key=k, partition=partition)
            sent[reason] = (md.partition, md.offset)
        for n in range(3):  # the consumer goes on after the bad records
            await p.send_and_wait(topics.upstream, _valid("b-dlq-1", n), key=key, partition=p_ok)
        await wait_settled(bootstrap, settings.group_id, [topics.upstream, topics.outcomes])

    upstream, applied, dead = await _read_back(bootstrap, topics)

    by_ref = {(d.partition, d.offset): d for d in dead}
    for reason, ref in sent.items():
        assert by_ref[ref].reason.value == reason, (reason, by_ref[ref].detail)
        assert by_ref[ref].original_value() == bad[reason][1]  # nothing lost: the bytes are kept
    inputs = {(r.partition, r.offset) for r in upstream}
    assert applied.isdisjoint(by_ref)
    assert applied | set(by_ref) == inputs  # in = processed + dead-lettered
    assert len(applied) == 4
    assert len(dead) == len(bad)
    print(f"reconciled: in={len(inputs)} processed={len(applied)} dead-lettered={len(dead)}")


async def test_records_the_framework_could_not_parse_are_dead_lettered_not_lost(
    bootstrap: str, topics: Topics
) -> None:
    """Bodies no JSON parser takes (nesting deeper than it goes, an integer of more digits than
    Python converts, a broken body marked application/json) used to fail their whole batch
    before the handler ran: they and the good records fetched with them were neither applied
    nor dead-lettered. Each is now dead-lettered as malformed_json, and the rest applied."""
    settings = orchestrator_settings(topics)
    key = b"b-dlq-2"
    part = partition_for(key, PARTITIONS)
    json_header = [("content-type", b"application/json")]
    poison: list[tuple[bytes, list[tuple[str, bytes]] | None]] = [
        (b"[" * 100_000 + b"]" * 100_000, None),
        (b'{"n": ' + b"9" * 5000 + b"}", None),
        (b'{"type": oops', json_header),
    ]

    async with producer(bootstrap) as p, running_orchestrator(bootstrap, settings):
        sent: list[int] = []
        for n, (value, headers) in enumerate(poison):
            await p.send(topics.upstream, _valid("b-dlq-2", n), key=key, partition=part)
            md = await p.send_and_wait(
                topics.upstream, value, key=key, partition=part, headers=headers
            )
            sent.append(md.offset)
        await p.send_and_wait(topics.upstream, _valid("b-dlq-2", 9), key=key, partition=part)
        await wait_settled(bootstrap, settings.group_id, [topics.upstream, topics.outcomes])

    upstream, applied, dead = await _read_back(bootstrap, topics)

    assert sorted(d.offset for d in dead) == sent
    assert {d.reason.value for d in dead} == {"malformed_json"}
    assert [d.original_value() for d in sorted(dead, key=lambda d: d.offset)] == [
        value for value, _ in poison
    ]
    assert applied | {(part, o) for o in sent} == {(r.partition, r.offset) for r in upstream}
    assert len(applied) == 4


async def _read_back(
    bootstrap: str, topics: Topics
) -> tuple[list[ConsumerRecord[bytes, bytes]], set[tuple[int, int]], list[DeadLetter]]:
    """The upstream records, the (partition, offset) of each one a ledger entry applied, and
    the dead letters."""
    upstream = await read_topic(bootstrap, topics.upstream)
    ledger = [json.loads(r.value) for r in await read_topic(bootstrap, topics.ledger)]
    applied = {(e["input"]["partition"], e["input"]["offset"]) for e in ledger if e["input"]}
    dead = [
        DeadLetter.model_validate_json(r.value)
        for r in await read_topic(bootstrap, topics.deadletter)
    ]
    return upstream, applied, dead
