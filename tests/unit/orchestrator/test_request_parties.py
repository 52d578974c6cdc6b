"""A desk's contact request is checked against the debt it names before the gate sees it, as
the strategy's own intents are (ask._parties): a person is asked only about a debt they are
linked to, and a guarantor only where the contract allows contacting guarantors. A request
that fails either check is answered with a reason, never sent."""

from __future__ import annotations

from datetime import timedelta

from contracts import DisputeOpened, LoanOpened, RequestContact
from contracts.values import Channel, PartyRole, Purpose
from events.envelope import derive_id
from services.orchestrator.engine import Emitted
from tests.unit.orchestrator.builders import (
    CARL_PHONE,
    GUARANTOR,
    MOBILE,
    NOON_NY,
    OUTCOMES,
    B,
    borrower,
    channels,
    contact_person,
    decisions,
    dpd,
    guarantor_link,
    of_type,
    stop,
    usd,
    with_guarantor,
)


def _request(
    request_id: str,
    party: str,
    loan: str,
    to: str,
    purpose: Purpose = Purpose.COLLECTION,
) -> RequestContact:
    return RequestContact(
        request_id=request_id,
        party_id=party,
        loan_id=loan,
        channel=Channel.CALL,
        to=to,
        purpose=purpose,
        requested_by="desk",
    )


def _declined(out: Emitted, request_id: str) -> str:
    """The reason a request was declined: answered before the gate, nothing decided or sent,
    one drop naming the request and its attempt."""
    assert decisions(out) == []
    assert out.tasks == []
    [dropped] = of_type(out, "contact.intent_dropped")
    assert (dropped["attempt_id"], dropped["request_id"]) == (
        derive_id(B, "request", request_id),
        request_id,
    )
    return str(dropped["reason"])


def _second_loan(*, contact_allowed: bool = True) -> LoanOpened:
    return LoanOpened(
        loan_id="L2",
        product="p",
        principal=usd(300),
        guarantor_contact_allowed=contact_allowed,
        third_party_collector=False,
    )


def test_a_guarantor_is_not_asked_about_a_debt_they_did_not_guarantee() -> None:
    """A person linked to one of the borrower's loans is not liable for another: a request
    about a loan they are not linked to is declined before the gate, with the request named."""
    feed = with_guarantor()  # g1 guarantees L1 only
    feed.send(B, _second_loan(), NOON_NY - timedelta(hours=1))

    out = feed.send(B, _request("r1", "g1", "L2", GUARANTOR), NOON_NY)

    assert _declined(out, "r1") == "party_not_on_this_debt"


def test_a_contact_person_is_not_asked_about_a_debt_they_are_not_linked_to() -> None:
    """RF-13's location inquiry goes only to a contact person named for that debt."""
    feed = borrower()
    feed.send(B, _second_loan(), NOON_NY - timedelta(hours=1))
    feed.send(B, contact_person(), NOON_NY - timedelta(hours=1))

    out = feed.send(B, _request("r2", "c1", "L2", CARL_PHONE, Purpose.LOCATION_INQUIRY), NOON_NY)

    assert _declined(out, "r2") == "party_not_on_this_debt"


def test_a_guarantor_is_not_asked_where_the_contract_forbids_contacting_guarantors() -> None:
    """A loan whose contract does not allow guarantor contact: a request to its guarantor is
    declined before the gate, however willing the guarantor (consent on file)."""
    feed = with_guarantor(contact_allowed=False)

    out = feed.send(B, _request("r3", "g1", "L1", GUARANTOR), NOON_NY)

    assert _declined(out, "r3") == "guarantor_contact_not_allowed"


def test_a_request_to_the_borrower_about_their_own_loan_reaches_the_gate() -> None:
    """The borrower is on every loan of their own file, including one opened later."""
    feed = borrower()
    feed.send(B, _second_loan(contact_allowed=False), NOON_NY - timedelta(hours=1))

    out = feed.send(B, _request("r4", B, "L2", MOBILE), NOON_NY)

    assert of_type(out, "contact.intent_dropped") == []
    assert [(d["party_id"], d["loan_id"], d["verdict"]) for d in decisions(out)] == [
        (B, "L2", "authorised")
    ]
    assert channels(out) == [Channel.CALL]


