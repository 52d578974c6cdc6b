"""Quiet hours (RF-6, RF-7, CN-2, UK-3, WA), stated times (RF-8) and holidays, all DST-correct."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from contracts.decisions import Verdict
from contracts.values import Address, Channel, LocalTimeRange, Phone, PhoneType
from services.compliance.core import PartyFacts, load_policy
from tests.unit.compliance.gate_builders import (
    BOSTON,
    ET,
    LONDON,
    LONDON_ADDR,
    NYC,
    PT,
    SEATTLE,
    SH,
    SHANGHAI,
    UTC,
    decide,
    effects,
    grant,
    person,
)

CN_MOBILE = "+8613800138000"
GB_MOBILE = "+447911123456"


@pytest.mark.parametrize(
    ("hour", "minute", "verdict"),
    [
        (7, 59, Verdict.DEFERRED),
        (8, 0, Verdict.AUTHORISED),
        (20, 59, Verdict.AUTHORISED),
        (21, 0, Verdict.DEFERRED),
        (23, 30, Verdict.DEFERRED),
    ],
)
def test_us_window_is_0800_inclusive_to_2100_exclusive(
    hour: int, minute: int, verdict: Verdict
) -> None:
    """RF-6: 20:59 local is allowed and 21:00 is not; 08:00 opens the window."""
    result = decide(datetime(2026, 4, 14, hour, minute, tzinfo=ET))

    assert result.verdict == verdict


def test_deferral_at_2100_lands_on_0800_next_day() -> None:
    """RF-6: a contact refused at 21:00 is deferred to the next opening, 08:00 local."""
    result = decide(datetime(2026, 4, 14, 21, 0, tzinfo=ET))

    assert result.defer_until == datetime(2026, 4, 15, 8, 0, tzinfo=ET)
    assert result.reasons == ("RF-6",)


def test_pacific_area_code_and_eastern_address_give_11_to_21_eastern() -> None:
    """RF-7: a 415 number (Pacific) and an NY address (Eastern) intersect to 11:00-21:00 Eastern."""
    party = person(phones=(Phone(number="+14155550100", type=PhoneType.MOBILE),))

    early = decide(datetime(2026, 4, 14, 10, 59, tzinfo=ET), to="+14155550100", party=party)
    opens = decide(datetime(2026, 4, 14, 11, 0, tzinfo=ET), to="+14155550100", party=party)
    late = decide(datetime(2026, 4, 14, 20, 59, tzinfo=ET), to="+14155550100", party=party)
    closed = decide(datetime(2026, 4, 14, 21, 0, tzinfo=ET), to="+14155550100", party=party)

    assert early.defer_until == datetime(2026, 4, 14, 11, 0, tzinfo=ET)
    assert opens.verdict == Verdict.AUTHORISED
    assert opens.evidence.window.opens_at == datetime(2026, 4, 14, 8, 0, tzinfo=PT)
    assert opens.evidence.window.closes_at == datetime(2026, 4, 14, 21, 0, tzinfo=ET)
    assert late.verdict == Verdict.AUTHORISED
    assert closed.verdict == Verdict.DEFERRED
    assert opens.evidence.candidate_zones == ("America/Los_Angeles", "America/New_York")


HONOLULU = ZoneInfo("Pacific/Honolulu")
ANCHORAGE = ZoneInfo("America/Anchorage")


@pytest.mark.parametrize(
    ("party", "channel", "to"),
    [
        (person(addresses=(Address(country="US"),), phones=()), Channel.EMAIL, "pat@example.com"),
        (
            person(addresses=(Address(country="US", region="ZZ"),), phones=()),
            Channel.EMAIL,
            "pat@example.com",
        ),
        (
            person(addresses=(), phones=(Phone(number="+18005550199", type=PhoneType.MOBILE),)),
            Channel.CALL,
            "+18005550199",
        ),
    ],
    ids=["no-region", "unknown-region", "toll-free-number"],
)
@pytest.mark.parametrize(
    ("at", "verdict", "until"),
    [
        # Summer: 08:00 PDT is 05:00 in Honolulu and 07:00 in Anchorage.
        (
            datetime(2026, 7, 14, 8, 0, tzinfo=PT),
            Verdict.DEFERRED,
            datetime(2026, 7, 14, 8, 0, tzinfo=HONOLULU),
        ),
        (
            datetime(2026, 7, 14, 7, 59, tzinfo=HONOLULU),
            Verdict.DEFERRED,
            datetime(2026, 7, 14, 8, 0, tzinfo=HONOLULU),
        ),
        (datetime(2026, 7, 14, 8, 0, tzinfo=HONOLULU), Verdict.AUTHORISED, None),  # 14:00 EDT
        (datetime(2026, 7, 14, 20, 59, tzinfo=ET), Verdict.AUTHORISED, None),
        (
            datetime(2026, 7, 14, 21, 0, tzinfo=ET),
            Verdict.DEFERRED,
            datetime(2026, 7, 15, 8, 0, tzinfo=HONOLULU),
        ),
        # Winter: 08:00 HST is 13:00 EST; Anchorage (AKST) opens at 12:00 EST, earlier.
        (
            datetime(2026, 1, 14, 12, 30, tzinfo=ET),
            Verdict.DEFERRED,
            datetime(2026, 1, 14, 8, 0, tzinfo=HONOLULU),
        ),
        (datetime(2026, 1, 14, 13, 0, tzinfo=ET), Verdict.AUTHORISED, None),
    ],
)
def test_an_unknown_place_in_the_us_takes_the_strictest_window_of_every_state(
    party: PartyFacts,
    channel: Channel,
    to: str,
    at: datetime,
    verdict: Verdict,
    until: datetime | None,
) -> None:
    """RF-6/RF-7: an unknown location takes the strictest known window of the person's
    country, Alaska and Hawaii included: 08:00 Hawaii to 21:00 Eastern. (A US address whose
    state is unknown may also be in New York City: the email has the written consent its
    rules ask for, so only the window is at issue.)"""
    consents = (grant(Channel.CALL), grant(Channel.EMAIL, written=True))

    result = decide(at, channel=channel, to=to, party=party, consents=consents)

    assert result.verdict == verdict
    assert result.defer_until == until
    assert {"Pacific/Honolulu", "America/Anchorage", "America/Adak"} <= set(
        result.evidence.candidate_zones
    )


PHOENIX = ZoneInfo("America/Phoenix")
DENVER = ZoneInfo("America/Denver")


@pytest.mark.parametrize(
    ("at", "verdict", "until"),
    [
        # July: Phoenix keeps MST (UTC-7), the Navajo Nation (America/Denver) is on MDT (UTC-6),
        # so the intersection is 08:00-20:00 Phoenix time.
        (
            datetime(2026, 7, 14, 7, 59, tzinfo=PHOENIX),
            Verdict.DEFERRED,
            datetime(2026, 7, 14, 8, 0, tzinfo=PHOENIX),
        ),
        (datetime(2026, 7, 14, 8, 0, tzinfo=PHOENIX), Verdict.AUTHORISED, None),
        (datetime(2026, 7, 14, 19, 59, tzinfo=PHOENIX), Verdict.AUTHORISED, None),
        (
            datetime(2026, 7, 14, 20, 0, tzinfo=PHOENIX),
            Verdict.DEFERRED,
            datetime(2026, 7, 15, 8, 0, tzinfo=PHOENIX),
        ),
        (
            datetime(2026, 7, 14, 20, 30, tzinfo=PHOENIX),
            Verdict.DEFERRED,
            datetime(2026, 7, 15, 8, 0, tzinfo=PHOENIX),
        ),
        # January: both on MST, the whole 08:00-21:00 window.
        (datetime(2026, 1, 14, 20, 30, tzinfo=PHOENIX), Verdict.AUTHORISED, None),
    ],
)
def test_an_arizona_address_may_be_on_navajo_nation_time(
    at: datetime, verdict: Verdict, until: datetime | None
) -> None:
    """RF-7: Arizona spans two zones (the Navajo Nation observes DST, America/Denver), so an
    Arizona address is contacted only when 08:00-21:00 holds in both."""
    number = "+19285550100"  # 928: northern Arizona
    window_rock = Address(country="US", region="AZ", city="Window Rock", postal_code="86515")
    party = person(addresses=(window_rock,), phones=(Phone(number=number, type=PhoneType.MOBILE),))

    result = decide(at, to=number, party=party)

    assert result.verdict == verdict
    assert result.defer_until == until
    assert result.evidence.candidate_zones == ("America/Denver", "America/Phoenix")


@pytest.mark.parametrize(
    ("at", "verdict", "until"),
    [
        # 2026-03-08: US clocks spring forward at 02:00 EST -> 03:00 EDT.
        (
            datetime(2026, 3, 8, 1, 30, tzinfo=ET),
            Verdict.DEFERRED,
            datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
        ),
        (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), Verdict.AUTHORISED, None),
        (datetime(2026, 3, 9, 0, 59, tzinfo=UTC), Verdict.AUTHORISED, None),  # 20:59 EDT
        (
            datetime(2026, 3, 9, 1, 0, tzinfo=UTC),
            Verdict.DEFERRED,
            datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
        ),
        # 2026-11-01: fall back at 02:00 EDT -> 01:00 EST; 08:00 EST is 13:00 UTC.
        (
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            Verdict.DEFERRED,
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
        ),
        (datetime(2026, 11, 2, 1, 59, tzinfo=UTC), Verdict.AUTHORISED, None),  # 20:59 EST
        (
            datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
            Verdict.DEFERRED,
            datetime(2026, 11, 2, 13, 0, tzinfo=UTC),
        ),
    ],
)
def test_dst_transition_days_keep_local_0800_to_2100(
    at: datetime, verdict: Verdict, until: datetime | None
) -> None:
    """RF-6 across the US March and November DST changes: the window follows local wall time."""
    result = decide(at)

    assert result.verdict == verdict
    assert result.defer_until == until


@pytest.mark.parametrize(
    ("hour", "minute", "verdict"),
    [
        (21, 30, Verdict.AUTHORISED),
        (21, 59, Verdict.AUTHORISED),
        (22, 0, Verdict.DEFERRED),
        (7, 59, Verdict.DEFERRED),
    ],
)
def test_china_allows_2130_but_not_2200(hour: int, minute: int, verdict: Verdict) -> None:
    """CN-2/CN-3/CN-4: no collection 22:00-08:00 Beijing time."""
    party = person(addresses=(SHANGHAI,), phones=(Phone(number=CN_MOBILE),), emails=())

    result = decide(
        datetime(2026, 4, 14, hour, minute, tzinfo=SH), to=CN_MOBILE, party=party, consents=()
    )

    assert result.verdict == verdict
    assert result.evidence.jurisdictions == ("CN",)


def test_uk_window_is_0800_to_2100_london() -> None:
    """UK-3: a reasonable hour is 08:00-21:00 local; BST is handled by zoneinfo."""
    party = person(addresses=(LONDON_ADDR,), phones=(Phone(number=GB_MOBILE),), emails=())

    ok = decide(datetime(2026, 7, 1, 20, 59, tzinfo=LONDON), to=GB_MOBILE, party=party, consents=())
    late = decide(
        datetime(2026, 7, 1, 21, 0, tzinfo=LONDON), to=GB_MOBILE, party=party, consents=()
    )

    assert ok.verdict == Verdict.AUTHORISED
    assert late.reasons == ("UK-3",)


TORONTO = ZoneInfo("America/Toronto")
CA_MOBILE = "+14165550100"


@pytest.mark.parametrize(
    ("hour", "minute", "verdict"),
    [
        (3, 0, Verdict.DEFERRED),
        (8, 0, Verdict.AUTHORISED),
        (20, 59, Verdict.AUTHORISED),
        (21, 0, Verdict.DEFERRED),
    ],
)
def test_where_no_pack_applies_parley_keeps_0800_to_2100_local(
    hour: int, minute: int, verdict: Verdict
) -> None:
    """P1-HOURS: no pack of the policy covers Canada, yet a Toronto number is never called at
    03:00; its own zone's 08:00-21:00 holds, and a deferral lands on 08:00 there."""
    party = person(addresses=(), phones=(Phone(number=CA_MOBILE, type=PhoneType.MOBILE),))

    result = decide(
        datetime(2026, 3, 10, hour, minute, tzinfo=TORONTO), to=CA_MOBILE, party=party, consents=()
    )

    assert result.evidence.candidate_zones == ("America/Toronto",)
    assert result.evidence.jurisdictions == ("CA",)
    assert result.verdict == verdict
    if verdict is Verdict.DEFERRED:
        assert result.reasons == ("P1-HOURS",)
        assert result.defer_until is not None
        assert result.defer_until.astimezone(TORONTO).time() == time(8, 0)


