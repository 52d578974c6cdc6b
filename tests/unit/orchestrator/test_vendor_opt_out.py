"""A text the vendor refused because the person opted out with it (TC-2).

A person who texts STOP to our number is blocked from it by the vendor (Twilio answers 21610
until they text START), whether or not the STOP's webhook reached us, or reached a borrower's
file with that number. The refusal is the opt-out as Parley learns of it: kept with the number,
and revoking texts to it for everyone on file with it. Pure core, one entry at a time."""

from __future__ import annotations

from datetime import timedelta

from contracts import (
    ConsentGranted,
    ConsentRevoked,
    ContactDecided,
    ContactOutcomeRecorded,
    NumberOptedOut,
    SendSms,
)
from contracts.outcomes import OutcomeKind
from contracts.strategy import Segment
from contracts.values import Channel, Purpose
from services.orchestrator.core.state import Attempt, BorrowerState
from services.strategy.core.playbook import Segmentation
from services.strategy.core.segments import classify
from tests.unit.orchestrator.builders import MOBILE, NOON_NY, B, stop
from tests.unit.orchestrator.entries import BEFORE, ann, carl_at, revocations, step, text, verdict

REFUSED_AT = NOON_NY + timedelta(minutes=1)


def refused(
    attempt_id: str, outcome: OutcomeKind = OutcomeKind.OPTED_OUT
) -> ContactOutcomeRecorded:
    return ContactOutcomeRecorded(
        attempt_id=attempt_id,
        channel=Channel.SMS,
        outcome=outcome,
        vendor="twilio",
        reported_at=REFUSED_AT,
        detail="http_400 code=21610",
    )


def texted(state: BorrowerState, request_id: str) -> str:
    """The attempt id of the desk's text to Ann's mobile, authorised at noon."""
    [decided] = [
        m
        for m in step(state, text(B, MOBILE, request_id), NOON_NY)
        if isinstance(m, ContactDecided)
    ]
    assert decided.verdict.value == "authorised"
    return decided.attempt_id


def test_a_text_refused_for_an_opt_out_revokes_texts_to_that_number_from_the_refusal() -> None:
    state = ann(MOBILE)
    attempt = texted(state, "desk-1")

    derived = step(state, refused(attempt), REFUSED_AT)

    assert derived == [
        NumberOptedOut(number=MOBILE, channel=Channel.SMS, received_at=REFUSED_AT),
        ConsentRevoked(
            party_id=B,
            channel=Channel.SMS,
            address=MOBILE,
            received_at=REFUSED_AT,
            effective_at=REFUSED_AT,
        ),
    ]  # and no confirmation text (TC-4): the vendor confirmed the STOP, and refuses ours
    assert verdict(step(state, text(B, MOBILE, "desk-2"), NOON_NY + timedelta(hours=1))) == (
        "suppressed"
    )


def test_everyone_on_file_with_the_number_is_revoked() -> None:
    """A household phone: who texted STOP to the vendor is unknown, and revocation wins (P6)."""
    state = ann(MOBILE)
    step(state, ConsentGranted(party_id="c1", channel=Channel.SMS, received_at=BEFORE), BEFORE)
    link = carl_at(MOBILE)
    step(state, link, BEFORE)
    attempt = texted(state, "desk-1")

    derived = step(state, refused(attempt), REFUSED_AT)

    assert sorted(r.party_id for r in revocations(derived)) == [B, "c1"]


def test_a_person_linked_later_at_the_refused_number_is_not_texted_there() -> None:
    state = ann(MOBILE)
    step(state, refused(texted(state, "desk-1")), REFUSED_AT)
    step(state, ConsentGranted(party_id="c1", channel=Channel.SMS, received_at=BEFORE), NOON_NY)
    link = carl_at(MOBILE)

    linked = step(state, link, NOON_NY + timedelta(minutes=5))

    assert [(r.party_id, r.address, r.received_at) for r in revocations(linked)] == [
        ("c1", MOBILE, REFUSED_AT)
    ]


def test_a_refused_confirmation_of_a_stop_already_applied_revokes_nothing_again() -> None:
    """The STOP reached us too: its confirmation (TC-4) is refused by the vendor, which has
    confirmed it itself. The revocation stands already; the number's opt-out is kept again."""
    state = ann(MOBILE)
    replied = step(state, stop(MOBILE, "SM-1"), NOON_NY)
    [confirmation] = [m for m in replied if isinstance(m, SendSms)]
    assert confirmation.purpose is Purpose.OPT_OUT_CONFIRMATION

    derived = step(state, refused(confirmation.attempt_id), REFUSED_AT)

    assert derived == [NumberOptedOut(number=MOBILE, channel=Channel.SMS, received_at=REFUSED_AT)]


def test_a_refusal_after_consent_given_again_for_one_purpose_revokes_texts_again() -> None:
    """Ann said STOP, then agreed to collection texts at her mobile again; the vendor refusing
    one is her latest word, and outranks that grant (a text through another vendor, which
    does not block her, must not follow)."""
    state = ann(MOBILE)
    step(state, stop(MOBILE, "SM-1"), NOON_NY - timedelta(hours=2))
    regrant = ConsentGranted(
        party_id=B,
        channel=Channel.SMS,
        address=MOBILE,
        purpose=Purpose.COLLECTION,
        received_at=NOON_NY - timedelta(hours=1),
    )
    step(state, regrant, NOON_NY - timedelta(hours=1))
    attempt = texted(state, "desk-1")

    assert revocations(step(state, refused(attempt), REFUSED_AT))
    assert verdict(step(state, text(B, MOBILE, "desk-2"), NOON_NY + timedelta(hours=1))) == (
        "suppressed"
    )


def test_a_refusal_for_any_other_reason_revokes_nothing() -> None:
    state = ann(MOBILE)
    attempt = texted(state, "desk-1")

    assert step(state, refused(attempt, OutcomeKind.FAILED), REFUSED_AT) == []
    assert verdict(step(state, text(B, MOBILE, "desk-2"), NOON_NY + timedelta(hours=1))) == (
        "authorised"
    )


def _attempts(*outcomes: OutcomeKind) -> BorrowerState:
    state = BorrowerState(B)
    for n, outcome in enumerate(outcomes):
        state.attempts[f"a{n}"] = Attempt(
            attempt_id=f"a{n}",
            party_id=B,
            loan_id="L1",
            channel=Channel.SMS,
            to=MOBILE,
            purpose=Purpose.COLLECTION,
            at=NOON_NY + timedelta(hours=n),
            outcome=outcome,
        )
    return state


def test_a_refused_text_ends_a_run_of_attempts_that_did_not_reach_the_borrower() -> None:
    """They texted STOP to that number: they have it and read it. Counted as not reached, it
    would make them unreachable, and unreachable lets contact persons be asked (CN-3)."""
    rules = Segmentation(unreachable_after=3)
    undelivered = OutcomeKind.UNDELIVERED

    assert classify(_attempts(undelivered, undelivered, undelivered), rules)[0] is (
        Segment.UNREACHABLE
    )
    assert classify(_attempts(undelivered, undelivered, OutcomeKind.OPTED_OUT), rules)[0] is (
        Segment.COOPERATIVE
    )
