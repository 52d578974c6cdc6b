"""P2: a contact attempt is never sent twice. The channel worker starts an attempt again (after a
crash left it without an outcome) only when the vendor de-duplicates on the attempt id, and says
so in the dispatch record; the audit reports any other second start of an attempt."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta
from pathlib import Path

from contracts.outcomes import DispatchStarted, InboundMessageReceived
from contracts.values import Channel, Purpose
from events.envelope import Envelope, wrap
from services.audit.core.dispatches import Authorisations, Authorised
from services.audit.core.replay import Auditor
from services.audit.core.report import AuditReport
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.engine import Dispatcher
from services.runtime.clock import SimClock
from tests.unit.audit.ledgers import MOBILE, NOON_NY, B, audit, ny_borrower
from tests.unit.audit.test_revocations import _authorised_text
from tests.unit.channels.channels_unit_support import NOW, PHONE, sms
from tests.unit.channels.test_dispatcher_failures import TOPICS, Published, records

MINUTE = timedelta(minutes=1)
GOLDEN = Path(__file__).parents[2] / "contract" / "golden"


def _codes(auditor: Auditor) -> list[str]:
    return [f.code for f in auditor.report.findings]


# -- the audit --------------------------------------------------------------------------------


def test_an_attempt_started_twice_is_a_violation() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS, vendor="v")
    auditor.dispatch(B, attempt, NOON_NY + 2 * MINUTE, Channel.SMS, vendor="v")

    [f] = auditor.report.findings
    assert (f.kind, f.code, f.attempt_id) == ("violation", "dispatch_repeated", attempt)
    assert auditor.report.dispatches_checked == 2


def test_a_second_start_to_a_vendor_that_de_duplicates_passes() -> None:
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)

    for at in (NOON_NY + MINUTE, NOON_NY + 2 * MINUTE, NOON_NY + 3 * MINUTE):
        auditor.dispatch(B, attempt, at, Channel.SMS, vendor="v", vendor_deduplicates=True)

    assert auditor.report.ok, auditor.report.findings


def test_a_repeat_is_safe_only_if_the_same_vendor_saw_every_start_de_duplicated() -> None:
    """The first request must have been one the vendor de-duplicates, to the same vendor: a
    second vendor cannot know what the first one sent, nor can a vendor asked without the id."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    first_unmarked, other_vendor, second_unmarked = audit(ledger), audit(ledger), audit(ledger)

    first_unmarked.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS, vendor="v")
    first_unmarked.dispatch(
        B, attempt, NOON_NY + 2 * MINUTE, Channel.SMS, vendor="v", vendor_deduplicates=True
    )
    other_vendor.dispatch(
        B, attempt, NOON_NY + MINUTE, Channel.SMS, vendor="v", vendor_deduplicates=True
    )
    other_vendor.dispatch(
        B, attempt, NOON_NY + 2 * MINUTE, Channel.SMS, vendor="w", vendor_deduplicates=True
    )
    second_unmarked.dispatch(
        B, attempt, NOON_NY + MINUTE, Channel.SMS, vendor="v", vendor_deduplicates=True
    )
    second_unmarked.dispatch(B, attempt, NOON_NY + 2 * MINUTE, Channel.SMS, vendor="v")

    assert _codes(first_unmarked) == _codes(other_vendor) == _codes(second_unmarked)
    assert _codes(first_unmarked) == ["dispatch_repeated"]


