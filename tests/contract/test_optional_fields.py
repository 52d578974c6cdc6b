"""Fields added to a message after v1 are written only when they differ from their default, so
a build from before them still reads every record that does not need them (a rolling deploy:
a new gateway's STOP must not be dead-lettered by an older orchestrator)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from contracts.ledger import IntentDropped
from contracts.outcomes import DispatchStarted, InboundMessageReceived
from contracts.tasks import PlaceCall
from contracts.upstream import BankruptcyFiled, DelinquencyUpdated, PartyLinked
from contracts.values import Channel, Money, PartyRole, Purpose

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def _fields(message: object) -> set[str]:
    assert hasattr(message, "model_dump_json")
    return set(json.loads(message.model_dump_json()))


def test_an_inbound_text_says_confirms_opt_out_only_when_it_does_not() -> None:
    stop = InboundMessageReceived(
        from_number="+12125550147",
        to_number="+18005550111",
        body="STOP",
        vendor="twilio",
        external_id="SM1",
        received_at=NOW,
    )

    assert "confirms_opt_out" not in _fields(stop)
    assert "confirms_opt_out" in _fields(stop.model_copy(update={"confirms_opt_out": False}))


def test_a_dispatch_record_says_vendor_deduplicates_only_when_it_does() -> None:
    started = DispatchStarted(attempt_id="a1", channel=Channel.SMS, vendor="v", started_at=NOW)

    assert "vendor_deduplicates" not in _fields(started)
    assert "vendor_deduplicates" in _fields(
        started.model_copy(update={"vendor_deduplicates": True})
    )


def test_a_dropped_intent_names_a_request_only_for_a_request() -> None:
    assert "request_id" not in _fields(IntentDropped(attempt_id="a1", reason="expired"))
    assert "request_id" in _fields(
        IntentDropped(attempt_id="a1", reason="no_template_for_request", request_id="desk-1")
    )


def test_a_bankruptcy_names_its_chapter_only_when_known() -> None:
    filed = BankruptcyFiled(party_id="b1")

    assert "chapter" not in _fields(filed)
    assert _fields(BankruptcyFiled(party_id="b1", chapter=13)) == {"party_id", "chapter"}


def test_a_link_says_language_zone_and_vulnerability_only_when_given() -> None:
    link = PartyLinked(loan_id="L1", party_id="g1", role=PartyRole.GUARANTOR, name="Bo")
    full = PartyLinked(
        loan_id="L1",
        party_id="g1",
        role=PartyRole.GUARANTOR,
        name="Bo",
        language="zh-CN",
        declared_time_zone="Asia/Shanghai",
        vulnerable=True,
    )

    assert {"language", "declared_time_zone", "vulnerable"}.isdisjoint(_fields(link))
    assert {"language", "declared_time_zone", "vulnerable"} <= _fields(full)


def test_a_task_names_the_channels_whose_revocation_stops_it_only_when_there_are_some() -> None:
    call = PlaceCall(
        attempt_id="a1",
        party_id="b1",
        loan_id="L1",
        purpose=Purpose.COLLECTION,
        authorised_at=NOW,
        not_after=NOW,
        to="+15185550100",
        voicemail="Please call us back.",
    )

    assert "revoked_with" not in _fields(call)
    assert "revoked_with" in _fields(call.model_copy(update={"revoked_with": (Channel.SMS,)}))


def test_a_delinquency_snapshot_names_a_balance_only_when_known() -> None:
    snapshot = DelinquencyUpdated(
        loan_id="L1",
        days_past_due=3,
        amount_overdue=Money(amount=Decimal(50), currency="USD"),
        as_of=NOW.date(),
    )

    assert "balance" not in _fields(snapshot)
    assert "balance" in _fields(
        snapshot.model_copy(update={"balance": Money(amount=Decimal(480), currency="USD")})
    )