def test_an_address_in_a_country_without_zone_data_counts_every_zone_of_that_country() -> None:
    """Where in Canada an Ontario address is, zones.yaml does not say; every zone tzdata gives
    Canada counts (St John's to Dawson), so 09:00 Toronto (06:00 Vancouver) is too early and the
    contact waits for 08:00 on the Pacific side."""
    party = person(
        addresses=(Address(country="CA", region="ON", city="Toronto"),),
        phones=(Phone(number=CA_MOBILE, type=PhoneType.MOBILE),),
        emails=(),
    )
    at = datetime(2026, 7, 14, 9, 0, tzinfo=TORONTO)

    result = decide(at, to=CA_MOBILE, party=party, consents=())

    assert {"America/St_Johns", "America/Toronto", "America/Vancouver"} <= set(
        result.evidence.candidate_zones
    )
    assert result.reasons == ("P1-HOURS",)
    assert result.defer_until == datetime(2026, 7, 14, 8, 0, tzinfo=ZoneInfo("America/Vancouver"))


def test_parley_hours_give_way_to_any_pack_that_applies() -> None:
    """Elsewhere means elsewhere: a person a pack covers never gets P1-HOURS, so China's later
    22:00 stands."""
    party = person(addresses=(SHANGHAI,), phones=(Phone(number=CN_MOBILE),), emails=())

    result = decide(
        datetime(2026, 4, 14, 21, 30, tzinfo=SH), to=CN_MOBILE, party=party, consents=()
    )

    assert result.verdict == Verdict.AUTHORISED
    assert "P1-HOURS" not in {o.rule_id for o in result.rules}


