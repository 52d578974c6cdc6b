"""`parley audit` on the real broker, folding the ledger in one process or in two: the same
report either way, tampering and TC-3 evidence included."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import ConsentRevoked, DispatchStarted
from contracts.values import Channel
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out
from events.topics import Topics
from services.audit import run as audit_run
from services.audit.core.report import AuditReport
from services.audit.run import run_audit
from services.compliance.core.registry import policy_document
from tests.support.pipeline import PARTITIONS, orchestrator_settings, producer, send_envelope
from tests.unit.audit.ledgers import edited, portfolio

pytestmark = pytest.mark.broker
FORGED_AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def _tampered(entries: list[Out]) -> list[Out]:
    """One decision's verdict flipped, somewhere in the middle of the log."""
    i = next(
        i
        for i, out in enumerate(entries)
        if i > len(entries) // 2 and b'"contact.decided"' in out.value
    )

    def flip(doc: dict[str, Any]) -> None:
        for d in doc["derived"]:
            if d["type"] == "contact.decided":
                was = d["payload"]["verdict"]
                d["payload"]["verdict"] = "suppressed" if was == "authorised" else "authorised"

    return [*entries[:i], edited(entries[i], flip), *entries[i + 1 :]]


def _comparable(report: AuditReport) -> dict[str, Any]:
    d = report.as_dict()
    d["findings"] = sorted(json.dumps(f, sort_keys=True) for f in d["findings"])
    d["revocations"]["records"] = sorted(
        json.dumps(r, sort_keys=True) for r in d["revocations"]["records"]
    )
    return d


@pytest.mark.parametrize("method", ["fork", "spawn"])
async def test_two_processes_report_what_one_process_reports(
    bootstrap: str, topics: Topics, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Children forked (started before the ledger's size is known, and let go if not needed)
    or spawned (started once it is): the same report as one process. Fork is forced here even
    if the test process runs threads, which run_audit would not do: the protocol is the same."""
    ledger = portfolio(borrowers=40, days=8, seed=6)
    late = FORGED_AT + timedelta(days=2)
    ledger.send(
        "b000003",
        ConsentRevoked(
            party_id="b000003",
            channel=Channel.SMS,
            received_at=late - timedelta(days=30),  # long before: a TC-3 violation
        ),
        late,
    )
    policy = ledger.engine.ctx.policy
    forged = wrap(
        DispatchStarted(
            attempt_id="forged-attempt-1", channel=Channel.SMS, vendor="twilio", started_at=late
        ),
        borrower_id="b000001",
        occurred_at=late,
        producer="channel-worker",
    )
    async with producer(bootstrap) as p:
        for out in _tampered(ledger.entries):
            await p.send(topics.ledger, out.value, key=out.key, partition=out.partition)
        version = policy.version.encode()
        await p.send_and_wait(
            topics.policies,
            json.dumps(policy_document(policy)).encode(),
            key=version,
            partition=partition_for(version, PARTITIONS),
        )
        await send_envelope(p, topics.outcomes, forged)
    settings = orchestrator_settings(topics)

    monkeypatch.setattr(audit_run, "start_method", lambda: method)

    one = await run_audit(bootstrap, topics, PARTITIONS, settings, processes=1)
    two = await run_audit(bootstrap, topics, PARTITIONS, settings, processes=2)
    four = await run_audit(bootstrap, topics, PARTITIONS, settings, processes=4)
    chosen = await run_audit(bootstrap, topics, PARTITIONS, settings)

    assert _comparable(two) == _comparable(one)
    assert _comparable(four) == _comparable(one)
    assert _comparable(chosen) == _comparable(one)
    assert multiprocessing.active_children() == []  # every child stopped, none left behind
    assert one.entries == len(ledger.entries)
    codes = {f.code for f in one.findings}
    assert {"decision_not_reproduced", "dispatch_without_authorisation"} <= codes
    assert one.revocations_late == 1
