"""Holds that suppress until the state changes: P1-DEST/ZONE, P6, RF-9/10/11/13, UK-1/2, CN-3."""

from __future__ import annotations

from datetime import datetime

import pytest

from contracts.decisions import Verdict
from contracts.outcomes import OutcomeKind
from contracts.values import (
    Address,
    Channel,
    Email,
    EmailKind,
    PartyRole,
    Phone,
    PhoneType,
    Purpose,
)
from services.compliance.core import ConsentRecord, DebtFacts, PartyFacts
from tests.unit.compliance.gate_builders import (
    EMAIL,
    ET,
    LONDON,
    LONDON_ADDR,
    SH,
    SHANGHAI,
    attempt,
    decide,
    grant,
    person,
    revoke,
)

AT = datetime(2026, 4, 14, 12, 0, tzinfo=ET)


@pytest.mark.parametrize("purpose", [p for p in Purpose if p != Purpose.DISPUTE_RESPONSE])
def test_dispute_suppresses_everything_but_the_dispute_response(purpose: Purpose) -> None:
    """P6: while a debt is disputed only the dispute response may go out."""
    result = decide(AT, purpose=purpose, debt=DebtFacts("L1", disputed=True))

    assert "P6-DISPUTE" in result.reasons


def test_dispute_response_is_allowed_during_a_dispute() -> None:
    """P6: the dispute response itself is the one allowed contact."""
    result = decide(AT, purpose=Purpose.DISPUTE_RESPONSE, debt=DebtFacts("L1", disputed=True))

    assert result.verdict == Verdict.AUTHORISED
    assert result.evidence.holds == ("dispute",)


def test_cease_allows_only_three_acknowledgements() -> None:
    """RF-11: after a cease only the three permitted messages, then nothing."""
    party = person(cease_loans=frozenset({"L1"}))
    three = tuple(
        attempt(
            datetime(2026, 4, d, 10, tzinfo=ET),
            Channel.EMAIL,
            OutcomeKind.DELIVERED,
            to=EMAIL,
            purpose=Purpose.CEASE_ACKNOWLEDGEMENT,
        )
        for d in (1, 2, 3)
    )

    collection = decide(AT, party=party)
    first = decide(
        AT, channel=Channel.EMAIL, to=EMAIL, purpose=Purpose.CEASE_ACKNOWLEDGEMENT, party=party
    )
    fourth = decide(
        AT,
        channel=Channel.EMAIL,
        to=EMAIL,
        purpose=Purpose.CEASE_ACKNOWLEDGEMENT,
        party=party,
        attempts=three,
    )

    assert {"RF-11", "P6-CEASE"} <= set(collection.reasons)
    assert first.verdict == Verdict.AUTHORISED
    assert fourth.reasons == ("RF-11",)


def test_attorney_representation_suppresses_that_debt_only() -> None:
    """RF-10: no direct contact about a debt the person has an attorney for."""
    party = person(attorney_loans=frozenset({"L1"}))

    same = decide(AT, party=party)
    other = decide(AT, party=party, loan="L2")

    assert {"RF-10", "P6-ATTORNEY"} <= set(same.reasons)
    assert other.verdict == Verdict.AUTHORISED


@pytest.mark.parametrize(
    ("fact", "rule"), [("bankrupt", "P6-BANKRUPTCY"), ("deceased", "P6-DECEASED")]
)
def test_bankruptcy_and_death_suppress_all_contact(fact: str, rule: str) -> None:
    """P6: bankruptcy and death stop every contact."""
    party = person(bankrupt=True) if fact == "bankrupt" else person(deceased=True)

    result = decide(AT, purpose=Purpose.PAYMENT_CONFIRMATION, party=party)

    assert result.reasons == (rule,)


GB_MOBILE = "+447911123456"
GB_WORK = "+442079460000"


@pytest.mark.parametrize(
    ("channel", "to", "reasons"),
    [
        (Channel.SMS, GB_MOBILE, ("UK-1",)),
        (Channel.CALL, GB_MOBILE, ("UK-1",)),
        (Channel.EMAIL, EMAIL, ("UK-1",)),
        # A letter still goes: statutory arrears notices are owed to every customer (ADR 0011).
        (Channel.LETTER, None, ()),
    ],
)
def test_vulnerable_uk_customer_gets_no_automated_contact(
    channel: Channel, to: str | None, reasons: tuple[str, ...]
) -> None:
    """UK-1: no automated contact (text, call or email) with a vulnerable customer."""
    party = person(addresses=(LONDON_ADDR,), phones=(Phone(number=GB_MOBILE),), vulnerable=True)
    at = datetime(2026, 4, 14, 12, 0, tzinfo=LONDON)

    result = decide(at, channel=channel, to=to, party=party, consents=())

    assert result.reasons == reasons


