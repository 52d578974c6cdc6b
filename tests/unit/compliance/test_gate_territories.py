"""Region spelling and US territories at the gate: the same rules as any US address (RF-6, RF-7)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from contracts.decisions import Verdict
from contracts.values import Address, Phone
from tests.unit.compliance.gate_builders import ET, MOBILE, attempt, decide, person

GUAM = ZoneInfo("Pacific/Guam")
GUAM_MOBILE = "+16715550100"
TOLL_FREE = "+18005550100"


@pytest.mark.parametrize("region", ["MA", "ma", " MA "])
def test_lower_case_region_brings_the_massachusetts_cap(region: str) -> None:
    """MA-7.04: a Boston address written "ma" is capped at two calls in seven days like "MA"."""
    boston = Address(country="US", region=region, city="Boston", postal_code="02108")
    calls = (
        attempt(datetime(2026, 4, 1, 12, tzinfo=ET), to=MOBILE),
        attempt(datetime(2026, 4, 2, 10, tzinfo=ET), to=MOBILE),
    )

    result = decide(
        datetime(2026, 4, 3, 12, tzinfo=ET), party=person(addresses=(boston,)), attempts=calls
    )

    assert result.verdict == Verdict.DEFERRED
    assert result.reasons == ("MA-7.04",)
    assert result.evidence.jurisdictions == ("US", "US-MA")


def test_guam_address_at_noon_eastern_is_0300_local_and_deferred() -> None:
    """RF-7: 12:00 EST is 03:00 in Guam, so the call waits for 08:00 Guam (17:00 Eastern)."""
    guam = Address(country="US", region="GU", city="Hagatna")
    party = person(addresses=(guam,), phones=(Phone(number=TOLL_FREE),))

    result = decide(datetime(2026, 1, 15, 12, 0, tzinfo=ET), party=party, to=TOLL_FREE)

    assert result.verdict == Verdict.DEFERRED
    assert result.reasons == ("RF-6",)
    assert result.defer_until == datetime(2026, 1, 16, 8, 0, tzinfo=GUAM)
    assert "Pacific/Guam" in result.evidence.candidate_zones


@pytest.mark.parametrize(
    "addresses",
    [
        (Address(country="US", region="GU"),),
        (Address(country="GU"),),
        (),
    ],
    ids=["us-region-gu", "country-gu", "phone-only"],
)
@pytest.mark.parametrize(
    ("hour", "minute", "verdict"),
    [
        (7, 59, Verdict.DEFERRED),
        (8, 0, Verdict.AUTHORISED),
        (20, 59, Verdict.AUTHORISED),
        (21, 0, Verdict.DEFERRED),
    ],
)
def test_guam_window_is_0800_to_2100_guam_time(
    addresses: tuple[Address, ...], hour: int, minute: int, verdict: Verdict
) -> None:
    """RF-6 in Guam's own time, under US federal rules, however Guam is written."""
    party = person(addresses=addresses, phones=(Phone(number=GUAM_MOBILE),))

    result = decide(datetime(2026, 1, 16, hour, minute, tzinfo=GUAM), party=party, to=GUAM_MOBILE)

    assert result.verdict == verdict
    assert result.evidence.candidate_zones == ("Pacific/Guam",)
    assert result.evidence.jurisdictions == ("US", "US-GU")
    if verdict == Verdict.DEFERRED:
        assert result.reasons == ("RF-6",)


def test_virgin_islands_at_2130_local_is_deferred() -> None:
    """RF-6: 20:30 EST is 21:30 in St Thomas, past the window there."""
    party = person(
        addresses=(Address(country="US", region="VI"),), phones=(Phone(number=TOLL_FREE),)
    )

    result = decide(datetime(2026, 1, 15, 20, 30, tzinfo=ET), party=party, to=TOLL_FREE)

    assert result.verdict == Verdict.DEFERRED
    assert result.reasons == ("RF-6",)
