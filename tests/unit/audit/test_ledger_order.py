"""A ledger partition is written by one orchestrator, in input order, on a clock that never goes
back, and a redelivered input writes no second entry. An entry whose clock goes back, or whose
input offset is not above the last one recorded from its input partition, was moved or recorded
twice: a mismatch. (A missing entry is not provable from the ledger alone: docs/audit.md.)"""

from __future__ import annotations

import json
from datetime import timedelta

from contracts import ConsentGranted, DisputeOpened
from contracts.values import Channel
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from services.audit.core.replay import Auditor
from tests.unit.audit.ledgers import (
    NOON_NY,
    PARTITIONS,
    UPSTREAM,
    B,
    Ledger,
    audit,
    ny_borrower,
)
from tests.unit.audit.test_shared_number_consent import B2, _second_borrower


def _codes(auditor: Auditor) -> list[tuple[str, str]]:
    return sorted((f.kind, f.code) for f in auditor.report.findings)


def _email_consent(ledger: Ledger) -> None:
    ledger.send(
        B,
        ConsentGranted(
            party_id=B, channel=Channel.EMAIL, address="ann@mail.example", received_at=NOON_NY
        ),
        NOON_NY,
    )


def test_an_entry_moved_before_an_earlier_one_is_a_mismatch() -> None:
    ledger = ny_borrower()
    _email_consent(ledger)
    e = ledger.entries
    swapped = [e[0], e[1], e[3], e[2]]  # the entry at noon before the one of the day before

    assert [json.loads(x.value)["now"][:10] for x in swapped] == [
        "2026-07-05",
        "2026-07-05",
        "2026-07-06",
        "2026-07-05",
    ]
    assert audit(ledger).report.ok
    assert _codes(audit(ledger, swapped)) == [
        ("mismatch", "entry_clock_goes_back"),
        ("mismatch", "input_offset_out_of_order"),
    ]


def test_an_entry_moved_among_entries_of_one_instant_is_found_by_its_offset() -> None:
    ledger = ny_borrower()
    e = ledger.entries
    swapped = [e[0], e[2], e[1]]  # all three at the same clock

    assert _codes(audit(ledger, swapped)) == [("mismatch", "input_offset_out_of_order")]


def test_an_entry_recorded_twice_is_a_mismatch() -> None:
    ledger = ny_borrower()
    _email_consent(ledger)

    again = audit(ledger, [*ledger.entries, ledger.entries[-1]])

    assert _codes(again) == [("mismatch", "input_offset_out_of_order")]


def test_a_redelivered_input_writes_no_second_entry() -> None:
    """Why an equal offset is never legitimate: the orchestrator recognises a redelivered record
    by its offset and writes nothing for it (an event sent twice at two offsets is a second
    entry, marked duplicate: test_carried_out)."""
    ledger = ny_borrower()
    key = B.encode()
    value = wrap(DisputeOpened(loan_id="L1"), borrower_id=B, occurred_at=NOON_NY, producer="t")
    record = Record(
        UPSTREAM, partition_for(key, PARTITIONS), 50, key, value.model_dump_json().encode()
    )

    first, redelivered = ledger.engine.process(record), ledger.engine.process(record)

    assert len(first.ledger) == 1
    assert redelivered.ledger == []


def test_partitions_interleaved_in_any_order_are_in_order() -> None:
    """Order is kept per ledger partition and per input partition, not across them."""
    ledger = ny_borrower(NOON_NY + timedelta(days=1))
    _second_borrower(ledger)  # on another partition, a day earlier
    mine = [out for out in ledger.entries if out.key == B.encode()]
    theirs = [out for out in ledger.entries if out.key == B2.encode()]
    assert {out.partition for out in mine}.isdisjoint({out.partition for out in theirs})

    for order in ([*mine, *theirs], [*theirs, *mine], [mine[0], *theirs, *mine[1:]]):
        assert audit(ledger, order).report.ok


def test_a_ledger_whose_first_entries_are_gone_is_in_order() -> None:
    """Offsets and clocks are compared with the entries before them, not with offset 0: the
    first entry read starts the order (a gap is not a finding)."""
    ledger = ny_borrower()
    late: list[Out] = ledger.entries[1:]

    assert audit(ledger, late).report.ok, audit(ledger, late).report.findings
