"""Which borrower a status callback is about, from what its signed URL names and what the
directory knows; and what the Twilio adapters put in that URL for the gateway to route by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.tasks import PlaceCall, SendSms
from contracts.values import Purpose
from services.channels.adapters import TwilioSms, TwilioVoice
from services.gateway import InMemoryDirectory
from services.gateway.routing import Unrouted, route_receipt

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
PHONE = "+14155550123"


def co_signer(*, ready: bool = True) -> InMemoryDirectory:
    """b-1 is a borrower on their own loan L1 and guarantees b-2's loan L2."""
    directory = InMemoryDirectory(ready=ready)
    directory.add("b-1", "b-1", [PHONE], loans=["L1"])
    directory.add("b-2", "b-1", [PHONE], loans=["L2"])
    directory.add("b-2", "b-2", loans=["L2"])
    return directory


@pytest.mark.parametrize(
    ("party", "loan", "expected"),
    [
        ("b-1", "L1", "b-1"),  # the co-signer texted about their own debt
        ("b-1", "L2", "b-2"),  # ... and about the debt they guarantee
        ("b-2", "L2", "b-2"),
        ("b-2", "", "b-2"),  # no debt named, one borrower: routed as before
        ("b-1", "", Unrouted.AMBIGUOUS),  # no debt named, two borrowers: not guessed
        ("b-1", "L9", Unrouted.AMBIGUOUS),  # a debt not on file cannot settle it either
        ("nobody", "L1", Unrouted.UNKNOWN),
        ("nobody", "", Unrouted.UNKNOWN),
    ],
)
def test_a_party_and_a_debt_name_one_borrower_where_the_party_alone_may_name_two(
    party: str, loan: str, expected: str | Unrouted
) -> None:
    assert route_receipt(co_signer(), party_id=party, loan_id=loan) == expected


@pytest.mark.parametrize(
    ("party", "loan", "expected"),
    [
        ("b-1", "L2", "b-2"),  # a pair read is final: no later record changes it
        ("b-2", "L1", Unrouted.NOT_READ_YET),  # the pair may be further on in the replay
        ("nobody", "", Unrouted.NOT_READ_YET),
        ("b-1", "", Unrouted.AMBIGUOUS),  # reading more only adds borrowers: no use retrying
    ],
)
def test_while_the_directory_replays_only_what_more_reading_could_change_waits(
    party: str, loan: str, expected: str | Unrouted
) -> None:
    assert route_receipt(co_signer(ready=False), party_id=party, loan_id=loan) == expected


def test_a_borrower_named_in_the_url_is_taken_as_is() -> None:
    """The sender knew the borrower and the vendor signed it: no lookup, no waiting."""
    empty = InMemoryDirectory(ready=False)

    assert route_receipt(empty, party_id="p", loan_id="L", borrower_id="b-7") == "b-7"


def _common() -> dict[str, object]:
    return {
        "attempt_id": "att-1",
        "party_id": "g-9",
        "loan_id": "L2",
        "purpose": Purpose.COLLECTION,
        "authorised_at": NOW,
        "not_after": NOW + timedelta(hours=1),
        "to": PHONE,
    }


@pytest.mark.parametrize(
    ("adapter_type", "task"),
    [
        (TwilioSms, SendSms.model_validate({**_common(), "body": "A payment is due."})),
        (TwilioVoice, PlaceCall.model_validate({**_common(), "voicemail": "Please call us."})),
    ],
)
def test_the_status_callback_url_names_attempt_party_and_debt_and_nothing_personal(
    adapter_type: type[TwilioSms] | type[TwilioVoice], task: SendSms | PlaceCall
) -> None:
    """What the gateway routes by travels in the URL the vendor signs; no number (P7)."""
    adapter = adapter_type(
        base_url="http://vendor.test",
        account_sid="AC1",
        auth_token="t",
        from_number="+15005550006",
        callback_base_url="https://gateway.example/",
    )

    url = urlsplit(adapter.status_callback(task))

    assert (url.netloc, url.path) == ("gateway.example", "/webhooks/twilio/status")
    assert parse_qs(url.query) == {"attempt": ["att-1"], "party": ["g-9"], "loan": ["L2"]}