def test_one_dispatch_record_written_twice_is_one_start() -> None:
    """A producer's retry may write the same record twice: same vendor, same instant."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)

    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS, vendor="v")
    auditor.dispatch(B, attempt, NOON_NY + MINUTE, Channel.SMS, vendor="v")

    assert auditor.report.ok, auditor.report.findings
    assert auditor.report.dispatches_checked == 1


def test_merged_shards_check_repeats_against_every_authorisation() -> None:
    """Dispatches are checked in the parent, after the shards' parts are merged (run.py); a
    part travels pickled from a child."""
    other = ny_borrower(NOON_NY - timedelta(days=3))
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    merged, safe = audit(other), audit(other)
    part = pickle.loads(pickle.dumps(audit(ledger).part()))
    merged.merge(part)
    safe.merge(pickle.loads(pickle.dumps(part)))

    for at in (NOON_NY + MINUTE, NOON_NY + 2 * MINUTE):
        merged.dispatch(B, attempt, at, Channel.SMS, vendor="v")
        safe.dispatch(B, attempt, at, Channel.SMS, vendor="v", vendor_deduplicates=True)

    assert _codes(merged) == ["dispatch_repeated"]
    assert safe.report.ok, safe.report.findings


def test_an_unreadable_outcome_record_is_unverifiable_and_the_audit_goes_on() -> None:
    """A record of the outcomes topic that is no envelope, or a dispatch record that does not
    validate, may be a dispatch that cannot be checked (it used to stop the audit)."""
    ledger = ny_borrower()
    attempt = _authorised_text(ledger, NOON_NY)
    auditor = audit(ledger)
    broken = json.loads(_started(attempt, NOON_NY + MINUTE))
    del broken["payload"]["started_at"]

    auditor.dispatch_record(b"{not json", where="outcomes partition 0 offset 7")
    auditor.dispatch_record(json.dumps(broken).encode(), where="offset 8")
    auditor.dispatch_record(None, where="offset 9")
    auditor.dispatch_record(_started(attempt, NOON_NY + MINUTE), where="offset 10")

    codes = [(f.kind, f.code) for f in auditor.report.findings]
    assert codes == [("unverifiable", "unreadable_outcome")] * 3
    assert "outcomes partition 0 offset 7" in auditor.report.findings[0].detail
    assert "started_at" in auditor.report.findings[1].detail
    assert auditor.report.dispatches_checked == 1


def test_outcomes_other_than_dispatch_records_are_not_checked() -> None:
    auditor = audit(ny_borrower())
    reply = wrap(
        InboundMessageReceived(
            external_id="m1",
            from_number=MOBILE,
            to_number="+15185550100",
            body="ok",
            vendor="v",
            received_at=NOON_NY,
        ),
        borrower_id=B,
        occurred_at=NOON_NY,
        producer="gateway",
    )

    auditor.dispatch_record(reply.model_dump_json().encode(), where="here")

    assert auditor.report.ok, auditor.report.findings
    assert auditor.report.dispatches_checked == 0


def _started(attempt: str, at: datetime) -> bytes:
    started = DispatchStarted(attempt_id=attempt, channel=Channel.SMS, vendor="v", started_at=at)
    envelope = wrap(started, borrower_id=B, occurred_at=at, producer="channel-worker")
    return envelope.model_dump_json().encode()


# -- the dispatch record ----------------------------------------------------------------------


def test_a_record_written_before_the_field_reads_as_not_de_duplicated() -> None:
    old = json.loads((GOLDEN / "dispatch.started.v1.json").read_text())
    new = json.loads((GOLDEN / "dispatch.started.v1.vendor_deduplicates.json").read_text())

    assert DispatchStarted.model_validate(old["payload"]).vendor_deduplicates is False
    assert DispatchStarted.model_validate(new["payload"]).vendor_deduplicates is True


class DeDuplicating(FakeChannelAdapter):
    @property
    def honours_idempotency(self) -> bool:
        return True


async def _started_again_after_a_crash(adapter: FakeChannelAdapter) -> list[DispatchStarted]:
    """Start an attempt, crash before its outcome is written, restart and see the task again:
    every dispatch record written for it."""
    first = Dispatcher(TOPICS, {Channel.SMS: adapter}, SimClock(NOW))
    first.assign(0)
    before_crash = Published()
    await first.dispatch(records(first, sms("att-1")), before_crash)
    [start] = [r for r in before_crash.records if b'"dispatch.started"' in r.value]

    again = Dispatcher(TOPICS, {Channel.SMS: adapter}, SimClock(NOW + MINUTE))
    again.assign(0)
    again.restore_outcome(0, start.value)  # the outcome was never written
    after = Published()
    await again.dispatch(records(again, sms("att-1")), after)
    return [
        DispatchStarted.model_validate(Envelope.model_validate_json(r.value).payload)
        for r in [start, *after.records]
        if b'"dispatch.started"' in r.value
    ]


def _checked(starts: list[DispatchStarted]) -> AuditReport:
    seen = Authorisations()
    seen.attempts["att-1"] = Authorised(
        NOW,
        NOW + timedelta(hours=1),
        Channel.SMS,
        PHONE,
        Purpose.COLLECTION,
        "b-1",
        "party-1",
        "loan-1",
        tasked=True,
    )
    report = AuditReport()
    for s in starts:
        seen.check(
            report,
            "b-1",
            s.attempt_id,
            s.started_at,
            s.channel,
            vendor=s.vendor,
            vendor_deduplicates=s.vendor_deduplicates,
        )
    return report


async def test_the_worker_marks_a_start_to_a_vendor_that_de_duplicates() -> None:
    adapter = DeDuplicating()

    starts = await _started_again_after_a_crash(adapter)

    assert adapter.attempt_ids == ["att-1", "att-1"]
    assert [s.vendor_deduplicates for s in starts] == [True, True]
    assert _checked(starts).ok


async def test_the_worker_does_not_mark_a_start_to_any_other_vendor() -> None:
    adapter = FakeChannelAdapter()

    starts = await _started_again_after_a_crash(adapter)

    assert adapter.attempt_ids == ["att-1"]  # not started again: its outcome is unknown
    assert [s.vendor_deduplicates for s in starts] == [False]
    assert _checked(starts).ok
    # Had it been started again, the audit would say so.
    twice = [starts[0], starts[0].model_copy(update={"started_at": NOW + MINUTE})]
    assert [f.code for f in _checked(twice).findings] == ["dispatch_repeated"]
