"""A synthetic portfolio: borrowers across US states and China, their loans, and the upstream
events 30 days of servicing would emit. Pure and seeded: the same seed gives the same events."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts import (
    BorrowerProfiled,
    CeaseRequested,
    ConsentGranted,
    DelinquencyUpdated,
    DisputeOpened,
    DisputeResolved,
    InstalmentDue,
    LoanOpened,
    Message,
    PartyLinked,
    PaymentReceived,
    PlannedInstalment,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    ThirdPartyRefused,
)
from contracts.values import Address, Channel, Email, EmailKind, Money, PartyRole, Phone, PhoneType

# (state, city, area codes, zone, weight, the city's ZIP codes from, to): a ZIP code in another
# state would make the person's whereabouts two states (zones.yaml us_zip_prefixes).
US_PLACES = (
    ("CA", "Los Angeles", ("213", "310", "415"), "America/Los_Angeles", 18, 90001, 90089),
    ("NY", "New York", ("212", "718"), "America/New_York", 6, 10001, 10282),
    ("NY", "Albany", ("518",), "America/New_York", 4, 12201, 12260),
    ("MA", "Boston", ("617", "508"), "America/New_York", 10, 2108, 2137),
    ("WA", "Seattle", ("206", "425"), "America/Los_Angeles", 5, 98101, 98199),
    ("TX", "Austin", ("512", "214"), "America/Chicago", 10, 78701, 78799),
    ("FL", "Miami", ("305", "407"), "America/New_York", 8, 33101, 33199),
    ("IL", "Chicago", ("312", "773"), "America/Chicago", 5, 60601, 60699),
    ("AZ", "Phoenix", ("602",), "America/Phoenix", 4, 85001, 85099),
)
CN_PLACES = (("11", "Beijing"), ("31", "Shanghai"), ("44", "Guangzhou"), ("51", "Chengdu"))
OTHER_AREA = ("212", "415", "312", "305", "206")  # a mobile kept from another state (RF-7)


@dataclass(frozen=True)
class Scheduled:
    at: datetime
    borrower_id: str
    message: Message


@dataclass
class Borrower:
    borrower_id: str
    country: str
    mobile: str
    language: str
    stop_at: datetime | None = None  # when this person will reply STOP (via the vendor simulator)


@dataclass
class Portfolio:
    start: datetime
    days: int
    borrowers: list[Borrower] = field(default_factory=list)
    events: list[Scheduled] = field(default_factory=list)


def _us_number(rng: random.Random, area: str) -> str:
    return f"+1{area}{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(0, 9999):04d}"


def _cn_number(rng: random.Random) -> str:
    return f"+86{rng.choice(('138', '139', '150', '186'))}{rng.randint(0, 99999999):08d}"


def generate(
    n: int, days: int = 30, seed: int = 7, start: datetime | None = None, stop_rate: float = 0.04
) -> Portfolio:
    rng = random.Random(seed)
    start = start or datetime(2026, 3, 2, tzinfo=UTC)  # spans the US DST change on 2026-03-08
    portfolio = Portfolio(start=start, days=days)
    weights = [p[4] for p in US_PLACES]
    for i in range(n):
        bid = f"b{i:06d}"
        lid = f"L{i:06d}"
        china = rng.random() < 0.3
        if china:
            region, city = rng.choice(CN_PLACES)
            zone = ZoneInfo("Asia/Shanghai")
            address = Address(
                country="CN", region=region, city=city, lines=(f"{rng.randint(1, 300)}号",)
            )
            mobile = _cn_number(rng)
            phones: tuple[Phone, ...] = (Phone(number=mobile, type=PhoneType.MOBILE),)
            language, currency = "zh-CN", "CNY"
        else:
            region, city, areas, zone_name, _, zip_from, zip_to = rng.choices(US_PLACES, weights)[0]
            zone = ZoneInfo(zone_name)
            address = Address(
                country="US",
                region=region,
                city=city,
                postal_code=f"{rng.randint(zip_from, zip_to):05d}",
                lines=(f"{rng.randint(1, 999)} Main St",),
            )
            area = rng.choice(OTHER_AREA) if rng.random() < 0.15 else rng.choice(areas)
            mobile = _us_number(rng, area)
            phones = (Phone(number=mobile, type=PhoneType.MOBILE),)
            if rng.random() < 0.3:
                phones = (
                    *phones,
                    Phone(number=_us_number(rng, rng.choice(areas)), type=PhoneType.WORK),
                )
            language, currency = "en", "USD"
        emails: tuple[Email, ...] = (Email(address=f"{bid}@mail.example", kind=EmailKind.PERSONAL),)
        if rng.random() < 0.2:
            emails = (*emails, Email(address=f"{bid}@employer.example", kind=EmailKind.WORK))
        t0 = start + timedelta(minutes=rng.randint(0, 600))
        ev: list[tuple[datetime, Message]] = [
            (
                t0,
                BorrowerProfiled(
                    party_id=bid,
                    name=f"Borrower {i}",
                    language="zh-CN" if china else "en",
                    declared_time_zone=zone.key if rng.random() < 0.2 else None,
                    addresses=(address,),
                    phones=phones,
                    emails=emails,
                ),
            ),
            (
                t0,
                LoanOpened(
                    loan_id=lid,
                    # A product with its own playbook (services/strategy/playbooks/bnpl.yaml).
                    product="bnpl" if rng.random() < 0.15 else "instalment",
                    principal=Money(amount=Decimal(rng.randint(5, 50) * 100), currency=currency),
                    guarantor_contact_allowed=rng.random() < 0.1,
                    # US agencies collecting for others (Reg F applies: RF-20's validation
                    # notice) beside first-party lenders collecting their own loans.
                    third_party_collector=not china and rng.random() < 0.6,
                ),
            ),
        ]
        if rng.random() < 0.88:  # TCPA prior express consent for texts and calls to the mobile
            for channel in (Channel.SMS, Channel.CALL):
                ev.append(
                    (
                        t0,
                        ConsentGranted(
                            party_id=bid,
                            channel=channel,
                            address=mobile,
                            written=True,
                            received_at=t0,
                        ),
                    )
                )
            ev.append(
                (
                    t0,
                    ConsentGranted(
                        party_id=bid, channel=Channel.EMAIL, written=True, received_at=t0
                    ),
                )
            )
        if rng.random() < 0.08:
            gid = f"g{i:06d}"
            gmobile = _cn_number(rng) if china else _us_number(rng, rng.choice(OTHER_AREA))
            ev.append(
                (
                    t0,
                    PartyLinked(
                        loan_id=lid,
                        party_id=gid,
                        role=PartyRole.GUARANTOR,
                        name=f"Guarantor {i}",
                        addresses=(address,),
                        phones=(Phone(number=gmobile),),
                    ),
                )
            )
        if rng.random() < 0.06:  # a pre-agreed contact person (预留联系人), home phone only
            contact_id = f"c{i:06d}"
            ev.append(
                (
                    t0,
                    PartyLinked(
                        loan_id=lid,
                        party_id=contact_id,
                        role=PartyRole.CONTACT_PERSON,
                        relationship="sibling",
                        name=f"Contact {i}",
                        phones=(
                            Phone(
                                number=_cn_number(rng)
                                if china
                                else _us_number(rng, rng.choice(OTHER_AREA)),
                                type=PhoneType.HOME,
                            ),
                        ),
                    ),
                )
            )
            # Half of China's contact persons tell the desk to stop calling them, a week after
            # the loan opens (CN-3: never contacted again). Drawn apart from the portfolio's own
            # numbers, so the rest of a seed's portfolio is what it was without refusals.
            if china and random.Random(f"{seed}:{bid}:refuses").random() < 0.5:
                refused_at = datetime.combine(
                    (t0 + timedelta(days=7)).astimezone(zone).date(), time(15, 0), tzinfo=zone
                ).astimezone(UTC)
                if refused_at < start + timedelta(days=days):
                    ev.append(
                        (
                            refused_at,
                            ThirdPartyRefused(party_id=contact_id, reported_at=refused_at),
                        )
                    )
        due = (start + timedelta(days=rng.randint(2, max(3, days // 2)))).date()
        amount = Money(amount=Decimal(rng.randint(50, 900)), currency=currency)
        ev.append((t0, InstalmentDue(loan_id=lid, instalment_no=1, due_date=due, amount=amount)))
        behaviour = rng.random()
        pay_dpd = 0 if behaviour < 0.35 else rng.randint(2, 12) if behaviour < 0.6 else None
        promise_dpd = 3 if 0.6 <= behaviour < 0.72 else None
        partial_dpd = 5 if 0.72 <= behaviour < 0.8 else None  # willing but unable
        plan_dpd = 6 if 0.8 <= behaviour < 0.86 else None  # agrees a plan; some keep it
        keeps_plan = rng.random() < 0.5
        if plan_dpd is not None and keeps_plan:
            pay_dpd = plan_dpd + 15  # the last instalment settles the debt
        nightly = time(6, 0)  # servicing's nightly batch, in the borrower's zone
        # The servicer's balance: the principal less what was paid by the snapshot's time (the
        # validation notice states it, RF-20).
        principal = next(m.principal.amount for _, m in ev if isinstance(m, LoanOpened))
        paid: list[tuple[datetime, Decimal]] = []
        for dpd in range(1, days + 1):
            day = due + timedelta(days=dpd)
            at = datetime.combine(day, nightly, tzinfo=zone).astimezone(UTC)
            if at >= start + timedelta(days=days):
                break
            if pay_dpd is not None and dpd >= pay_dpd:
                break
            ev.append(
                (
                    at,
                    DelinquencyUpdated(
                        loan_id=lid,
                        days_past_due=dpd,
                        amount_overdue=amount,
                        as_of=day,
                        balance=Money(
                            amount=principal - sum(p for t, p in paid if t <= at),
                            currency=currency,
                        ),
                    ),
                )
            )
            if promise_dpd == dpd:
                ev.append(
                    (
                        at + timedelta(hours=6),
                        PromiseToPayMade(
                            loan_id=lid, amount=amount, promised_date=day + timedelta(days=4)
                        ),
                    )
                )
            if partial_dpd == dpd:
                part = Money(amount=(amount.amount / 3).quantize(Decimal("1")), currency=currency)
                ev.append(
                    (
                        at + timedelta(hours=7),
                        PaymentReceived(loan_id=lid, amount=part, paid_in_full=False),
                    )
                )
                paid.append((at + timedelta(hours=7), part.amount))
            if plan_dpd == dpd:
                half = Money(amount=(amount.amount / 2).quantize(Decimal("1")), currency=currency)
                dues = (day + timedelta(days=5), day + timedelta(days=15))
                ev.append(
                    (
                        at + timedelta(hours=8),
                        RepaymentPlanAgreed(
                            loan_id=lid,
                            instalments=tuple(
                                PlannedInstalment(due_date=d, amount=half) for d in dues
                            ),
                        ),
                    )
                )
                kept = dues[:1]  # a keeper's second instalment is the payment in full below
                for d in kept:
                    on = datetime.combine(d, time(11, 0), tzinfo=zone).astimezone(UTC)
                    ev.append((on, PaymentReceived(loan_id=lid, amount=half, paid_in_full=False)))
                    paid.append((on, half.amount))
            if dpd == 5 and rng.random() < 0.03:
                # Verified and answered four days later (RF-21): collection resumes after.
                dispute = f"{lid}-dispute-1"
                ev.append((at + timedelta(hours=5), DisputeOpened(loan_id=lid, dispute_id=dispute)))
                ev.append(
                    (at + timedelta(days=4), DisputeResolved(loan_id=lid, dispute_id=dispute))
                )
            if dpd == 6 and rng.random() < 0.02:
                ev.append((at + timedelta(hours=4), CeaseRequested(party_id=bid, loan_id=lid)))
        if pay_dpd is not None:
            paid_at = datetime.combine(
                due + timedelta(days=pay_dpd), time(12, 30), tzinfo=zone
            ).astimezone(UTC)
            if paid_at < start + timedelta(days=days):
                ev.append((paid_at, PaymentReceived(loan_id=lid, amount=amount, paid_in_full=True)))
        stop_at = None
        if rng.random() < stop_rate:
            stop_at = datetime.combine(
                due + timedelta(days=2), time(19, 15), tzinfo=zone
            ).astimezone(UTC)
        portfolio.borrowers.append(Borrower(bid, address.country, mobile, language, stop_at))
        portfolio.events.extend(Scheduled(at, bid, m) for at, m in ev)
    portfolio.events.sort(key=lambda s: (s.at, s.borrower_id))
    return portfolio


def day_of(instant: datetime) -> date:
    return instant.astimezone(UTC).date()
