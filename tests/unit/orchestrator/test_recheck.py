"""P6 at dispatch time: an authorised task is checked again against what is known when it is
about to go, and reads the consent ledger exactly as the gate does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.values import Channel, Email, PartyRole, Phone, PhoneType, Purpose
from services.compliance.core.model import ConsentRecord
from services.orchestrator.core.recheck import revoked_since
from services.orchestrator.core.state import BorrowerState, DisputeStatus, Loan, Party

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
MOBILE = "+12125550147"
OTHER = "+12125550199"
EMAIL = "pat@example.com"
# The person's own numbers and mailbox (P1-DEST): what the tasks here go to.
ON_FILE: dict[str, object] = {
    "phones": (
        Phone(number=MOBILE, type=PhoneType.MOBILE),
        Phone(number=OTHER, type=PhoneType.HOME),
    ),
    "emails": (Email(address=EMAIL),),
}


def _record(
    channel: Channel,
    address: str | None,
    granted: bool,
    days_ago: int,
    purpose: Purpose | None = None,
) -> ConsentRecord:
    at = NOW - timedelta(days=days_ago)
    return ConsentRecord(channel, address, purpose, granted, at, at, at)


def _state(*consents: ConsentRecord) -> BorrowerState:
    state = BorrowerState("b1")
    state.parties["b1"] = Party(
        "b1",
        PartyRole.BORROWER,
        consents=list(consents),
        **ON_FILE,  # type: ignore[arg-type]
    )
    state.loans["L1"] = Loan("L1")
    return state


def _recheck(state: BorrowerState, channel: Channel, to: str, purpose: Purpose) -> str | None:
    return revoked_since(state, "b1", "L1", channel, to, purpose, NOW)


def test_a_later_grant_at_the_same_scope_lets_the_task_go() -> None:
    state = _state(
        _record(Channel.SMS, MOBILE, False, days_ago=2),
        _record(Channel.SMS, MOBILE, True, days_ago=1),
    )

    assert _recheck(state, Channel.SMS, MOBILE, Purpose.COLLECTION) is None


def test_a_wider_grant_does_not_undo_a_stop_from_the_number() -> None:
    """As the gate reads it: a medium-wide grant for one purpose, given after a STOP from one
    number, leaves the STOP standing (the latest record alone would have let the task go)."""
    state = _state(
        _record(Channel.SMS, MOBILE, False, days_ago=2),
        _record(Channel.SMS, None, True, days_ago=1, purpose=Purpose.COLLECTION),
    )

    assert _recheck(state, Channel.SMS, MOBILE, Purpose.COLLECTION) == "consent:revoked"


def test_an_email_opt_out_stops_the_task_whatever_the_case_of_the_address() -> None:
    state = _state(_record(Channel.EMAIL, "Pat@Example.com", False, days_ago=1))

    assert (
        _recheck(state, Channel.EMAIL, "pat@example.com", Purpose.COLLECTION) == "consent:revoked"
    )


def test_a_dispute_holds_everything_but_the_dispute_response() -> None:
    state = _state()
    state.loans["L1"].disputes["D1"] = DisputeStatus(True, NOW)

    assert _recheck(state, Channel.SMS, MOBILE, Purpose.COLLECTION) == "hold:dispute"
    assert _recheck(state, Channel.SMS, MOBILE, Purpose.DISPUTE_RESPONSE) is None


def test_only_a_text_confirming_an_opt_out_goes_after_it() -> None:
    """TC-4: the one confirmation is a text to the number that opted out; a call or an email
    for that purpose after an opt-out from that medium is stopped like any other."""
    email = "pat@example.com"
    state = _state(
        _record(Channel.SMS, MOBILE, False, days_ago=0),
        _record(Channel.CALL, MOBILE, False, days_ago=0),
        _record(Channel.EMAIL, email, False, days_ago=0),
    )

    assert _recheck(state, Channel.SMS, MOBILE, Purpose.OPT_OUT_CONFIRMATION) is None
    assert _recheck(state, Channel.CALL, MOBILE, Purpose.OPT_OUT_CONFIRMATION) == "consent:revoked"
    assert _recheck(state, Channel.EMAIL, email, Purpose.OPT_OUT_CONFIRMATION) == "consent:revoked"


def _inquiry_to_a_contact(**borrower: object) -> BorrowerState:
    state = BorrowerState("b1")
    state.parties["b1"] = Party("b1", PartyRole.BORROWER, **borrower)  # type: ignore[arg-type]
    state.parties["c1"] = Party(
        "c1",
        PartyRole.CONTACT_PERSON,
        loans={"L1"},
        **ON_FILE,  # type: ignore[arg-type]
    )
    state.loans["L1"] = Loan("L1")
    return state


@pytest.mark.parametrize(
    ("borrower", "reason"),
    [
        ({"attorney_loans": {"L1"}}, "hold:borrower"),
        ({"cease_loans": {"L1"}}, "hold:borrower"),
        ({"cease_all": True}, "hold:borrower"),
        ({"bankrupt": True}, "hold:borrower"),
        ({"deceased": True}, "hold:borrower"),
        ({"attorney_loans": {"L2"}}, None),  # represented on another debt only
        ({}, None),
    ],
)
def test_a_location_inquiry_is_held_by_the_borrowers_hold(
    borrower: dict[str, object], reason: str | None
) -> None:
    """1692b(6): once the borrower is known to be represented (or has asked to cease, is
    bankrupt or deceased) nobody is asked where they are; the gate, which holds only the person
    asked, authorised the inquiry before that was known."""
    state = _inquiry_to_a_contact(**borrower)

    got = revoked_since(state, "c1", "L1", Channel.CALL, MOBILE, Purpose.LOCATION_INQUIRY, NOW)

    assert got == reason


def test_a_location_inquiry_to_a_person_who_refused_is_held() -> None:
    state = _inquiry_to_a_contact()
    state.parties["c1"].third_party_refused = True

    got = revoked_since(state, "c1", "L1", Channel.CALL, MOBILE, Purpose.LOCATION_INQUIRY, NOW)

    assert got == "hold:third_party_refused"


def test_a_revocation_already_read_binds_even_stamped_ahead_of_the_workers_clock() -> None:
    """The orchestrator's clock may run a few minutes ahead of the worker's (host skew, or
    future-dated input it accepts): a STOP it has processed, and the worker has read, stands."""
    ahead = NOW + timedelta(minutes=3)
    state = _state(
        _record(Channel.SMS, MOBILE, True, days_ago=5),
        ConsentRecord(Channel.SMS, MOBILE, None, False, ahead, ahead, ahead),
    )

    assert _recheck(state, Channel.SMS, MOBILE, Purpose.COLLECTION) == "consent:revoked"


# -- TC-5: a revocation on another channel the task names ------------------------------------


def _call(state: BorrowerState, revoked_with: tuple[Channel, ...]) -> str | None:
    """A collection call to MOBILE, its task naming ``revoked_with`` (decide.revoked_with)."""
    return revoked_since(
        state, "b1", "L1", Channel.CALL, MOBILE, Purpose.COLLECTION, NOW, revoked_with=revoked_with
    )


def test_a_stop_to_a_text_cancels_a_call_whose_task_names_texts() -> None:
    """Under TC-5 a STOP to a text stops the calls to that number too: the call's task, written
    under a policy that binds it, names sms, and the re-check cancels it."""
    state = _state(
        _record(Channel.CALL, MOBILE, True, days_ago=3),
        _record(Channel.SMS, MOBILE, False, days_ago=0),
    )

    assert _call(state, (Channel.SMS,)) == "consent:revoked"


def test_a_call_whose_task_names_no_other_channel_is_not_stopped_by_a_stop_to_a_text() -> None:
    """Authorised before TC-5 binds (or under a policy without it), the task names nothing: the
    worker, which reads no policy, lets the call go, as the gate that authorised it did."""
    state = _state(
        _record(Channel.CALL, MOBILE, True, days_ago=3),
        _record(Channel.SMS, MOBILE, False, days_ago=0),
    )

    assert _call(state, ()) is None


def test_a_stop_from_another_number_does_not_cancel_the_call() -> None:
    state = _state(
        _record(Channel.CALL, MOBILE, True, days_ago=3),
        _record(Channel.SMS, OTHER, False, days_ago=0),
    )

    assert _call(state, (Channel.SMS,)) is None


def test_a_stop_to_texts_at_every_number_cancels_the_call() -> None:
    """TC-5's scope is any: a revocation of texts to every number covers this one, as the gate
    reads it."""
    state = _state(
        _record(Channel.CALL, MOBILE, True, days_ago=3),
        _record(Channel.SMS, None, False, days_ago=0),
    )

    assert _call(state, (Channel.SMS,)) == "consent:revoked"


def test_texts_allowed_again_do_not_bring_back_the_calls_a_stop_ended() -> None:
    """Opting back into texts lifts the STOP for texts only: the calls it ended come back only
    with a later grant to call, as the gate reads TC-5."""
    stopped = (
        _record(Channel.CALL, MOBILE, True, days_ago=3),
        _record(Channel.SMS, MOBILE, False, days_ago=2),
    )
    texts_again = _state(*stopped, _record(Channel.SMS, MOBILE, True, days_ago=1))
    calls_again = _state(*stopped, _record(Channel.CALL, MOBILE, True, days_ago=1))

    assert _call(texts_again, (Channel.SMS,)) == "consent:revoked"
    assert _call(calls_again, (Channel.SMS,)) is None


def test_no_more_reminder_texts_cancels_a_collection_call() -> None:
    """TC-5 reaches unrelated matters: a revocation given for one kind of message, on either
    medium, stops every robocall to the number."""
    state = _state(
        _record(Channel.CALL, MOBILE, True, days_ago=3),
        _record(Channel.SMS, MOBILE, False, days_ago=0, purpose=Purpose.REMINDER),
    )

    assert _call(state, (Channel.SMS,)) == "consent:revoked"
    assert _call(state, ()) is None


def test_a_text_whose_task_names_calls_is_cancelled_by_stop_calling() -> None:
    """And the other way: "stop calling" that number stops a text waiting to go there."""
    state = _state(
        _record(Channel.SMS, MOBILE, True, days_ago=3),
        _record(Channel.CALL, MOBILE, False, days_ago=0),
    )

    got = revoked_since(
        state,
        "b1",
        "L1",
        Channel.SMS,
        MOBILE,
        Purpose.COLLECTION,
        NOW,
        revoked_with=(Channel.CALL,),
    )

    assert got == "consent:revoked"
    assert _recheck(state, Channel.SMS, MOBILE, Purpose.COLLECTION) is None


@pytest.mark.parametrize(
    ("channel", "to"),
    [(Channel.SMS, MOBILE), (Channel.CALL, OTHER), (Channel.EMAIL, EMAIL)],
)
def test_a_task_to_a_number_or_mailbox_dropped_from_the_profile_is_held(
    channel: Channel, to: str
) -> None:
    """P1-DEST at dispatch time: the profile dropped the number (reassigned) or mailbox after
    the decision; whoever has it now is not the person (session 14)."""
    state = _state()
    assert _recheck(state, channel, to, Purpose.COLLECTION) is None
    party = state.parties["b1"]
    party.phones, party.emails = (), ()

    assert _recheck(state, channel, to, Purpose.COLLECTION) == "hold:unknown_destination"
    # The one text confirming an opt-out is no exception: the number is no longer theirs.
    assert _recheck(state, channel, to, Purpose.OPT_OUT_CONFIRMATION) == "hold:unknown_destination"
