"""The simulated portfolio the demo and the benchmarks run on."""

from __future__ import annotations

from datetime import timedelta

from contracts import PartyLinked, ThirdPartyRefused
from contracts.values import PartyRole
from services.simulation.portfolio import generate


def test_some_chinese_contact_persons_refuse_further_contact() -> None:
    """CN-3's refusal has an upstream source in the demo: a desk reports it a week in."""
    portfolio = generate(2000, days=30, seed=7)
    end = portfolio.start + timedelta(days=portfolio.days)
    contacts = {
        e.message.party_id: e
        for e in portfolio.events
        if isinstance(e.message, PartyLinked) and e.message.role is PartyRole.CONTACT_PERSON
    }
    countries = {b.borrower_id: b.country for b in portfolio.borrowers}
    refusals = [e for e in portfolio.events if isinstance(e.message, ThirdPartyRefused)]

    assert refusals
    for refused in refusals:
        assert isinstance(refused.message, ThirdPartyRefused)
        linked = contacts[refused.message.party_id]
        assert linked.borrower_id == refused.borrower_id
        assert countries[refused.borrower_id] == "CN"
        assert linked.at < refused.at < end
    chinese_contacts = [c for c in contacts.values() if countries[c.borrower_id] == "CN"]
    assert len(refusals) < len(chinese_contacts)  # some, not all