@pytest.mark.parametrize(
    ("channel", "to", "barred", "reasons"),
    [
        (Channel.CALL, GB_WORK, True, ("UK-2",)),
        (Channel.SMS, GB_WORK, True, ("UK-2",)),
        (Channel.CALL, GB_WORK, False, ()),
        (Channel.CALL, GB_MOBILE, True, ()),  # the request is about work, not every number
        (Channel.EMAIL, EMAIL, True, ()),
    ],
)
def test_uk_customer_who_said_not_at_work_is_not_contacted_at_work(
    channel: Channel, to: str, barred: bool, reasons: tuple[str, ...]
) -> None:
    """UK-2: a reasonable request about where to be contacted ("not at work") is honoured."""
    phones = (Phone(number=GB_WORK, type=PhoneType.WORK), Phone(number=GB_MOBILE))
    party = person(addresses=(LONDON_ADDR,), phones=phones, no_contact_at_work=barred)
    at = datetime(2026, 4, 14, 12, 0, tzinfo=LONDON)

    result = decide(at, channel=channel, to=to, party=party, consents=())

    assert result.reasons == reasons


WORK_EMAIL = "pat@employer.example"


@pytest.mark.parametrize(
    ("consents", "reasons"),
    [
        ((), ("RF-9",)),
        ((grant(Channel.EMAIL, WORK_EMAIL),), ()),
        ((grant(Channel.EMAIL, WORK_EMAIL, written=True),), ()),
        ((grant(Channel.EMAIL, WORK_EMAIL.upper()),), ()),  # the same mailbox
        ((grant(Channel.EMAIL, WORK_EMAIL, purpose=Purpose.COLLECTION),), ()),
        # Consent to email in general, or to another address, is not consent to this one.
        ((grant(Channel.EMAIL),), ("RF-9",)),
        ((grant(Channel.EMAIL, EMAIL),), ("RF-9",)),
        ((grant(Channel.EMAIL, WORK_EMAIL, purpose=Purpose.REMINDER),), ("RF-9",)),
        ((grant(Channel.SMS, WORK_EMAIL),), ("RF-9",)),
        # Consent given and then withdrawn: the hold stands again, beside the opt-out.
        (
            (
                grant(Channel.EMAIL, WORK_EMAIL),
                revoke(Channel.EMAIL, WORK_EMAIL, at=datetime(2026, 4, 1, tzinfo=ET)),
            ),
            ("P6-OPT-OUT", "RF-16", "RF-9"),
        ),
        # Consent that takes effect only later does not lift it yet.
        ((grant(Channel.EMAIL, WORK_EMAIL, at=datetime(2026, 4, 15, tzinfo=ET)),), ("RF-9",)),
    ],
)
def test_work_email_only_with_the_consumers_consent_to_that_address(
    consents: tuple[ConsentRecord, ...], reasons: tuple[str, ...]
) -> None:
    """RF-9 (1006.22(f)(3)): no email to an employer-provided address unless the consumer
    consented to that address."""
    party = person(emails=(Email(address=WORK_EMAIL, kind=EmailKind.WORK),))

    result = decide(AT, channel=Channel.EMAIL, to=WORK_EMAIL, party=party, consents=consents)

    assert result.reasons == reasons


def test_work_phone_is_barred_once_the_person_says_so() -> None:
    """RF-9: a person who barred work contact is not called at a work number."""
    work = "+15185550199"
    phones = (Phone(number=work, type=PhoneType.WORK),)

    allowed = decide(AT, to=work, party=person(phones=phones))
    barred = decide(AT, to=work, party=person(phones=phones, no_contact_at_work=True))

    assert allowed.verdict == Verdict.AUTHORISED
    assert barred.reasons == ("RF-9",)


def test_third_party_gets_one_location_inquiry_and_nothing_else() -> None:
    """RF-13: a contact person is asked for location once, never about anything else."""
    party = person(role=PartyRole.CONTACT_PERSON)
    earlier = attempt(datetime(2026, 4, 1, 10, tzinfo=ET), purpose=Purpose.LOCATION_INQUIRY)

    first = decide(AT, purpose=Purpose.LOCATION_INQUIRY, party=party)
    second = decide(AT, purpose=Purpose.LOCATION_INQUIRY, party=party, attempts=(earlier,))
    collection = decide(AT, party=party)

    assert first.verdict == Verdict.AUTHORISED
    assert second.reasons == ("RF-13",)
    assert collection.reasons == ("RF-13",)


