"""Which borrower a status callback is about, from what its signed URL names and what the
directory knows; and what the Twilio adapters put in that URL for the gateway to route by."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.tasks import PlaceCall, SendSms, Task
from contracts.values import Channel, Purpose
from events.envelope import wrap
from events.records import Record
from events.topics import Topics
from services.channels.adapters import TwilioSms, TwilioVoice
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.engine import Dispatcher
from services.channels.ports import SENDING_FOR, SendResult
from services.gateway import InMemoryDirectory
from services.gateway.routing import Unrouted, route_receipt
from services.runtime.clock import SimClock
from tests.support.authorised import authorise

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
        ("nobody", "L1", "b-1"),  # the debt decides, whoever was contacted about it
        ("b-2", "", "b-2"),  # no debt named, one borrower: routed as before
        ("b-1", "", Unrouted.AMBIGUOUS),  # no debt named, two borrowers: not guessed
        ("b-1", "L9", Unrouted.LOAN_NOT_READ_YET),  # a debt not on file: retried, not guessed
        ("b-2", "L9", Unrouted.LOAN_NOT_READ_YET),  # ... even for a party of one borrower
        ("nobody", "", Unrouted.UNKNOWN),
    ],
)
def test_a_debt_names_one_borrower_where_the_party_alone_may_name_two(
    party: str, loan: str, expected: str | Unrouted
) -> None:
    assert route_receipt(co_signer(), party_id=party, loan_id=loan) == expected


@pytest.mark.parametrize(
    ("party", "loan", "expected"),
    [
        ("b-1", "L2", "b-2"),  # a debt read is final: no later record changes its borrower
        ("b-2", "L1", "b-1"),  # ... whether or not the party's link to it has been read
        ("b-2", "L9", Unrouted.NOT_READ_YET),  # the debt may be further on in the replay
        ("nobody", "", Unrouted.NOT_READ_YET),
        ("b-1", "", Unrouted.AMBIGUOUS),  # reading more only adds borrowers: no use retrying
    ],
)
def test_while_the_directory_replays_only_what_more_reading_could_change_waits(
    party: str, loan: str, expected: str | Unrouted
) -> None:
    assert route_receipt(co_signer(ready=False), party_id=party, loan_id=loan) == expected


def guarantor_on_a_debt_not_read_yet(*, ready: bool = True) -> InMemoryDirectory:
    """g-1 is known on borrower A's loan LA; B's loan LB is known, but the link putting g-1 on LB
    has not been read yet (the follower's live lag)."""
    directory = InMemoryDirectory(ready=ready)
    directory.add("A", "A", loans=["LA"])
    directory.add("A", "g-1", [PHONE], loans=["LA"])
    directory.add("B", "B", loans=["LB"])
    return directory


@pytest.mark.parametrize("ready", [True, False])
def test_a_debt_already_read_names_its_borrower_though_the_partys_link_to_it_is_not(
    ready: bool,
) -> None:
    """Reviewer's first case: the party alone says A, the debt says B. Falling back to the
    party filed B's receipt in A's stream, where it is ignored, and lost it for B."""
    directory = guarantor_on_a_debt_not_read_yet(ready=ready)

    assert route_receipt(directory, party_id="g-1", loan_id="LB") == "B"


def test_a_debt_settles_a_party_of_several_borrowers_even_where_the_party_is_not_linked() -> None:
    """Reviewer's second case: a desk asks to contact g-1 about LA2, another of A's loans, and
    g-1 is also on C's debt LC. The party names A and C; the debt names A alone."""
    directory = InMemoryDirectory()
    directory.add("A", "A", loans=["LA", "LA2"])
    directory.add("A", "g-1", [PHONE], loans=["LA"])
    directory.add("C", "C", loans=["LC"])
    directory.add("C", "g-1", [PHONE], loans=["LC"])

    assert route_receipt(directory, party_id="g-1", loan_id="LA2") == "A"


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        (False, Unrouted.NOT_READ_YET),  # still replaying: the debt may be further on
        (True, Unrouted.LOAN_NOT_READ_YET),  # caught up: still maybe live lag, so retry too
    ],
)
def test_a_debt_not_on_file_is_never_settled_by_the_party(ready: bool, expected: Unrouted) -> None:
    """g-1 names one borrower (A), but the URL names a debt the directory has not read: A is
    only a guess, so the vendor is asked to retry instead."""
    directory = guarantor_on_a_debt_not_read_yet(ready=ready)

    assert route_receipt(directory, party_id="g-1", loan_id="LZ") is expected


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


def _vendor(adapter_type: type[TwilioSms] | type[TwilioVoice]) -> TwilioSms | TwilioVoice:
    return adapter_type(
        base_url="http://vendor.test",
        account_sid="AC1",
        auth_token="t",
        from_number="+15005550006",
        callback_base_url="https://gateway.example/",
    )


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
    url = urlsplit(_vendor(adapter_type).status_callback(task))

    assert (url.netloc, url.path) == ("gateway.example", "/webhooks/twilio/status")
    assert parse_qs(url.query) == {"attempt": ["att-1"], "party": ["g-9"], "loan": ["L2"]}


class _Witness(FakeChannelAdapter):
    """Records, for each attempt it sends, the borrower the dispatcher was sending for."""

    def __init__(self) -> None:
        super().__init__()
        self.sending_for: dict[str, str | None] = {}

    async def send(self, task: Task) -> SendResult:
        await asyncio.sleep(0)  # let the other borrower's send interleave
        self.sending_for[task.attempt_id] = SENDING_FOR.get()
        return await super().send(task)


async def test_each_send_knows_the_borrower_it_is_for_so_the_callback_url_names_it() -> None:
    """Receipts are filed under the borrower the task was sent for, without a lookup: a debt
    whose upstream records are older than the topic's retention is not in the directory after
    a restart. Two borrowers' sends in one batch each see their own."""
    witness = _Witness()
    d = Dispatcher(Topics("unit"), {Channel.SMS: witness}, SimClock(NOW))
    d.assign(0)
    tasks = {
        "b-1": SendSms.model_validate({**_common(), "attempt_id": "att-1", "body": "Due."}),
        "b-2": SendSms.model_validate({**_common(), "attempt_id": "att-2", "body": "Due."}),
    }
    records = [
        Record(
            Topics("unit").tasks[0],
            0,
            offset,
            borrower.encode(),
            wrap(task, borrower_id=borrower, occurred_at=NOW, producer="t")
            .model_dump_json()
            .encode(),
        )
        for offset, (borrower, task) in enumerate(tasks.items())
    ]

    for borrower, task in tasks.items():
        authorise(d, task, borrower_id=borrower)

    async def publish(_: object) -> None:
        return None

    await d.dispatch(records, publish)
    token = SENDING_FOR.set("b-1")
    try:
        url = _vendor(TwilioSms).status_callback(tasks["b-1"])
    finally:
        SENDING_FOR.reset(token)

    assert witness.sending_for == {"att-1": "b-1", "att-2": "b-2"}
    assert SENDING_FOR.get() is None  # nothing leaks out of a send
    assert parse_qs(urlsplit(url).query)["borrower"] == ["b-1"]