def test_a_request_to_a_linked_guarantor_the_contract_allows_reaches_the_gate() -> None:
    """A guarantor of this loan, whose contract allows guarantor contact, is for the gate."""
    feed = with_guarantor()

    out = feed.send(B, _request("r5", "g1", "L1", GUARANTOR), NOON_NY)

    assert of_type(out, "contact.intent_dropped") == []
    assert [(d["party_id"], d["loan_id"], d["verdict"]) for d in decisions(out)] == [
        ("g1", "L1", "authorised")
    ]
    assert channels(out) == [Channel.CALL]


def test_a_location_inquiry_to_a_contact_person_of_the_loan_reaches_the_gate() -> None:
    """RF-13 unchanged: a contact person linked to the loan may be asked where the borrower
    is, whether or not the contract allows contacting guarantors."""
    feed = borrower()
    feed.send(B, dpd(20, NOON_NY.date()), NOON_NY - timedelta(hours=1))
    feed.send(B, contact_person(), NOON_NY - timedelta(hours=1))

    out = feed.send(B, _request("r6", "c1", "L1", CARL_PHONE, Purpose.LOCATION_INQUIRY), NOON_NY)

    assert of_type(out, "contact.intent_dropped") == []
    [decided] = decisions(out)
    assert (decided["party_id"], decided["purpose"]) == ("c1", "location_inquiry")


def test_a_guarantor_of_one_debt_is_only_a_contact_person_for_another() -> None:
    """Roles are per debt: g1 guarantees L1 and is named only as a contact person for L2, so
    about L2 they may only be asked where the borrower is (RF-13), never told of the debt."""
    feed = with_guarantor()
    feed.send(B, _second_loan(), NOON_NY - timedelta(hours=1))
    contact = guarantor_link("L2", PartyRole.CONTACT_PERSON)
    feed.send(B, contact, NOON_NY - timedelta(hours=1))

    about_l1 = feed.send(B, _request("r7", "g1", "L1", GUARANTOR), NOON_NY)
    about_l2 = feed.send(B, _request("r8", "g1", "L2", GUARANTOR), NOON_NY)

    assert [d["verdict"] for d in decisions(about_l1)] == ["authorised"]
    assert decisions(about_l2) == []
    assert [d["reason"] for d in of_type(about_l2, "contact.intent_dropped")] == [
        "third_party_location_inquiry_only"
    ]
    state = feed.state(B)
    assert state.party_facts(state.parties["g1"], "L2").role is PartyRole.CONTACT_PERSON
    assert state.party_facts(state.parties["g1"], "L1").role is PartyRole.GUARANTOR


def test_a_stop_from_someone_with_two_roles_is_confirmed_about_the_debt_they_are_liable_on() -> (
    None
):
    """TC-4: g1 guarantees L2 and is only a contact person for L1. Their STOP is confirmed
    about L2: about L1 they may only be asked where the borrower is (RF-13), which would
    refuse the confirmation, whichever way the loan ids sort."""
    feed = borrower()  # the borrower's own loan is L1
    feed.send(B, _second_loan(), NOON_NY - timedelta(hours=2))
    feed.send(B, guarantor_link("L2"), NOON_NY - timedelta(hours=1))
    feed.send(B, guarantor_link("L1", PartyRole.CONTACT_PERSON), NOON_NY - timedelta(hours=1))

    out = feed.send(B, stop(GUARANTOR, "SM9"), NOON_NY, topic=OUTCOMES)

    confirmations = [d for d in decisions(out) if d["purpose"] == "opt_out_confirmation"]
    assert [(d["loan_id"], d["verdict"]) for d in confirmations] == [("L2", "authorised")]


def test_a_stop_is_confirmed_about_a_debt_no_hold_of_its_own_bars() -> None:
    """TC-4: the borrower disputes L1 and owes L2 too. Their STOP is confirmed about L2: a
    confirmation about the disputed L1 would be refused (only the dispute response passes)."""
    feed = borrower()
    feed.send(B, _second_loan(), NOON_NY - timedelta(hours=2))
    feed.send(B, DisputeOpened(loan_id="L1"), NOON_NY - timedelta(hours=1))
    out = feed.send(B, stop(MOBILE, "SM10"), NOON_NY, topic=OUTCOMES)

    confirmations = [d for d in decisions(out) if d["purpose"] == "opt_out_confirmation"]
    assert [(d["loan_id"], d["verdict"]) for d in confirmations] == [("L2", "authorised")]
