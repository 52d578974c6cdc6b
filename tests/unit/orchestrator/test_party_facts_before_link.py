"""Facts about a person who is not on file yet (a guarantor's consent, cease or refusal that
arrives before the link naming them) are that person's, never the borrower's: filed with the
borrower, another person's consent would let the borrower be called (TC-1) and their cease
would hold the wrong person (RF-11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts import (
    BorrowerProfiled,
    CeaseRequested,
    ConsentGranted,
    ContactPreferenceStated,
    LoanOpened,
    PartyLinked,
    ThirdPartyRefused,
)
from contracts.values import Channel, PartyRole
from tests.unit.orchestrator.builders import (
    NOON_NY,
    T0,
    B,
    Feed,
    borrower,
    decisions,
    dpd,
    guarantor_link,
    usd,
)

EARLY = T0 - timedelta(hours=12)


def _link(feed: Feed) -> None:
    feed.send(B, guarantor_link(), T0)


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


def _linked_to_a_chinese_borrower(**link: Any) -> Feed:
    feed = Feed()
    feed.send(B, BorrowerProfiled(party_id=B, name="Wang", language="zh-CN"), T0)
    feed.send(B, LoanOpened(loan_id="L1", product="p", principal=usd(500)), T0)
    fields = {"loan_id": "L1", "party_id": "c1", "role": "contact_person", "name": "Li"}
    feed.send(B, PartyLinked.model_validate({**fields, **link}), T0)
    return feed


def test_a_contact_named_without_a_language_is_written_to_in_the_borrowers() -> None:
    """A Chinese borrower's contact person asked where the borrower is, in English, would not
    understand the question; a link that names a language is followed."""
    inherited = _linked_to_a_chinese_borrower().state(B)
    stated = _linked_to_a_chinese_borrower(language="en").state(B)

    assert inherited.language_of(inherited.parties["c1"]) == "zh-CN"
    assert stated.language_of(stated.parties["c1"]) == "en"


def test_a_linked_persons_vulnerability_reaches_the_gate_and_is_not_forgotten() -> None:
    """UK-1 protects a vulnerable guarantor or contact too; a later link to another debt that
    does not repeat it is no evidence they stopped being vulnerable."""
    feed = _linked_to_a_chinese_borrower(vulnerable=True, declared_time_zone="Europe/London")
    feed.send(B, LoanOpened(loan_id="L2", product="p", principal=usd(300)), T0)
    again = PartyLinked(loan_id="L2", party_id="c1", role=PartyRole.CONTACT_PERSON, name="Li")
    feed.send(B, again, T0)
    state = feed.state(B)

    facts = state.party_facts(state.parties["c1"], "L1")

    assert facts.vulnerable
    assert facts.declared_time_zone is None  # the later link replaced the contact details
