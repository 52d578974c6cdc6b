"""The whole path on the real broker, SMTP server and vendor simulator: a small demo run,
checked against the promises it must keep."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord

from contracts import DispatchStarted
from contracts.values import Channel
from events.envelope import wrap
from events.partitioning import partition_for
from events.topics import Role, Topics
from services.audit.run import run_audit
from services.compliance.core import load_policy
from services.runtime.logs import configure_logging, reset_logging
from services.runtime.settings import CommonSettings
from services.simulation.driver import DemoRun, run_demo
from tests.support.pipeline import (
    PARTITIONS,
    orchestrator_settings,
    producer,
    read_topic,
    send_envelope,
)

pytestmark = pytest.mark.broker
NOW_FORGED = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@dataclass
class Ran:
    run: DemoRun
    logs: str
    topics: dict[str, list[ConsumerRecord[bytes, bytes]]]

    def values(self, role: str) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in self.topics[role]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ran(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    out = tmp_path_factory.mktemp("demo")
    log_file = out / "run.log"
    base = CommonSettings.model_validate(
        {"kafka_bootstrap_servers": bootstrap, "log_level": "info"}
    )
    with log_file.open("w") as sink:
        configure_logging("info", "json", stream=sink)
        try:
            run = await run_demo(
                stop_rate=0.3,
                borrowers=60,
                days=7,  # long enough for STOPs from the US, where TC-4 confirms them
                seed=5,
                step_minutes=60,
                out_dir=out,
                progress=lambda *_: None,
                base=base,
            )
        finally:
            reset_logging()  # later tests expect structlog's defaults, and the file closes here
    topics = Topics(run.namespace)
    records = {role.value: await read_topic(bootstrap, topics.name(role)) for role in Role}
    return Ran(run, log_file.read_text(), records)


async def test_every_input_is_processed_or_dead_lettered(ran: Ran) -> None:
    """P3: in = processed + dead-lettered, for upstream events and outcomes alike."""
    ledger = ran.values("ledger")
    applied = Counter(
        (e["input"]["topic"], e["input"]["partition"], e["input"]["offset"])
        for e in ledger
        if e["input"]
    )
    inputs = {
        (r.topic, r.partition, r.offset)
        for role in ("upstream", "outcomes")
        for r in ran.topics[role]
    }
    dead = {(d["source_topic"], d["partition"], d["offset"]) for d in ran.values("deadletter")}

    assert max(applied.values()) == 1
    assert set(applied) | dead == inputs
    assert not set(applied) & dead


async def test_no_attempt_reaches_a_vendor_twice(ran: Ran) -> None:
    """P2, by the vendor simulator's and the SMTP server's own counts."""
    stats = ran.run.vendor_stats
    tokens: Counter[str] = Counter()
    for route in ("messages", "calls"):
        tokens.update(stats[route]["by_token"])  # type: ignore[index]

    assert tokens
    assert max(tokens.values()) == 1
    assert ran.run.emails_per_attempt_max == 1


async def test_nothing_reaches_a_vendor_without_an_authorisation(ran: Ran) -> None:
    """P1: every dispatch the workers record answers an authorised decision in the ledger."""
    authorised = {
        d["payload"]["attempt_id"]
        for e in ran.values("ledger")
        for d in e["derived"]
        if d["type"] == "contact.decided" and d["payload"]["verdict"] == "authorised"
    }
    started = {
        o["payload"]["attempt_id"]
        for o in ran.values("outcomes")
        if o["type"] == "dispatch.started"
    }

    assert started
    assert started <= authorised


async def test_after_stop_only_the_confirmation_text_goes_to_that_number(ran: Ran) -> None:
    """P6: once a STOP is processed, no later text but the one confirmation."""
    ledger = ran.values("ledger")
    revoked_at = {
        d["payload"]["address"]: e["now"]
        for e in ledger
        for d in e["derived"]
        if d["type"] == "consent.revoked"
    }
    texts_after = [
        (t["payload"]["to"], t["payload"]["purpose"])
        for e in ledger
        for t in e["derived"]
        if t["type"] == "task.sms"
        and t["payload"]["to"] in revoked_at
        and e["now"] > revoked_at[t["payload"]["to"]]
    ]

    assert revoked_at, "the run should include STOP replies"
    assert all(purpose == "opt_out_confirmation" for _, purpose in texts_after)
    assert max(Counter(to for to, _ in texts_after).values(), default=0) <= 1


async def test_a_text_the_vendor_refused_for_a_stop_is_kept_as_an_opt_out(ran: Ran) -> None:
    """TC-2: the simulator blocks a number that texted STOP to it, as Twilio does (21610), so
    Parley's own confirmation to it is refused. Each refusal reaches the orchestrator as
    opted_out, over the broker, and is kept with the number in the entry that applied it."""

    def opted_out(envelope: dict[str, Any] | None) -> bool:
        return (
            envelope is not None
            and envelope["type"] == "contact.outcome"
            and envelope["payload"]["outcome"] == "opted_out"
        )

    refused = {o["payload"]["attempt_id"] for o in ran.values("outcomes") if opted_out(o)}
    kept = {
        e["event"]["payload"]["attempt_id"]
        for e in ran.values("ledger")
        if opted_out(e["event"])
        and not e["duplicate"]
        and any(d["type"] == "number.opted_out" for d in e["derived"])
    }

    assert refused, "the run should include texts refused after a STOP"
    assert kept == refused


async def test_no_pii_in_keys_headers_or_logs(ran: Ran) -> None:
    """P7: keys are opaque ids; headers and log lines carry no phone number or email."""
    pii = set()
    for e in ran.values("upstream"):
        payload = e["payload"]
        pii |= {p["number"] for p in payload.get("phones", [])} | {
            m["address"] for m in payload.get("emails", [])
        }
        if payload.get("address"):
            pii.add(payload["address"])
    assert len(pii) > 60
    opaque = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    for records in ran.topics.values():
        for r in records:
            assert r.key is not None
            assert opaque.match(r.key.decode())
            header_text = " ".join(f"{k}={v!r}" for k, v in r.headers)
            assert not any(x in header_text or x.lstrip("+") in header_text for x in pii)
    assert ran.logs.count("\n") > 20
    leaked = sorted(x for x in pii if x in ran.logs or x.lstrip("+") in ran.logs)
    assert leaked == []


async def test_the_audit_reproduces_every_decision_and_finds_no_violation(ran: Ran) -> None:
    """P5: every ledger entry re-derived (the demo audits with --rederive), every decision
    re-proved, every dispatch accounted for."""
    report = ran.run.audit

    assert report.ok, report.findings[:5]
    assert report.entries_rederived == report.entries > 0
    assert report.decisions_reproved > 0
    assert report.dispatches_checked > 0


async def test_a_shadow_policy_reports_what_would_have_changed(
    ran: Ran, bootstrap: str, tmp_path: Path
) -> None:
    """Before rollout: the same history under stricter numbers, decision by decision."""
    policy = tmp_path / "stricter.yaml"
    policy.write_text(
        "policy: stricter\npacks: [us-federal, cn]\noverrides:\n  - {rule: RF-1, max: 1}\n"
    )
    settings = orchestrator_settings(Topics(ran.run.namespace))

    report = await run_audit(
        bootstrap, Topics(ran.run.namespace), PARTITIONS, settings, load_policy(str(policy))
    )

    assert report.ok  # the shadow never turns history into findings
    assert sum(report.shadow_changes.values()) > 0
    assert report.shadow_changes[("authorised", "deferred")] > 0


async def test_a_tampered_log_fails_the_audit(ran: Ran, bootstrap: str, tmp_path: Path) -> None:
    """A send with no authorisation, and a forged verdict, are found; `parley audit` exits 1."""
    topics = Topics(ran.run.namespace)
    ledger = ran.values("ledger")
    suppressed = next(
        e
        for e in ledger
        if any(
            d["type"] == "contact.decided" and d["payload"]["verdict"] == "suppressed"
            for d in e["derived"]
        )
    )
    for d in suppressed["derived"]:
        if d["type"] == "contact.decided":
            d["payload"]["verdict"] = "authorised"
            d["payload"]["reasons"] = []
    forged_send = wrap(
        DispatchStarted(
            attempt_id="forged-attempt-1",
            channel=Channel.SMS,
            vendor="twilio",
            started_at=NOW_FORGED,
        ),
        borrower_id=suppressed["borrower_id"],
        occurred_at=NOW_FORGED,
        producer="channel-worker",
    )
    async with producer(bootstrap) as p:
        key = suppressed["borrower_id"].encode()
        await p.send_and_wait(
            topics.ledger,
            json.dumps(suppressed).encode(),
            key=key,
            partition=partition_for(key, PARTITIONS),
        )
        await send_envelope(p, topics.outcomes, forged_send)

    report = await run_audit(bootstrap, topics, PARTITIONS, orchestrator_settings(topics))
    cli = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "audit",
            "--rederive",
            "--namespace",
            ran.run.namespace,
            "--json",
            str(tmp_path / "audit.json"),
        ],
        env={
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "PARLEY_PARTITIONS": str(PARTITIONS),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    codes = {f.code for f in report.findings}
    assert {
        "dispatch_without_authorisation",
        "decision_not_reproduced",
        "authorised_against_rules",
    } <= codes
    assert cli.returncode == 1, cli.stderr[-2000:]
    rederived = json.loads((tmp_path / "audit.json").read_text())
    assert rederived["rederive"]
    assert rederived["entries_rederived"] == rederived["entries"]
    assert {"rederived_events_differ", "decision_not_reproduced"} <= {
        f["code"] for f in rederived["findings"]
    }
