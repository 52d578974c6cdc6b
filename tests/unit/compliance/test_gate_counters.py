"""Caps and cooldowns from data: RF-1, RF-2, RF-3, MA-7.04, NYC-5-77, WA, CN-2/3/4 (P2 pending)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.decisions import Verdict
from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, PartyRole, Phone, PhoneType, Purpose
from services.compliance.core import AttemptRecord, PartyFacts, Policy, load_policy
from services.compliance.core.registry import policy_document, policy_from_document
from tests.unit.compliance.gate_builders import (
    BOSTON,
    ET,
    NYC,
    PT,
    SEATTLE,
    SH,
    SHANGHAI,
    UTC,
    attempt,
    decide,
    grant,
    person,
    rehashed,
)

BOSTON_MOBILE = "+16175550100"
CN_MOBILE = "+8613800138000"


def _seven_calls(outcome: OutcomeKind | None = OutcomeKind.NO_ANSWER) -> tuple[AttemptRecord, ...]:
    return tuple(
        attempt(datetime(2026, 4, day, 10, 0, tzinfo=ET), outcome=outcome) for day in range(1, 8)
    )


def test_eighth_call_in_seven_days_is_deferred_until_the_oldest_falls_out() -> None:
    """RF-1: 7 calls in 7 days; the 8th waits until the oldest leaves the rolling window."""
    result = decide(datetime(2026, 4, 7, 15, 0, tzinfo=ET), attempts=_seven_calls())

    assert result.verdict == Verdict.DEFERRED
    assert result.reasons == ("RF-1",)
    assert result.defer_until == datetime(2026, 4, 8, 10, 0, tzinfo=ET)
    assert result.evidence.counts["RF-1"] == 7


def test_call_at_the_instant_the_oldest_falls_out_is_authorised() -> None:
    """RF-1 window is (t - 7 days, t]: at oldest + 7 days only 6 remain."""
    result = decide(datetime(2026, 4, 8, 10, 0, tzinfo=ET), attempts=_seven_calls())

    assert result.verdict == Verdict.AUTHORISED
    assert result.evidence.counts["RF-1"] == 6


@pytest.mark.parametrize(
    ("outcome", "counted"),
    [
        # RF-3: calls that never connect to the dialed number (busy signal, network failure).
        (OutcomeKind.NOT_CONNECTED, False),
        (OutcomeKind.BUSY, False),
        (OutcomeKind.FAILED, False),
        # Connected, or may have: placed calls.
        (OutcomeKind.NO_ANSWER, True),
        (OutcomeKind.VOICEMAIL_LEFT, True),
        (OutcomeKind.OUTCOME_UNKNOWN, True),
        (OutcomeKind.ACCEPTED, True),  # taken by the vendor, disposition not in yet
    ],
)
def test_calls_that_never_connected_do_not_count(outcome: OutcomeKind, counted: bool) -> None:
    """RF-3: a call that never connects to the dialed number (a busy signal, a network
    failure) is not a placed call; any other call is."""
    result = decide(datetime(2026, 4, 7, 15, 0, tzinfo=ET), attempts=_seven_calls(outcome))

    assert result.evidence.counts["RF-1"] == (7 if counted else 0)
    assert ("RF-1" in result.reasons) == counted


def test_pending_calls_count_from_reservation() -> None:
    """P2: an attempt counts against the caps from the moment it is reserved (and, as it may
    still turn out a conversation, starts RF-2's cooldown too)."""
    result = decide(datetime(2026, 4, 7, 15, 0, tzinfo=ET), attempts=_seven_calls(None))

    assert result.reasons == ("RF-1", "RF-2")
    assert result.evidence.counts["RF-1"] == 7


def test_calls_about_another_debt_have_their_own_budget() -> None:
    """RF-1 counts per person x debt."""
    result = decide(datetime(2026, 4, 7, 15, 0, tzinfo=ET), attempts=_seven_calls(), loan="L2")

    assert result.verdict == Verdict.AUTHORISED


@pytest.mark.parametrize(
    ("at", "verdict"),
    [
        (datetime(2026, 4, 7, 12, 0, tzinfo=ET), Verdict.DEFERRED),  # day 7
        (datetime(2026, 4, 8, 8, 0, tzinfo=ET), Verdict.AUTHORISED),  # day 8, window open
    ],
)
def test_conversation_on_day_1_allows_the_next_call_on_day_8(
    at: datetime, verdict: Verdict
) -> None:
    """RF-2: a conversation on April 1 (day 1) blocks calls until 00:00 on April 8 (day 8)."""
    talk = attempt(
        datetime(2026, 4, 1, 23, 30, tzinfo=ET), outcome=OutcomeKind.CONVERSATION_RIGHT_PARTY
    )

    result = decide(at, attempts=(talk,))

    assert result.verdict == verdict


# What a call with each outcome was, or may have been, by the rules as written (P1: only what the
# history proves is ruled out). Columns: a conversation with the right party (RF-2's cooldown,
# CN-3's effective conversations), a connected call, any party (CN-2), an unanswered dial
# (CN-4). A call not known to have been answered or not, whatever was said, counts as all three.
CALL_MAY_HAVE_BEEN: dict[OutcomeKind | None, tuple[bool, bool, bool]] = {
    OutcomeKind.CONVERSATION_RIGHT_PARTY: (True, True, False),
    OutcomeKind.CONVERSATION_WRONG_PARTY: (False, True, False),
    # No disposition yet: reserved (P2), taken by the vendor (recorded at once, while the phone
    # still rings; the disposition comes later by callback, or never), or never known.
    None: (True, True, True),
    OutcomeKind.ACCEPTED: (True, True, True),
    OutcomeKind.DELIVERED: (True, True, True),  # says no more about a call than "accepted"
    OutcomeKind.OUTCOME_UNKNOWN: (True, True, True),
    # Unanswered: dialled, nobody (or a machine) picked up.
    OutcomeKind.NO_ANSWER: (False, False, True),
    OutcomeKind.VOICEMAIL_LEFT: (False, False, True),
    OutcomeKind.BUSY: (False, False, True),
    OutcomeKind.NOT_CONNECTED: (False, False, True),
    # Definitely reached nobody, or never dispatched.
    OutcomeKind.FAILED: (False, False, False),
    OutcomeKind.UNDELIVERED: (False, False, False),
    OutcomeKind.BOUNCED: (False, False, False),
    OutcomeKind.EXPIRED: (False, False, False),
    OutcomeKind.CANCELLED: (False, False, False),
    # The vendor refused it (the person opted out with it): nothing was dialled.
    OutcomeKind.OPTED_OUT: (False, False, False),
}


def _call_rows(column: int | None = None) -> list[object]:
    return [
        pytest.param(
            outcome,
            row if column is None else row[column],
            id="pending" if outcome is None else outcome.value,
        )
        for outcome, row in CALL_MAY_HAVE_BEEN.items()
    ]


def test_the_call_table_decides_every_outcome() -> None:
    """Every outcome a call can carry (and pending) has a row: a new one needs a decision."""
    assert set(CALL_MAY_HAVE_BEEN) == {None, *OutcomeKind}


@pytest.mark.parametrize(("outcome", "cools_down"), _call_rows(0))
def test_a_call_that_may_have_been_a_conversation_starts_the_cooldown(
    outcome: OutcomeKind | None, cools_down: bool
) -> None:
    """RF-2: a call whose outcome is unknown, still pending or only "accepted" by the vendor
    (the phone may still be ringing, or the person talking: the disposition comes later, or
    never) may have been a conversation with the person, so the next call waits for day 8 as
    after a conversation; the deferral is to the exact instant, which is then authorised."""
    call = attempt(datetime(2026, 4, 1, 9, 0, tzinfo=ET), outcome=outcome)
    day_8 = datetime(2026, 4, 8, 8, 0, tzinfo=ET)

    result = decide(datetime(2026, 4, 2, 12, 0, tzinfo=ET), attempts=(call,))
    then = decide(day_8, attempts=(call,))
    before = decide(day_8 - timedelta(minutes=1), attempts=(call,))

    if cools_down:
        assert result.reasons == ("RF-2",)
        assert result.defer_until == day_8
        assert result.evidence.counts["RF-2"] == 1
        assert before.verdict == Verdict.DEFERRED
    else:
        assert result.verdict == Verdict.AUTHORISED
        assert result.evidence.counts["RF-2"] == 0
    assert then.verdict == Verdict.AUTHORISED


def test_cooldown_deferral_lands_on_0800_of_day_8() -> None:
    """RF-2 clears at 00:00 on day 8; RF-6 then holds it to 08:00: defer_until is both cleared."""
    talk = attempt(
        datetime(2026, 4, 1, 9, 0, tzinfo=ET), outcome=OutcomeKind.CONVERSATION_RIGHT_PARTY
    )

    result = decide(datetime(2026, 4, 3, 12, 0, tzinfo=ET), attempts=(talk,))

    assert result.reasons == ("RF-2",)
    assert result.defer_until == datetime(2026, 4, 8, 8, 0, tzinfo=ET)
    rf2 = next(o for o in result.rules if o.rule_id == "RF-2")
    assert rf2.until == datetime(2026, 4, 8, 0, 0, tzinfo=ET)


def test_conversation_cooldown_does_not_stop_texts_or_other_debts() -> None:
    """RF-2 limits calls about that debt; texts and other debts are unaffected."""
    talk = attempt(
        datetime(2026, 4, 1, 9, 0, tzinfo=ET), outcome=OutcomeKind.CONVERSATION_RIGHT_PARTY
    )
    at = datetime(2026, 4, 3, 12, 0, tzinfo=ET)

    text = decide(at, channel=Channel.SMS, attempts=(talk,))
    other = decide(at, attempts=(talk,), loan="L2")

    assert text.verdict == Verdict.AUTHORISED
    assert other.verdict == Verdict.AUTHORISED


def test_massachusetts_third_call_in_seven_days_is_deferred() -> None:
    """MA-7.04: at most 2 calls or texts per 7 days per debt to a personal number."""
    party = person(addresses=(BOSTON,), phones=(Phone(number=BOSTON_MOBILE),))
    history = (
        attempt(datetime(2026, 4, 1, 10, 0, tzinfo=ET), to=BOSTON_MOBILE),
        attempt(
            datetime(2026, 4, 3, 10, 0, tzinfo=ET),
            Channel.SMS,
            OutcomeKind.DELIVERED,
            to=BOSTON_MOBILE,
        ),
    )

    result = decide(
        datetime(2026, 4, 5, 10, 0, tzinfo=ET), to=BOSTON_MOBILE, party=party, attempts=history
    )

    assert result.reasons == ("MA-7.04",)
    assert result.defer_until == datetime(2026, 4, 8, 10, 0, tzinfo=ET)
    assert result.evidence.counts["MA-7.04/personal"] == 2


def test_massachusetts_work_number_allows_two_per_thirty_days() -> None:
    """MA-7.04: at most 2 per 30 days to any other number (e.g. work)."""
    work = "+16175550199"
    party = person(addresses=(BOSTON,), phones=(Phone(number=work, type=PhoneType.WORK),))
    history = (
        attempt(datetime(2026, 3, 20, 10, 0, tzinfo=ET), to=work),
        attempt(datetime(2026, 4, 1, 10, 0, tzinfo=ET), to=work),
    )

    result = decide(datetime(2026, 4, 10, 10, 0, tzinfo=ET), to=work, party=party, attempts=history)

    assert result.reasons == ("MA-7.04",)
    assert result.defer_until == datetime(2026, 4, 19, 10, 0, tzinfo=ET)


def test_nyc_fourth_attempt_across_media_is_deferred() -> None:
    """NYC-5-77: at most 3 attempted communications per 7 days across all media."""
    party = person(addresses=(NYC,), phones=(Phone(number="+12125550100"),))
    history = (
        attempt(datetime(2026, 4, 1, 10, 0, tzinfo=ET), to="+12125550100"),
        attempt(
            datetime(2026, 4, 2, 10, 0, tzinfo=ET),
            Channel.SMS,
            OutcomeKind.DELIVERED,
            to="+12125550100",
        ),
        attempt(
            datetime(2026, 4, 3, 10, 0, tzinfo=ET),
            Channel.EMAIL,
            OutcomeKind.DELIVERED,
            to="pat@example.com",
        ),
    )
    consents = (
        grant(Channel.CALL),
        grant(Channel.SMS, written=True),
        grant(Channel.EMAIL, written=True),
    )

    result = decide(
        datetime(2026, 4, 4, 10, 0, tzinfo=ET),
        to="+12125550100",
        party=party,
        attempts=history,
        consents=consents,
    )

    assert result.reasons == ("NYC-5-77",)
    assert result.defer_until == datetime(2026, 4, 8, 10, 0, tzinfo=ET)
    assert "US-NY-NYC" in result.evidence.jurisdictions


@pytest.mark.parametrize("area", ["212", "332", "646", "917", "718", "347", "929"])
def test_a_new_york_city_area_code_brings_the_nyc_cap_without_an_nyc_address(area: str) -> None:
    """NYC-5-77 through RF-7: every candidate location counts, so a number with an area code
    used only in New York City brings the city's rules to a person whose address is in New
    Jersey: the fourth attempt in 7 days waits."""
    number = f"+1{area}5550100"
    newark = Address(country="US", region="NJ", city="Newark", postal_code="07102")
    party = person(addresses=(newark,), phones=(Phone(number=number),))
    history = tuple(
        attempt(datetime(2026, 4, day, 10, 0, tzinfo=ET), to=number) for day in (1, 2, 3)
    )

    result = decide(
        datetime(2026, 4, 4, 10, 0, tzinfo=ET), to=number, party=party, attempts=history
    )

    assert result.reasons == ("NYC-5-77",)
    assert result.defer_until == datetime(2026, 4, 8, 10, 0, tzinfo=ET)
    assert "US-NY-NYC" in result.evidence.jurisdictions


@pytest.mark.parametrize(
    "listed",
    [(PhoneType.WORK,), (PhoneType.WORK, PhoneType.MOBILE), (PhoneType.MOBILE, PhoneType.WORK)],
)
def test_washington_work_number_once_per_week(listed: tuple[PhoneType, ...]) -> None:
    """WA-19.16.250: at most 1 communication per week at work; a number also listed as a
    mobile is still the work number (the last listing used to decide, and the cap was lost)."""
    work = "+12065550199"
    party = person(
        addresses=(SEATTLE,), phones=tuple(Phone(number=work, type=kind) for kind in listed)
    )
    history = (attempt(datetime(2026, 4, 1, 10, 0, tzinfo=PT), to=work),)

    result = decide(datetime(2026, 4, 3, 10, 0, tzinfo=PT), to=work, party=party, attempts=history)

    assert result.reasons == ("WA-19.16.250",)
    assert result.evidence.counts["WA-19.16.250/work"] == 1


def _cn_party() -> PartyFacts:
    return person(addresses=(SHANGHAI,), phones=(Phone(number=CN_MOBILE),), emails=())


def test_china_fourth_conversation_in_a_day_waits_for_the_next_day() -> None:
    """CN-3: at most 3 effective conversations per debtor per day; next day at 08:00 Beijing."""
    history = tuple(
        attempt(
            datetime(2026, 4, 14, h, 0, tzinfo=SH),
            to=CN_MOBILE,
            outcome=OutcomeKind.CONVERSATION_RIGHT_PARTY,
        )
        for h in (9, 11, 13)
    )

    result = decide(
        datetime(2026, 4, 14, 15, 0, tzinfo=SH),
        to=CN_MOBILE,
        party=_cn_party(),
        attempts=history,
        consents=(),
    )

    assert "CN-3" in result.reasons
    assert result.defer_until == datetime(2026, 4, 15, 8, 0, tzinfo=SH)


@pytest.mark.parametrize(("outcome", "row"), _call_rows())
def test_china_caps_count_each_call_as_what_it_may_have_been(
    outcome: OutcomeKind | None, row: tuple[bool, bool, bool]
) -> None:
    """CN-2 (3 connected calls a day), CN-3 (3 effective conversations a day) and CN-4 (6
    unanswered dials a day to a number) count a call as what it may have been: one still
    ringing when the vendor took it ("accepted") counts under all three, as a pending one does,
    until its disposition says which it was."""
    talk, connected, unanswered = row
    history = tuple(
        attempt(
            datetime(2026, 4, 14, 9, 0, tzinfo=SH) + timedelta(minutes=20 * i),
            to=CN_MOBILE,
            outcome=outcome,
        )
        for i in range(6)
    )

    result = decide(
        datetime(2026, 4, 14, 15, 0, tzinfo=SH),
        to=CN_MOBILE,
        party=_cn_party(),
        attempts=history,
        consents=(),
    )

    counts = result.evidence.counts
    assert (counts["CN-2"], counts["CN-3"], counts["CN-4"]) == (
        6 if connected else 0,
        6 if talk else 0,
        6 if unanswered else 0,
    )
    hits = {"CN-2": connected, "CN-3": talk, "CN-4": unanswered}
    assert set(result.reasons) == {rule for rule, hit in hits.items() if hit}
    if result.reasons:
        assert result.defer_until == datetime(2026, 4, 15, 8, 0, tzinfo=SH)
    else:
        assert result.verdict == Verdict.AUTHORISED


def test_china_seventh_unanswered_dial_to_one_number_is_deferred() -> None:
    """CN-4: at most 6 unanswered dial attempts per day to the same number; other numbers unaffected."""
    other = "+8613900139000"
    party = person(
        addresses=(SHANGHAI,), phones=(Phone(number=CN_MOBILE), Phone(number=other)), emails=()
    )
    history = tuple(
        attempt(datetime(2026, 4, 14, 9, 0, tzinfo=SH) + timedelta(minutes=20 * i), to=CN_MOBILE)
        for i in range(6)
    )
    at = datetime(2026, 4, 14, 15, 0, tzinfo=SH)

    same = decide(at, to=CN_MOBILE, party=party, attempts=history, consents=())
    different = decide(at, to=other, party=party, attempts=history, consents=())

    assert same.reasons == ("CN-4",)
    assert same.defer_until == datetime(2026, 4, 15, 8, 0, tzinfo=SH)
    assert different.verdict == Verdict.AUTHORISED


def test_guarantor_has_a_budget_of_their_own() -> None:
    """A guarantor is a party with their own history: the borrower's calls are not theirs."""
    result = decide(
        datetime(2026, 4, 7, 15, 0, tzinfo=ET),
        party=person(role=PartyRole.GUARANTOR),
        purpose=Purpose.COLLECTION,
    )

    assert result.verdict == Verdict.AUTHORISED


def _calls_across_spring_forward() -> tuple[AttemptRecord, ...]:
    # Sat 7 March 10:30 EST to Fri 13 March 10:30 EDT: clocks go forward on Sun 8 March.
    return tuple(
        attempt(datetime(2026, 3, day, 10, 30, tzinfo=ET), attempt_id=f"c{day}")
        for day in range(7, 14)
    )


@pytest.mark.parametrize("zone", [ET, UTC], ids=["new-york-time", "utc"])
def test_a_rolling_week_is_168_hours_across_a_dst_change(zone: ZoneInfo) -> None:
    """RF-1 counts absolute time: 6 days 23h15m after the first call it is still in the week,
    whatever zone the decision instant is written in (wall-clock arithmetic made it 7 days)."""
    at = datetime(2026, 3, 14, 10, 45, tzinfo=ET).astimezone(zone)

    result = decide(at, attempts=_calls_across_spring_forward())

    assert result.verdict == Verdict.DEFERRED
    assert result.reasons == ("RF-1",)
    assert result.evidence.counts["RF-1"] == 7
    assert result.defer_until == datetime(2026, 3, 14, 11, 30, tzinfo=ET)  # 10:30 EST + 168 h


def test_the_oldest_call_leaves_the_week_168_hours_after_it_was_made() -> None:
    """At 10:30 EST + 168 h (11:30 EDT) only six calls remain in the rolling week."""
    result = decide(
        datetime(2026, 3, 14, 11, 30, tzinfo=ET), attempts=_calls_across_spring_forward()
    )

    assert result.verdict == Verdict.AUTHORISED
    assert result.evidence.counts["RF-1"] == 6


@pytest.mark.parametrize(
    ("mine", "theirs", "verdict"), [(0, 6, "deferred"), (3, 3, "deferred"), (0, 5, "authorised")]
)
def test_china_caps_dials_to_a_shared_number_whoever_was_sought(
    mine: int, theirs: int, verdict: str
) -> None:
    """CN-4 is per contact number: a home phone the borrower shares with a guarantor takes six
    unanswered dials a day in all, not six for each person it might reach. The other person's
    dials do not count towards this person's CN-2 or CN-3."""
    morning = datetime(2026, 4, 14, 9, 0, tzinfo=SH)
    dials = [
        attempt(morning + timedelta(minutes=20 * i), to=CN_MOBILE, outcome=OutcomeKind.NO_ANSWER)
        for i in range(mine + theirs)
    ]

    result = decide(
        datetime(2026, 4, 14, 15, 0, tzinfo=SH),
        to=CN_MOBILE,
        party=_cn_party(),
        attempts=tuple(dials[:mine]),
        number_attempts=tuple(dials[mine:]),
        consents=(),
    )

    assert str(result.verdict) == verdict
    assert result.evidence.counts["CN-4"] == mine + theirs
    assert ("CN-4" in result.reasons) is (verdict == "deferred")


def test_a_policy_recorded_before_cn4_counted_shared_numbers_replays_as_it_was() -> None:
    """P5: under a recorded document whose CN-4 has no ``shared_numbers``, dials made to the
    number for someone else are not counted, as they were not when it was in force."""
    doc = policy_document(load_policy("default"))
    for pack in doc["packs"]:
        for counter in pack.get("counters", []):
            counter.pop("shared_numbers", None)
    then = policy_from_document(rehashed(doc))
    morning = datetime(2026, 4, 14, 9, 0, tzinfo=SH)
    theirs = tuple(
        attempt(morning + timedelta(minutes=20 * i), to=CN_MOBILE, outcome=OutcomeKind.NO_ANSWER)
        for i in range(6)
    )

    def verdict(policy: Policy) -> Verdict:
        at = datetime(2026, 4, 14, 15, 0, tzinfo=SH)
        return decide(
            at, to=CN_MOBILE, party=_cn_party(), number_attempts=theirs, consents=(), policy=policy
        ).verdict

    assert then.version != load_policy("default").version
    assert verdict(then) == Verdict.AUTHORISED
    assert verdict(load_policy("default")) == Verdict.DEFERRED
