"""Candidate zones and jurisdictions: every location counts (RF-7)."""

from __future__ import annotations

from contracts.values import Address, Phone
from services.compliance.core import candidate_zones, jurisdictions
from tests.unit.compliance.gate_builders import BOSTON, LONDON_ADDR, NYC, SEATTLE, SHANGHAI, person


def test_state_spanning_two_zones_lists_both() -> None:
    """A Texas address without a phone could be Central or Mountain time."""
    party = person(addresses=(Address(country="US", region="TX"),), phones=())

    assert candidate_zones(party) == ("America/Chicago", "America/Denver")


def test_phone_area_code_address_and_declared_zone_all_count() -> None:
    """Address, each phone's area code and the declared zone are all candidates."""
    party = person(phones=(Phone(number="+14155550100"),), declared_time_zone="America/Denver")

    assert candidate_zones(party) == ("America/Denver", "America/Los_Angeles", "America/New_York")


def test_toll_free_number_falls_back_to_the_country() -> None:
    """A non-geographic number gives the country's contiguous zones, not 40 Caribbean zones."""
    party = person(addresses=(), phones=(Phone(number="+18005550100"),))

    assert candidate_zones(party) == (
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/New_York",
        "America/Phoenix",
    )


def test_jurisdictions_from_addresses() -> None:
    """States and NYC come from addresses; NYC by city name or postal prefix."""
    brooklyn = Address(country="US", region="NY", postal_code="11201")

    assert jurisdictions(person(addresses=(BOSTON,), phones=())) == ("US", "US-MA")
    assert jurisdictions(person(addresses=(NYC,), phones=())) == ("US", "US-NY", "US-NY-NYC")
    assert "US-NY-NYC" in jurisdictions(person(addresses=(brooklyn,), phones=()))
    assert jurisdictions(person(addresses=(SEATTLE,), phones=())) == ("US", "US-WA")
    assert jurisdictions(person(addresses=(SHANGHAI,), phones=())) == ("CN",)
    assert jurisdictions(person(addresses=(LONDON_ADDR,), phones=())) == ("GB",)


def test_jurisdictions_from_phone_area_codes_and_borrower_address() -> None:
    """A 617 number brings MA rules; a guarantor's debt brings the borrower's jurisdictions."""
    party = person(addresses=(), phones=(Phone(number="+16175550100"),))

    assert jurisdictions(party) == ("US", "US-MA")
    assert jurisdictions(person(addresses=(), phones=()), (SHANGHAI,)) == ("CN",)


def test_uk_mobile_belongs_to_gb() -> None:
    """+44 7... numbers that phonenumbers places in GG/JE/IM still count as GB."""
    assert jurisdictions(person(addresses=(), phones=(Phone(number="+447911123456"),))) == ("GB",)