@pytest.mark.parametrize(
    ("unreachable", "refused", "verdict"),
    [
        (False, False, Verdict.SUPPRESSED),
        (True, False, Verdict.AUTHORISED),
        (True, True, Verdict.SUPPRESSED),
    ],
)
def test_china_contact_person_only_when_debtor_unreachable_and_never_after_refusal(
    unreachable: bool, refused: bool, verdict: Verdict
) -> None:
    """CN-3: contacts only if the debtor is unreachable; a refusal is final."""
    party = _cn_contact_person(unreachable=unreachable, refused=refused)

    result = decide(
        datetime(2026, 4, 14, 12, 0, tzinfo=SH),
        to=CN_MOBILE,
        purpose=Purpose.LOCATION_INQUIRY,
        party=party,
        consents=(),
    )

    assert result.verdict == verdict


@pytest.mark.parametrize(
    "purpose", [Purpose.COLLECTION, Purpose.REMINDER, Purpose.PAYMENT_CONFIRMATION]
)
def test_china_contact_person_is_never_told_of_the_debt(purpose: Purpose) -> None:
    """CN-3 and CN-5: a contact person is only asked where the debtor is, even while the
    debtor is unreachable; collecting from them is refused."""
    party = _cn_contact_person(unreachable=True, refused=False)

    result = decide(
        datetime(2026, 4, 14, 12, 0, tzinfo=SH),
        to=CN_MOBILE,
        purpose=purpose,
        party=party,
        consents=(),
    )

    assert result.reasons == ("CN-3",)
    assert [o.detail for o in result.rules if o.effect == "suppress"] == [
        "contact person: only location_inquiry allowed"
    ]


CN_MOBILE = "+8613800138000"


def _cn_contact_person(*, unreachable: bool, refused: bool) -> PartyFacts:
    return person(
        addresses=(SHANGHAI,),
        phones=(Phone(number=CN_MOBILE),),
        role=PartyRole.CONTACT_PERSON,
        debtor_unreachable=unreachable,
        third_party_refused=refused,
    )


@pytest.mark.parametrize(
    ("channel", "to"),
    [(Channel.CALL, "+15185559999"), (Channel.SMS, None), (Channel.EMAIL, "someone@else.example")],
)
def test_unknown_destination_is_never_contacted(channel: Channel, to: str | None) -> None:
    """P1-DEST: a number or address that is not the party's own is suppressed."""
    result = decide(AT, channel=channel, to=to)

    assert "P1-DEST" in result.reasons


def test_no_candidate_zone_means_no_timed_contact() -> None:
    """P1-ZONE: with no location at all the local time cannot be proven convenient (ZZ: a
    country code no time zone database knows)."""
    party = person(addresses=(Address(country="ZZ"),), phones=())

    email = decide(AT, channel=Channel.EMAIL, to=EMAIL, party=party)
    letter = decide(AT, channel=Channel.LETTER, to=None, party=party)

    assert email.reasons == ("P1-ZONE",)
    assert letter.verdict == Verdict.AUTHORISED


@pytest.mark.parametrize(
    ("role", "stayed", "held"),
    [
        (PartyRole.GUARANTOR, True, True),
        (PartyRole.GUARANTOR, False, False),
        (PartyRole.BORROWER, True, False),  # the borrower's own filing is P6-BANKRUPTCY's
    ],
)
def test_a_guarantor_is_not_pursued_while_the_borrowers_bankruptcy_stays_co_debtors(
    role: PartyRole, stayed: bool, held: bool
) -> None:
    """BK-1301 (11 U.S.C. 1301): a chapter 13 case stays collection from co-debtors too."""
    party = person(role=role)

    result = decide(AT, party=party, debt=DebtFacts("L1", co_debtor_stay=stayed))

    assert ("BK-1301" in result.reasons) is held
    assert (result.verdict is Verdict.SUPPRESSED) is held


def test_the_co_debtor_stay_is_a_us_rule() -> None:
    """China's pack has no co-debtor stay: a guarantor there is contacted as before."""
    cn_mobile = "+8613800138000"
    party = person(
        addresses=(SHANGHAI,), phones=(Phone(number=cn_mobile),), role=PartyRole.GUARANTOR
    )
    at = datetime(2026, 4, 14, 12, 0, tzinfo=SH)

    stayed = decide(at, to=cn_mobile, party=party, debt=DebtFacts("L1", co_debtor_stay=True))
    free = decide(at, to=cn_mobile, party=party, debt=DebtFacts("L1"))

    assert "BK-1301" not in {r.rule_id for r in stayed.rules}
    assert (stayed.verdict, stayed.reasons) == (free.verdict, free.reasons)
