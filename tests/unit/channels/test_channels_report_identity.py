"""What makes two webhooks one report: the key the gateway dedupes on and the event id that
carries that dedupe past a restart (services/gateway/dedupe.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import DispatchStarted
from contracts.outcomes import ContactOutcomeRecorded, InboundMessageReceived, OutcomeKind
from contracts.values import Channel
from services.gateway.dedupe import event_id, report_key

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def receipt(**changes: object) -> ContactOutcomeRecorded:
    fields: dict[str, object] = {
        "attempt_id": "att-1",
        "channel": Channel.SMS,
        "outcome": OutcomeKind.DELIVERED,
        "vendor": "twilio",
        "external_id": "SM1",
        "reported_at": NOW,
        **changes,
    }
    return ContactOutcomeRecorded.model_validate(fields)


def test_a_receipt_is_keyed_by_vendor_external_id_and_status() -> None:
    """The normalised status, so "delivered" and "read" (both DELIVERED) are one report."""
    assert report_key(receipt()) == ("twilio", "SM1", "delivered")


def test_an_inbound_text_is_keyed_by_vendor_and_message_sid() -> None:
    message = InboundMessageReceived(
        from_number="+14155550123",
        to_number="+15005550006",
        body="STOP",
        vendor="twilio",
        external_id="SMin1",
        received_at=NOW,
    )

    assert report_key(message) == ("twilio", "SMin1", "inbound")


def test_the_same_report_gets_the_same_event_id_whenever_it_arrives() -> None:
    """A retry posted later (another reported_at) or worded differently (detail) is the same
    report: the orchestrator's seen-event set then drops it, even after a gateway restart."""
    first = receipt()
    later = receipt(reported_at=NOW + timedelta(days=2), detail="retried")

    assert event_id(first, "b1") == event_id(later, "b1")


@pytest.mark.parametrize(
    ("other", "borrower"),
    [
        pytest.param(receipt(outcome=OutcomeKind.ACCEPTED), "b1", id="another-status"),
        pytest.param(receipt(external_id="SM2"), "b1", id="another-message"),
        pytest.param(receipt(vendor="othervendor"), "b1", id="another-vendor"),
        pytest.param(receipt(), "b2", id="another-borrower-sharing-the-number"),
    ],
)
def test_a_different_report_gets_a_different_event_id(
    other: ContactOutcomeRecorded, borrower: str
) -> None:
    """Sent and delivered are two facts; one inbound text is one fact per borrower it reaches."""
    assert event_id(other, borrower) != event_id(receipt(), "b1")


def test_only_reports_have_a_report_key() -> None:
    """The gateway emits receipts and inbound texts; anything else is a programming error."""
    started = DispatchStarted(
        attempt_id="att-1", channel=Channel.SMS, vendor="twilio", started_at=NOW
    )

    with pytest.raises(TypeError, match="DispatchStarted"):
        report_key(started)
