"""Disputes (RF-21): a debt is held while any of its disputes is open, and a change to a dispute
older than one already applied (by the input's ``occurred_at``) is stale: a resolution re-sent
after the dispute was reopened lifts nothing. The orchestrator, the channel worker's re-check
and the audit fold the same state (core revision 13)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from contracts import DisputeOpened, DisputeResolved, Message
from events.partitioning import partition_for
from events.topics import Topics
from services.audit.core.entry import read_entry
from services.audit.core.replay import Auditor, Rederive
from services.channels.engine import Dispatcher
from services.orchestrator.context import context_factory
from services.orchestrator.engine import Emitted
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.clock import SimClock
from tests.unit.orchestrator.builders import (
    NOON_NY,
    NS,
    PARTITIONS,
    B,
    Feed,
    borrower,
    decisions,
    dpd,
    engine,
)

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
OPENED, RESOLVED, REOPENED = NOON_NY, NOON_NY + 2 * HOUR, NOON_NY + 4 * HOUR


def _collection(feed: Feed, at: datetime) -> list[str]:
    """The verdicts of the collection contacts a snapshot of the arrears asks for: none while
    the debt is disputed (the strategy asks for none, and the gate would suppress them)."""
    out = feed.send(B, dpd(3, at.date()), at)
    return [d["verdict"] for d in decisions(out) if d["purpose"] == "collection"]


def _at(
    feed: Feed, message: Message, occurred_at: datetime, wall: datetime, event_id: str
) -> Emitted:
    """As the app processes a record: with the wall clock (inputs up to 5 minutes ahead of it
    are taken)."""
    out = feed.engine.process(feed.record(B, message, occurred_at, event_id=event_id), wall)
    feed._keep(out)
    return out


def _reopened_then_stale_resolution() -> Feed:
    feed = borrower()
    feed.send(B, DisputeOpened(loan_id="L1"), OPENED)
    feed.send(B, DisputeResolved(loan_id="L1"), RESOLVED)
    feed.send(B, DisputeOpened(loan_id="L1"), REOPENED)
    # The first resolution again, under a new event id, after the reopening.
    feed.send(B, DisputeResolved(loan_id="L1"), RESOLVED, event_id="resent-resolution")
    return feed


def test_a_resolution_resent_after_the_dispute_was_reopened_lifts_nothing() -> None:
    feed = _reopened_then_stale_resolution()

    assert _collection(feed, REOPENED + 20 * HOUR) == []


def test_a_resolution_after_the_reopening_lifts_it() -> None:
    feed = _reopened_then_stale_resolution()
    feed.send(B, DisputeResolved(loan_id="L1"), REOPENED + HOUR)

    assert _collection(feed, REOPENED + 20 * HOUR) == ["authorised"]


def test_resolving_one_of_two_disputes_leaves_the_debt_held() -> None:
    feed = borrower()
    feed.send(B, DisputeOpened(loan_id="L1", dispute_id="D1"), OPENED)
    feed.send(B, DisputeOpened(loan_id="L1", dispute_id="D2"), OPENED + HOUR)
    feed.send(B, DisputeResolved(loan_id="L1", dispute_id="D1"), RESOLVED)

    held = _collection(feed, RESOLVED + 20 * HOUR)
    feed.send(B, DisputeResolved(loan_id="L1", dispute_id="D2"), RESOLVED + 21 * HOUR)

    assert held == []
    assert _collection(feed, RESOLVED + 44 * HOUR) == ["authorised"]


def test_a_resolution_naming_no_dispute_resolves_those_opened_before_it_only() -> None:
    """Opened after it (by when it occurred) is still open, whatever the order they came in."""
    feed = borrower()
    feed.send(B, DisputeOpened(loan_id="L1", dispute_id="D1"), OPENED)
    feed.send(B, DisputeOpened(loan_id="L1", dispute_id="D2"), REOPENED)
    feed.send(B, DisputeResolved(loan_id="L1"), RESOLVED)  # between the two, arriving last

    assert _collection(feed, REOPENED + 20 * HOUR) == []


def test_an_opening_older_than_the_resolution_already_applied_opens_nothing() -> None:
    """And asks for no dispute response: there is no open dispute to answer."""
    feed = borrower()
    feed.send(B, DisputeOpened(loan_id="L1"), OPENED)
    feed.send(B, DisputeResolved(loan_id="L1"), RESOLVED)

    stale = feed.send(B, DisputeOpened(loan_id="L1"), OPENED, event_id="resent-opening")

    assert decisions(stale) == []
    assert _collection(feed, RESOLVED + 20 * HOUR) == ["authorised"]


def test_an_opening_older_than_a_resolution_that_came_first_opens_nothing() -> None:
    feed = borrower()
    feed.send(B, DisputeResolved(loan_id="L1"), RESOLVED)

    late = feed.send(B, DisputeOpened(loan_id="L1", dispute_id="D1"), OPENED)

    assert decisions(late) == []
    assert _collection(feed, RESOLVED + 20 * HOUR) == ["authorised"]


def test_a_resolution_named_before_its_opening_arrives_keeps_that_dispute_closed() -> None:
    feed = borrower()
    feed.send(B, DisputeResolved(loan_id="L1", dispute_id="D1"), RESOLVED)
    feed.send(B, DisputeOpened(loan_id="L1", dispute_id="D1"), OPENED)

    assert _collection(feed, RESOLVED + 20 * HOUR) == ["authorised"]


def test_a_reopening_stamped_by_a_clock_behind_the_resolutions_holds_the_debt() -> None:
    """Producers' clocks differ: a resolution stamped by a clock 3 minutes ahead must not make
    a real reopening a minute later look stale. Holding contact is the safe way to be wrong."""
    feed = borrower()
    wall = NOON_NY
    _at(feed, DisputeOpened(loan_id="L1", dispute_id="D1"), wall - HOUR, wall - HOUR, "o1")
    _at(feed, DisputeResolved(loan_id="L1", dispute_id="D1"), wall + 3 * MINUTE, wall, "r1")

    reopened = _at(
        feed, DisputeOpened(loan_id="L1", dispute_id="D1"), wall + MINUTE, wall + MINUTE, "o2"
    )

    assert [d["purpose"] for d in decisions(reopened)] == ["dispute_response"]
    assert _collection(feed, wall + 20 * HOUR) == []


def test_an_opening_resent_while_the_dispute_is_open_asks_for_no_second_response() -> None:
    """The first opening re-sent by an outbox an hour after the reopening: live, the clock has
    moved on, but the response it would ask for is the reopening's, already asked for."""
    feed = borrower()
    _at(feed, DisputeOpened(loan_id="L1"), NOON_NY, NOON_NY, "o1")
    _at(feed, DisputeResolved(loan_id="L1"), RESOLVED, RESOLVED, "r1")
    _at(feed, DisputeOpened(loan_id="L1"), REOPENED, REOPENED, "o2")

    resent = _at(feed, DisputeOpened(loan_id="L1"), NOON_NY, REOPENED + HOUR, "o1-again")

    assert decisions(resent) == []
    assert _collection(feed, REOPENED + 20 * HOUR) == []