@pytest.mark.parametrize("pack", ["us-ma", "us-nyc"])
def test_parley_hours_hold_under_a_pack_that_sets_no_hours(pack: str) -> None:
    """Giving way is per channel and to hours only: a policy of Massachusetts' or New York
    City's caps alone sets no window, so a Boston or Manhattan borrower keeps Parley's own."""
    party = person(addresses=(BOSTON if pack == "us-ma" else NYC,))

    result = decide(datetime(2026, 3, 10, 3, 0, tzinfo=ET), party=party, policy=load_policy(pack))

    assert result.reasons == ("P1-HOURS",)


def test_washington_0730_window_is_less_strict_and_changes_nothing() -> None:
    """WA-19.16.250 (S) allows 07:30, but RF-6 still holds the contact until 08:00."""
    party = person(addresses=(SEATTLE,), phones=(Phone(number="+12065550100"),))

    result = decide(datetime(2026, 4, 14, 7, 45, tzinfo=PT), to="+12065550100", party=party)

    assert result.defer_until == datetime(2026, 4, 14, 8, 0, tzinfo=PT)
    assert effects(result, "WA-19.16.250") >= {"pass"}
    assert result.reasons == ("RF-6",)


def test_stated_inconvenient_time_defers_to_its_end() -> None:
    """RF-8: a time the person marked inconvenient is avoided; the contact waits for it to end."""
    party = person(inconvenient_times=(LocalTimeRange(start=time(12, 0), end=time(14, 0)),))

    result = decide(datetime(2026, 4, 14, 12, 30, tzinfo=ET), party=party)

    assert result.reasons == ("RF-8",)
    assert result.defer_until == datetime(2026, 4, 14, 14, 0, tzinfo=ET)


