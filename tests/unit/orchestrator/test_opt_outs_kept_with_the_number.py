"""An opt-out belongs to the number it came from (TC-2): kept with it, it revokes the number for
whoever a later profile or link gives it to.

The gateway routes a reply by a directory that follows the upstream topic, so a STOP can reach
the orchestrator before the profile that gives the number to the borrower; and a household
phone that said STOP can be linked to a contact person later. Pure core, as the engine folds
it: the input is evolved into the state, decided on with the clock, and each derived event
evolved in turn."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    ConsentRevoked,
    ContactDecided,
    LoanOpened,
    Message,
    NumberOptedOut,
    PartyLinked,
    RequestContact,
)
from contracts.values import Channel, PartyRole, Phone
from services.compliance.core import load_policy
from services.orchestrator.context import context_factory
from services.orchestrator.core.decide import Context, decide
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.state import BorrowerState
from services.orchestrator.settings import OrchestratorSettings
from tests.unit.orchestrator.builders import MOBILE, NOON_NY, B, ny_profile, stop, usd

NEW = "+15185550188"  # the borrower's new mobile (Albany), not on file when it says STOP
BEFORE = NOON_NY - timedelta(days=1)


def _ctx() -> Context:
    settings = OrchestratorSettings(namespace="unit", partitions=4)
    context_for, _ = context_factory(settings)
    return context_for(load_policy(settings.policy))


CTX = _ctx()


def step(state: BorrowerState, message: Message, now: datetime) -> list[Message]:
    """One ledger entry: fold the input, decide, fold what was derived."""
    evolve(state, message, now)
    derived = decide(state, message, now, CTX)
    for m in derived:
        evolve(state, m, now)
    return derived


def profile(*numbers: str) -> BorrowerProfiled:
    return BorrowerProfiled(**{**ny_profile(B), "phones": tuple(Phone(number=n) for n in numbers)})


def ann(*numbers: str) -> BorrowerState:
    """Ann in Albany, with a debt to a first-party lender (no validation notice, RF-20), who
    agreed to texts at any of her numbers."""
    state = BorrowerState(B)
    step(state, profile(*numbers), BEFORE)
    step(
        state,
        LoanOpened(loan_id="L1", product="p", principal=usd(500), third_party_collector=False),
        BEFORE,
    )
    step(state, ConsentGranted(party_id=B, channel=Channel.SMS, received_at=BEFORE), BEFORE)
    return state


def text(party_id: str, to: str, request_id: str) -> RequestContact:
    return RequestContact(
        request_id=request_id,
        party_id=party_id,
        loan_id="L1",
        channel=Channel.SMS,
        to=to,
        requested_by="agent-7",
    )


def verdict(derived: list[Message]) -> str:
    [decided] = [m for m in derived if isinstance(m, ContactDecided)]
    return decided.verdict.value


def revocations(derived: list[Message]) -> list[ConsentRevoked]:
    return [m for m in derived if isinstance(m, ConsentRevoked)]


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
    link = PartyLinked(
        loan_id="L1",
        party_id="c1",
        role=PartyRole.CONTACT_PERSON,
        name="Carl",
        phones=(Phone(number=MOBILE),),
    )

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
