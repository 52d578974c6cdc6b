"""Facts about a person who is not on file yet (a guarantor's consent, cease or refusal that
arrives before the link naming them) are that person's, never the borrower's: filed with the
borrower, another person's consent would let the borrower be called (TC-1) and their cease
would hold the wrong person (RF-11)."""

from __future__ import annotations

from datetime import timedelta

from contracts import (
    CeaseRequested,
    ConsentGranted,
    ContactPreferenceStated,
    PartyLinked,
    ThirdPartyRefused,
)
from contracts.values import Channel, PartyRole, Phone
from tests.unit.orchestrator.builders import (
    GUARANTOR,
    NOON_NY,
    T0,
    B,
    Feed,
    borrower,
    decisions,
    dpd,
)

EARLY = T0 - timedelta(hours=12)


def _link(feed: Feed) -> None:
    linked = PartyLinked(
        loan_id="L1",
        party_id="g1",
        role=PartyRole.GUARANTOR,
        name="Bo",
        phones=(Phone(number=GUARANTOR),),
    )
    feed.send(B, linked, T0)


def _calls_to_borrower(feed: Feed) -> list[tuple[str, tuple[str, ...]]]:
    out = feed.send(B, dpd(1, NOON_NY.date()), NOON_NY)
    return [
        (d["verdict"], tuple(d["reasons"]))
        for d in decisions(out)
        if d["party_id"] == B and d["channel"] == "call"
    ]


def test_a_consent_from_someone_not_on_file_does_not_let_the_borrower_be_called() -> None:
    """TC-1: the borrower gave no consent to calls; a consent to calls from another person,
    arriving before the link that names them, is theirs."""
    alone, with_other = borrower(consent=False), borrower(consent=False)
    grant = ConsentGranted(party_id="g1", channel=Channel.CALL, received_at=EARLY)
    with_other.send(B, grant, EARLY)

    assert _calls_to_borrower(with_other) == _calls_to_borrower(alone)
    assert {"TC-1"} <= set(_calls_to_borrower(borrower(consent=False))[0][1])
    assert with_other.state(B).parties["g1"].consents != []


def test_a_cease_from_someone_not_on_file_holds_them_once_linked_not_the_borrower() -> None:
    feed = borrower()
    feed.send(B, CeaseRequested(party_id="g1", loan_id=None), EARLY)
    _link(feed)

    state = feed.state(B)

    assert state.parties["g1"].cease_all
    assert state.parties["g1"].role is PartyRole.GUARANTOR
    assert not state.parties[B].cease_all


def test_a_preference_from_someone_not_on_file_leaves_the_borrowers_alone() -> None:
    """RF-9 / RF-8: the borrower barred calls at work; another person's preference, stated
    before they were linked, does not undo it."""
    feed = borrower()
    feed.send(B, ContactPreferenceStated(party_id=B, no_contact_at_work=True), EARLY)
    feed.send(B, ContactPreferenceStated(party_id="g1", no_contact_at_work=False), EARLY)

    assert feed.state(B).parties[B].no_contact_at_work


def test_a_refusal_before_the_link_is_kept() -> None:
    """CN-3: a person who refused is never contacted again, even if the link came later."""
    feed = borrower()
    feed.send(B, ThirdPartyRefused(party_id="g1", reported_at=EARLY), EARLY)
    _link(feed)

    assert feed.state(B).parties["g1"].third_party_refused