def test_public_holiday_is_a_no_contact_day_when_a_pack_says_so(tmp_path: Path) -> None:
    """Holidays are no-contact days only where a pack enables it; then the next day at 08:00."""
    policy_file = tmp_path / "holidays.yaml"
    policy_file.write_text(
        "policy: us-holidays\npacks: [us-federal]\n"
        "overrides:\n  - {rule: RF-6-HOLIDAYS, no_contact_on_public_holidays: true}\n",
        encoding="utf-8",
    )
    policy = load_policy(str(policy_file))
    at = datetime(2025, 7, 4, 10, 0, tzinfo=ET)  # Independence Day, a Friday

    default = decide(at)
    strict = decide(at, policy=policy)

    assert default.verdict == Verdict.AUTHORISED
    assert strict.reasons == ("RF-6-HOLIDAYS",)
    assert strict.defer_until == datetime(2025, 7, 5, 8, 0, tzinfo=ET)


def test_window_evidence_surrounds_the_decision_instant() -> None:
    """P4: the evidence names the zones and the allowed interval around intent.at."""
    result = decide(datetime(2026, 4, 14, 15, 0, tzinfo=ET))

    assert result.evidence.window.opens_at == datetime(2026, 4, 14, 8, 0, tzinfo=ET)
    assert result.evidence.window.closes_at == datetime(2026, 4, 14, 21, 0, tzinfo=ET)
    assert result.evidence.candidate_zones == ("America/New_York",)
