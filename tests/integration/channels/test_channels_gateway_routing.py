"""Receipts for a person who is a party on two borrowers' debts (a guarantor of two loans, a
borrower who co-signs someone else's) go to the borrower whose debt the contact was about.

The adapters name the debt in the status-callback URL (``loan``), the vendor signs the whole URL,
and the gateway routes by the debt, which has one borrower where the party alone may name two. A
debt the directory has not read is answered "retry later", never settled by the party. Only a
callback without a debt (a message sent before adapters named it) is routed by the party, and
only when the party names a single borrower: a guess would bury the receipt in the wrong
borrower's history."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from contracts.outcomes import ContactOutcomeRecorded
from services.gateway import InMemoryDirectory
from services.gateway.signing import compute_signature
from tests.integration.channels.channels_support import (
    GATEWAY_BASE,
    GATEWAY_TOKEN,
    PHONE,
    ListSink,
    RecordingSleep,
    gateway_serving,
    post_signed,
    running_simulator,
    sms,
    status_path,
    twilio_sms,
)
from tests.integration.channels.channels_support import gateway_over as gateway

GUARANTOR = "party-g"


async def status_of(client: httpx.AsyncClient, path: str, form: dict[str, str]) -> int:
    return (await post_signed(client, path, form)).status_code


def routed(sink: ListSink) -> list[tuple[str, str]]:
    """(attempt id, borrower id) of every receipt emitted, in order."""
    return [(m.attempt_id, b) for m, b in sink.emitted if isinstance(m, ContactOutcomeRecorded)]


def delivered(sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC1"}


def guarantor_of_two_borrowers(*, ready: bool = True) -> InMemoryDirectory:
    """party-g guarantees borrower-1's loan-1 and borrower-2's loan-2, linked in that order."""
    directory = InMemoryDirectory(ready=ready)
    directory.add("borrower-1", GUARANTOR, [PHONE], loans=["loan-1"])
    directory.add("borrower-2", GUARANTOR, [PHONE], loans=["loan-2"])
    return directory


async def test_receipts_for_a_guarantor_of_two_borrowers_follow_the_debt_in_the_url() -> None:
    """The party names two borrowers; the debt in the signed URL names one, for each receipt."""
    first = status_path(attempt="att-1", party=GUARANTOR, loan="loan-1")
    second = status_path(attempt="att-2", party=GUARANTOR, loan="loan-2")
    async with gateway(guarantor_of_two_borrowers()) as (client, sink):
        one = await status_of(client, first, delivered("SM1"))
        two = await status_of(client, second, delivered("SM2"))

    assert one == two == 204
    assert routed(sink) == [("att-1", "borrower-1"), ("att-2", "borrower-2")]


async def test_texts_to_a_guarantor_about_two_debts_report_to_their_own_borrowers() -> None:
    """Adapter -> simulator -> gateway over real HTTP: the adapter puts the debt in the
    status-callback URL, the simulator posts to that URL with its query and signs all of it, as
    Twilio does, and each receipt lands on the borrower whose debt the text was about."""
    async with (
        gateway_serving(guarantor_of_two_borrowers()) as (gateway_url, sink),
        running_simulator() as (sim, sim_url),
    ):
        adapter = twilio_sms(sim_url, RecordingSleep(), callback_base_url=gateway_url)
        # ":" travels percent-encoded (%3A): the signature must cover the URL exactly as sent.
        await adapter.send(sms("att:g1", party_id=GUARANTOR, loan_id="loan-1"))
        await adapter.send(sms("att-g2", party_id=GUARANTOR, loan_id="loan-2"))
        await sim.drain()
        await adapter.aclose()

    assert set(routed(sink)) == {("att:g1", "borrower-1"), ("att-g2", "borrower-2")}
    assert len(sink.emitted) == 4  # sent and delivered for each: none dropped, none refused


async def test_a_debt_in_the_callback_url_cannot_be_swapped_without_the_vendors_token() -> None:
    """The query is part of what the vendor signs: moving a receipt to another debt is a 401."""
    signed_for = status_path(attempt="att-1", party=GUARANTOR, loan="loan-1")
    posted_to = status_path(attempt="att-1", party=GUARANTOR, loan="loan-2")
    form = delivered("SM1")
    signature = compute_signature(GATEWAY_BASE + signed_for, list(form.items()), GATEWAY_TOKEN)
    async with gateway(guarantor_of_two_borrowers()) as (client, sink):
        response = await client.post(
            posted_to, data=form, headers={"X-Twilio-Signature": signature}
        )

    assert response.status_code == 401
    assert sink.emitted == []


async def test_receipt_naming_its_borrower_needs_no_directory_even_while_it_replays() -> None:
    """A sender that knows the borrower names it (``borrower``): the receipt is routed there at
    once, with nothing to look up and nothing to wait for."""
    path = status_path(attempt="att-5", party="party-5", loan="loan-5", borrower="borrower-5")
    async with gateway(InMemoryDirectory(ready=False)) as (client, sink):
        response = await status_of(client, path, delivered("SM5"))

    assert response == 204
    assert [b for _, b in sink.emitted] == ["borrower-5"]


async def test_receipt_for_a_debt_not_read_yet_waits_even_if_the_party_is_known() -> None:
    """While the directory replays, the guarantor's link to borrower-1's debt is read but not
    yet the one to borrower-2's: a receipt about loan-2 is refused retryably, not routed to
    borrower-1; its redelivery after catch-up goes to borrower-2."""
    directory = InMemoryDirectory(ready=False)
    directory.add("borrower-1", GUARANTOR, [PHONE], loans=["loan-1"])
    path = status_path(attempt="att-2", party=GUARANTOR, loan="loan-2")
    async with gateway(directory) as (client, sink):
        early = await status_of(client, path, delivered("SM2"))
        directory.add("borrower-2", GUARANTOR, [PHONE], loans=["loan-2"])
        directory.mark_ready()
        redelivered = await status_of(client, path, delivered("SM2"))

    assert (early, redelivered) == (503, 204)
    assert [b for _, b in sink.emitted] == ["borrower-2"]


async def test_receipt_about_a_debt_goes_to_its_borrower_though_the_link_is_not_read() -> None:
    """The guarantor is known on borrower-1's loan-1 only; borrower-2's loan-2 is known, but the
    link putting the guarantor on it is not read yet (live lag). The receipt about loan-2 is
    borrower-2's, not borrower-1's (the party's only borrower so far)."""
    directory = InMemoryDirectory()
    directory.add("borrower-1", GUARANTOR, [PHONE], loans=["loan-1"])
    directory.add("borrower-2", "borrower-2", loans=["loan-2"])
    path = status_path(attempt="att-2", party=GUARANTOR, loan="loan-2")
    async with gateway(directory) as (client, sink):
        response = await status_of(client, path, delivered("SM2"))

    assert response == 204
    assert routed(sink) == [("att-2", "borrower-2")]


async def test_receipt_about_a_debt_not_read_after_catch_up_is_retried_not_guessed() -> None:
    """Caught up, yet the debt in the URL is not on file (a record published since, not read
    yet): 503 + Retry-After, nothing emitted, a warning saying why; not the party's only borrower
    so far. The redelivery, once the follower has read the debt, goes to its borrower."""
    directory = InMemoryDirectory()
    directory.add("borrower-1", GUARANTOR, [PHONE], loans=["loan-1"])
    path = status_path(attempt="att-2", party=GUARANTOR, loan="loan-2")
    async with gateway(directory) as (client, sink):
        with capture_logs() as logs:
            early = await post_signed(client, path, delivered("SM2"))
        assert sink.emitted == []
        directory.add("borrower-2", GUARANTOR, [PHONE], loans=["loan-2"])
        redelivered = await status_of(client, path, delivered("SM2"))

    assert early.status_code == 503
    assert int(early.headers["retry-after"]) > 0
    expected = {
        "event": "gateway.receipt_loan_not_read",
        "log_level": "warning",
        "attempt_id": "att-2",
        "loan_id": "loan-2",
        "reason": "loan_not_read_yet",
    }
    assert expected.items() <= logs[-1].items()
    assert redelivered == 204
    assert routed(sink) == [("att-2", "borrower-2")]


async def test_receipt_for_a_debt_already_read_is_routed_before_catch_up() -> None:
    """A debt names one borrower for good, so a debt already read is not kept waiting for the
    rest of the replay."""
    directory = InMemoryDirectory(ready=False)
    directory.add("borrower-1", GUARANTOR, [PHONE], loans=["loan-1"])
    path = status_path(attempt="att-1", party=GUARANTOR, loan="loan-1")
    async with gateway(directory) as (client, sink):
        response = await status_of(client, path, delivered("SM1"))

    assert response == 204
    assert [b for _, b in sink.emitted] == ["borrower-1"]


async def test_receipt_without_a_debt_for_a_party_of_two_borrowers_is_not_guessed() -> None:
    """An older callback URL names only the party, and the party names two borrowers: 202 and a
    warning saying why, rather than an outcome on a borrower who may not own the attempt."""
    path = status_path(attempt="att-old", party=GUARANTOR)
    async with gateway(guarantor_of_two_borrowers()) as (client, sink):
        with capture_logs() as logs:
            response = await status_of(client, path, delivered("SMold"))

    assert response == 202
    assert sink.emitted == []
    expected = {"event": "gateway.unrouted_receipt", "attempt_id": "att-old", "reason": "ambiguous"}
    assert expected.items() <= logs[-1].items()


async def test_receipt_without_a_debt_for_a_party_of_one_borrower_is_still_routed() -> None:
    """Callbacks for messages sent before adapters named the debt keep working."""
    directory = InMemoryDirectory()
    directory.add("borrower-1", "party-1", [PHONE])
    async with gateway(directory) as (client, sink):
        response = await status_of(
            client, status_path(attempt="att-1", party="party-1"), delivered("SM1")
        )

    assert response == 204
    assert [b for _, b in sink.emitted] == ["borrower-1"]