def test_a_dispute_opened_before_disputes_were_named_is_resolved_by_name() -> None:
    """Parley is deployed before producers name disputes: one opened before that is resolved
    by its name after. Left open, the debt would be held for good."""
    feed = borrower()
    feed.send(B, DisputeOpened(loan_id="L1"), OPENED)
    feed.send(B, DisputeResolved(loan_id="L1", dispute_id="D-77"), OPENED + 48 * HOUR)

    assert _collection(feed, OPENED + 70 * HOUR) == ["authorised"]


# A ledger written by core revision 12, which applied disputes as they arrived: a resolution
# delivered before an older opening, so the debt was held, and a desk's call suppressed by the
# hold. Made by the orchestrator at bd657ca with these inputs: DisputeResolved at NOON_NY + 2h,
# DisputeOpened at NOON_NY, then a RequestContact (call, collection) at NOON_NY + 3h.
REVISION_12 = json.loads((Path(__file__).parent / "golden/ledger_r12_disputes.json").read_text())


def test_a_ledger_written_before_revision_13_is_folded_as_it_was_written() -> None:
    """What an entry was decided on is what the ledger gives back (P5): the audit re-proves the
    suppressed call, and a restored orchestrator and a channel worker still hold the debt."""
    policy = engine().ctx.policy
    auditor = Auditor({policy.version: policy}, None, PARTITIONS)
    restarted = Feed(engine=engine())
    partition = partition_for(B.encode(), PARTITIONS)
    worker = Dispatcher(Topics(NS), {}, SimClock(REOPENED))
    worker.assign(partition)

    for out in REVISION_12:
        value = out["value"].encode()
        auditor.entry(read_entry(value), partition=out["partition"])
        restarted.engine.restore(out["partition"], value)
        worker.restore_ledger(out["partition"], value)
    auditor.close()

    assert auditor.report.decisions_reproved == 2
    assert auditor.report.findings == []
    assert restarted.state(B).loans["L1"].disputed
    assert worker.states[partition].borrowers[B].loans["L1"].disputed


def test_an_orchestrator_restored_from_the_ledger_still_holds_the_reopened_dispute() -> None:
    feed = _reopened_then_stale_resolution()
    restarted = Feed(engine=engine(), offsets=feed.offsets)
    for out in feed.ledger:
        restarted.engine.restore(out.partition, out.value)

    assert _collection(restarted, REOPENED + 20 * HOUR) == []


def test_the_channel_workers_recheck_holds_the_reopened_dispute() -> None:
    """The worker folds the ledger's inputs by when they occurred too: its last check before a
    vendor (P6) sees the debt disputed, as the orchestrator does."""
    feed = _reopened_then_stale_resolution()
    partition = partition_for(B.encode(), PARTITIONS)
    worker = Dispatcher(Topics(NS), {}, SimClock(REOPENED + HOUR))
    worker.assign(partition)

    for out in feed.ledger:
        worker.restore_ledger(partition, out.value)

    assert worker.states[partition].borrowers[B].loans["L1"].disputed


def test_the_audit_rederives_the_same_decisions() -> None:
    """Re-running the core on the recorded inputs gives the recorded events: the audit orders
    the dispute's changes as the orchestrator did."""
    feed = _reopened_then_stale_resolution()
    _collection(feed, REOPENED + 20 * HOUR)
    settings = OrchestratorSettings(namespace=NS, partitions=PARTITIONS)
    policy = feed.engine.ctx.policy
    auditor = Auditor(
        {policy.version: policy}, None, PARTITIONS, rederive=Rederive(*context_factory(settings))
    )

    for out in feed.ledger:
        auditor.entry(read_entry(out.value), partition=out.partition)
    auditor.close()

    assert auditor.report.entries_rederived == len(feed.ledger)
    assert auditor.report.findings == []
