"""An opt-out belongs to the number it came from (TC-2): kept with it, it revokes the number for
whoever a later profile or link gives it to.

The gateway routes a reply by a directory that follows the upstream topic, so a STOP can reach
the orchestrator before the profile that gives the number to the borrower; and a household
phone that said STOP can be linked to a contact person later. Pure core, as the engine folds
it: the input is evolved into the state, decided on with the clock, and each derived event
evolved in turn."""

from __future__ import annotations

from datetime import timedelta

from contracts import ConsentGranted, ConsentRevoked, NumberOptedOut
from contracts.values import Channel
from tests.unit.orchestrator.builders import MOBILE, NOON_NY, B, stop
from tests.unit.orchestrator.entries import (
    BEFORE,
    ann,
    carl_at,
    profile,
    revocations,
    step,
    text,
    verdict,
)

NEW = "+15185550188"  # the borrower's new mobile (Albany), not on file when it says STOP


def test_a_stop_from_a_number_not_on_file_is_kept_with_the_number() -> None:
    state = ann(MOBILE)

    derived = step(state, stop(NEW, "SM-new-1"), NOON_NY)

    assert derived == [
        NumberOptedOut(number=NEW, channel=Channel.SMS, received_at=NOON_NY, words="STOP")
    ]


def test_the_profile_that_gives_the_number_revokes_it_from_when_the_stop_was_received() -> None:
    state = ann(MOBILE)
    step(state, stop(NEW, "SM-new-1"), NOON_NY)

    derived = step(state, profile(MOBILE, NEW), NOON_NY + timedelta(minutes=1))

    assert revocations(derived) == [
        ConsentRevoked(
            party_id=B,
            channel=Channel.SMS,
            address=NEW,
            received_at=NOON_NY,
            effective_at=NOON_NY,
            words="STOP",
        )
    ]
    assert verdict(step(state, text(B, NEW, "desk-1"), NOON_NY + timedelta(hours=1))) == (
        "suppressed"
    )
    # Her other number said nothing: still texted.
    assert verdict(step(state, text(B, MOBILE, "desk-2"), NOON_NY + timedelta(hours=1))) == (
        "authorised"
    )


def test_a_person_linked_later_at_a_number_that_said_stop_is_not_texted_there() -> None:
    """A household phone: the STOP revoked it for Ann, and the number's STOP binds whoever is
    found to have it."""
    state = ann(MOBILE)
    assert revocations(step(state, stop(MOBILE, "SM-mobile-1"), NOON_NY))  # Ann's own
    grant = ConsentGranted(party_id="c1", channel=Channel.SMS, received_at=BEFORE)
    step(state, grant, NOON_NY)
    link = carl_at(MOBILE)

    linked = step(state, link, NOON_NY + timedelta(minutes=1))

    assert [(r.party_id, r.address, r.received_at) for r in revocations(linked)] == [
        ("c1", MOBILE, NOON_NY)
    ]


def test_a_profile_sent_again_revokes_nothing_twice() -> None:
    state = ann(MOBILE)
    step(state, stop(NEW, "SM-new-1"), NOON_NY)
    step(state, profile(MOBILE, NEW), NOON_NY + timedelta(minutes=1))

    assert step(state, profile(MOBILE, NEW), NOON_NY + timedelta(minutes=2)) == []


def test_a_grant_received_after_the_stop_lets_the_number_be_texted_again() -> None:
    """The kept revocation counts from when the STOP was received, so consent given later (the
    person texted START, or signed up again) still outranks it."""
    state = ann(MOBILE)
    step(state, stop(NEW, "SM-new-1"), NOON_NY)
    later = NOON_NY + timedelta(minutes=30)
    regrant = ConsentGranted(party_id=B, channel=Channel.SMS, address=NEW, received_at=later)
    step(state, regrant, later)

    step(state, profile(MOBILE, NEW), later + timedelta(minutes=1))

    assert verdict(step(state, text(B, NEW, "desk-1"), later + timedelta(hours=1))) == (
        "authorised"
    )


def test_words_naming_the_medium_from_a_number_not_on_file_stop_texts_to_every_number() -> None:
    """RF-17: "don't text me" names the medium; once the number is known to be Ann's, no
    number of hers is texted."""
    state = ann(MOBILE)
    [kept] = step(state, stop(NEW, "SM-new-1", "Don't text me"), NOON_NY)
    assert isinstance(kept, NumberOptedOut)
    assert kept.whole_medium

    derived = step(state, profile(MOBILE, NEW), NOON_NY + timedelta(minutes=1))

    assert [(r.channel, r.address) for r in revocations(derived)] == [(Channel.SMS, None)]
    assert verdict(step(state, text(B, MOBILE, "desk-1"), NOON_NY + timedelta(hours=1))) == (
        "suppressed"
    )
