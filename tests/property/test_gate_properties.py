"""Property tests: the gate against an independent checker (rule_checker.py) on random people,
30-day histories, consent ledgers, holds and intents.

Deferral exactness is checked at gate level: no instant sampled strictly between ``at`` and
``defer_until`` is authorised by the gate, and at ``defer_until`` the gate no longer defers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.decisions import Verdict
from contracts.outcomes import OutcomeKind
from contracts.values import (
    Address,
    Channel,
    Email,
    EmailKind,
    LocalTimeRange,
    PartyRole,
    Phone,
    PhoneType,
    Purpose,
)
from services.compliance.core import (
    AttemptRecord,
    ConsentRecord,
    ContactIntent,
    DebtFacts,
    GateInput,
    GateResult,
    PartyFacts,
    evaluate,
    load_policy,
)
from tests.property.rule_checker import (
    ADDRESS_PLACES,
    PHONE_PLACES,
    suppress_violations,
    time_violations,
    violations,
)

POLICY = load_policy("default")
LOANS = ("L1", "L2")
EMAILS = (
    Email(address="pat@example.com"),
    Email(address="pat@employer.example", kind=EmailKind.WORK),
)
# Around DST changes (US March/November, UK March/October) and ordinary days.
DAYS = [
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 6, 15, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2027, 1, 20, tzinfo=UTC),
    # TC-5 binds from 2027-01-31: the day before (its start crosses the zones) and after.
    datetime(2027, 1, 30, tzinfo=UTC),
    datetime(2027, 2, 8, tzinfo=UTC),
]
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

addresses = st.sampled_from(
    [
        Address(country=c, region=r, city=city, postal_code=postal)
        for c, r, city, postal in ADDRESS_PLACES
    ]
)
phones = st.builds(
    Phone, number=st.sampled_from(sorted(PHONE_PLACES)), type=st.sampled_from(list(PhoneType))
)


@st.composite
def parties(draw: st.DrawFn) -> PartyFacts:
    phone_list = draw(
        st.lists(
            phones,
            min_size=draw(st.sampled_from([0, 1, 1, 1])),
            max_size=2,
            unique_by=lambda p: p.number,
        )
    )

    def rare() -> bool:
        return draw(st.integers(0, 19)) == 0

    times = (
        draw(st.lists(st.tuples(st.integers(0, 23), st.integers(1, 6)), max_size=1))
        if rare() or rare()
        else []
    )
    return PartyFacts(
        party_id="p1",
        role=draw(
            st.sampled_from(
                [PartyRole.BORROWER] * 6 + [PartyRole.GUARANTOR, PartyRole.CONTACT_PERSON]
            )
        ),
        addresses=tuple(
            draw(
                st.lists(
                    addresses, min_size=draw(st.sampled_from([0, 1, 1])), max_size=2, unique=True
                )
            )
        ),
        phones=tuple(phone_list),
        emails=tuple(draw(st.lists(st.sampled_from(EMAILS), max_size=2, unique=True))),
        vulnerable=rare(),
        inconvenient_times=tuple(
            LocalTimeRange(start=time(h), end=time((h + n) % 24)) for h, n in times
        ),
        no_contact_at_work=draw(st.booleans()),
        deceased=rare(),
        bankrupt=rare(),
        cease_loans=frozenset({"L1"}) if rare() else frozenset(),
        attorney_loans=frozenset({"L1"}) if rare() else frozenset(),
        third_party_refused=rare(),
        debtor_unreachable=draw(st.booleans()),
    )


def _destinations(party: PartyFacts, channel: Channel) -> list[str | None]:
    if channel == Channel.EMAIL:
        return [e.address for e in party.emails] or [None]
    if channel == Channel.LETTER:
        return [None]
    return [p.number for p in party.phones] or [None]


@st.composite
def scenarios(draw: st.DrawFn) -> GateInput:
    party = draw(parties())
    at = draw(st.sampled_from(DAYS)) + timedelta(minutes=draw(st.integers(0, 2 * 24 * 60 - 1)))
    channels = st.sampled_from([Channel.CALL] * 3 + [Channel.SMS, Channel.EMAIL, Channel.LETTER])
    attempts = []
    for n in range(draw(st.integers(0, 30))):
        channel = draw(channels)
        attempts.append(
            AttemptRecord(
                attempt_id=f"h{n}",
                loan_id=draw(st.sampled_from(LOANS)),
                channel=channel,
                to=draw(st.sampled_from(_destinations(party, channel))),
                at=at - timedelta(minutes=draw(st.integers(1, 30 * 24 * 60))),
                outcome=draw(st.one_of(st.none(), st.sampled_from(list(OutcomeKind)))),
                purpose=draw(st.sampled_from([Purpose.COLLECTION] * 4 + list(Purpose))),
            )
        )
    consents = []
    for _ in range(draw(st.integers(0, 4))):
        channel = draw(st.sampled_from([Channel.CALL, Channel.SMS, Channel.EMAIL]))
        received = at + timedelta(minutes=draw(st.integers(-40 * 24 * 60, 60)))
        # Mostly effective on receipt; sometimes back-dated or dated to take effect later.
        dated = draw(st.sampled_from([0, 0, 0, -1, 1])) * draw(st.integers(1, 3 * 24 * 60))
        address = draw(st.sampled_from([None, *_destinations(party, channel)]))
        if channel is Channel.EMAIL and address is not None and draw(st.booleans()):
            address = address.upper()  # the same mailbox, as a person may type it
        consents.append(
            ConsentRecord(
                channel=channel,
                address=address,
                purpose=draw(
                    st.sampled_from([None, None, None, Purpose.REMINDER, Purpose.COLLECTION])
                ),
                granted=draw(st.booleans()),
                received_at=received,
                effective_at=received + timedelta(minutes=dated),
                # Now and then stamped as received after it was processed: a clock ahead.
                processed_at=received + timedelta(seconds=draw(st.integers(-300, 600))),
                written=draw(st.booleans()),
            )
        )
    channel = draw(channels)
    intent = ContactIntent(
        attempt_id="intent",
        party_id="p1",
        loan_id=draw(st.sampled_from(LOANS)),
        channel=channel,
        to=draw(st.sampled_from(_destinations(party, channel))),
        purpose=draw(st.sampled_from([Purpose.COLLECTION] * 4 + list(Purpose))),
        at=at,
    )
    borrower = tuple(draw(st.lists(addresses, max_size=1)))
    # Now and then a number shared with someone else on file, dialled for them earlier that day.
    shared = []
    if intent.channel == Channel.CALL and intent.to is not None and draw(st.integers(0, 3)) == 0:
        for n in range(draw(st.integers(3, 9))):
            shared.append(
                AttemptRecord(
                    attempt_id=f"o{n}",
                    loan_id=draw(st.sampled_from(LOANS)),
                    channel=Channel.CALL,
                    to=intent.to,
                    at=at - timedelta(minutes=draw(st.integers(1, 6 * 60))),
                    # Mostly unanswered: enough of them in a day is what a cap per number is for.
                    outcome=draw(st.sampled_from([OutcomeKind.NO_ANSWER] * 4 + list(OutcomeKind))),
                    purpose=Purpose.COLLECTION,
                )
            )
    return GateInput(
        intent=intent,
        party=party,
        debt=DebtFacts(
            intent.loan_id,
            disputed=draw(st.integers(0, 9)) == 0,
            # Often for a guarantor, whom it concerns; now and then for anyone else too.
            co_debtor_stay=draw(st.integers(0, 1 if party.role is PartyRole.GUARANTOR else 4)) == 0,
        ),
        attempts=tuple(sorted(attempts, key=lambda a: a.at)),
        consents=tuple(consents),
        borrower_addresses=borrower,
        number_attempts=tuple(sorted(shared, key=lambda a: a.at)),
    )


def _at(inp: GateInput, when: datetime) -> GateInput:
    intent = inp.intent
    moved = ContactIntent(
        intent.attempt_id,
        intent.party_id,
        intent.loan_id,
        intent.channel,
        intent.to,
        intent.purpose,
        when,
    )
    # Everything else as it was: the shared number's dials too (CN-4), which a probe without
    # them would miss, finding an instant the gate rightly refused "authorised".
    return replace(inp, intent=moved)


def _describe(result: GateResult) -> str:
    return f"{result.verdict} {result.reasons} until={result.defer_until}"


@SETTINGS
@given(scenarios())
def test_authorised_contacts_break_no_rule(inp: GateInput) -> None:
    """P1: whenever the gate authorises, the independent checker finds no broken rule."""
    result = evaluate(inp, POLICY)
    event(str(result.verdict))

    if result.verdict == Verdict.AUTHORISED:
        assert violations(inp) == set(), _describe(result)


@SETTINGS
@given(scenarios())
def test_every_refusal_is_justified(inp: GateInput) -> None:
    """The gate is not stricter than the rules: a suppression or deferral has a checker reason."""
    result = evaluate(inp, POLICY)

    if result.verdict == Verdict.SUPPRESSED and not suppress_violations(inp):
        # Only allowed when the time rules never clear together within the gate's horizon
        # (e.g. windows in zones 12 hours apart): the checker must then find a time rule
        # broken at every sampled instant of the next two days.
        for step in range(2 * 24 * 4):
            probe = _at(inp, inp.intent.at + timedelta(minutes=15 * step))
            assert time_violations(probe), (_describe(result), step)
    if result.verdict == Verdict.DEFERRED:
        assert not suppress_violations(inp), _describe(result)
        assert time_violations(inp), _describe(result)


@SETTINGS
@given(
    scenarios(),
    st.lists(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), min_size=3, max_size=3),
)
def test_deferral_is_to_the_exact_earliest_instant(inp: GateInput, fractions: list[float]) -> None:
    """At defer_until the gate does not defer again; no sampled earlier instant was authorised."""
    result = evaluate(inp, POLICY)
    event(f"{result.verdict} {' '.join(result.reasons[:2])}")
    if result.verdict != Verdict.DEFERRED:
        return
    assert result.defer_until is not None
    until, at = result.defer_until, inp.intent.at

    again = evaluate(_at(inp, until), POLICY)
    probes = [at + (until - at) * f for f in fractions] + [until - timedelta(seconds=1)]

    assert until > at
    assert again.verdict != Verdict.DEFERRED, f"{_describe(result)} then {_describe(again)}"
    if again.verdict == Verdict.AUTHORISED:
        assert violations(_at(inp, until)) == set()
    for probe in probes:
        if at < probe < until:
            assert evaluate(_at(inp, probe), POLICY).verdict != Verdict.AUTHORISED, probe


# A borrower with a phone and standing consent to call it, in a place under Reg F (RF-1, RF-2)
# or China's guidelines (CN-2, CN-3, CN-4): the call caps and the cooldown then decide.
CALL_PLACES = [
    (Address(country="US", region="NY", city="Albany", postal_code="12207"), "+15185550100"),
    (Address(country="CN", region="SH", city="Shanghai"), "+8613800138000"),
]


@st.composite
def call_scenarios(draw: st.DrawFn) -> GateInput:
    address, number = draw(st.sampled_from(CALL_PLACES))
    party = PartyFacts(
        party_id="p1",
        role=PartyRole.BORROWER,
        addresses=(address,),
        phones=(Phone(number=number, type=PhoneType.MOBILE),),
    )
    at = draw(st.sampled_from(DAYS)) + timedelta(minutes=draw(st.integers(0, 2 * 24 * 60 - 1)))
    calls = [
        AttemptRecord(
            attempt_id=f"h{n}",
            loan_id=draw(st.sampled_from(LOANS)),
            channel=Channel.CALL,
            to=number,
            at=at - timedelta(minutes=draw(st.integers(1, 9 * 24 * 60))),
            outcome=draw(st.one_of(st.none(), st.sampled_from(list(OutcomeKind)))),
            purpose=Purpose.COLLECTION,
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    since = at - timedelta(days=400)
    grant = ConsentRecord(Channel.CALL, None, None, True, since, since, since, written=True)
    intent = ContactIntent(
        "intent", "p1", draw(st.sampled_from(LOANS)), Channel.CALL, number, Purpose.COLLECTION, at
    )
    return GateInput(
        intent=intent,
        party=party,
        debt=DebtFacts(intent.loan_id),
        attempts=tuple(sorted(calls, key=lambda a: a.at)),
        consents=(grant,),
    )


@SETTINGS
@given(call_scenarios())
def test_calls_are_counted_as_the_rules_count_them(inp: GateInput) -> None:
    """Call histories with every outcome, and pending ones: the gate authorises a call exactly
    when the checker finds no rule broken. A call whose disposition is not in (pending, or only
    taken by the vendor) is whatever the rules need it to be for the strict reading."""
    result = evaluate(inp, POLICY)
    event(str(result.verdict))

    assert (result.verdict == Verdict.AUTHORISED) == (violations(inp) == set()), (
        _describe(result),
        violations(inp),
    )
