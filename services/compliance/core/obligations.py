"""Obligations with a deadline (RF-20's validation notice, TC-3's revocation SLA), proved over a
history after the fact. Pure: the audit passes in what the ledger recorded and the instant the
log ends; nothing here reads a clock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Purpose
from services.compliance.core import schema
from services.compliance.core.model import AttemptRecord
from services.compliance.core.policy import Policy

# Attempts that never left (not a communication, and not a notice given).
_NEVER_SENT = {
    OutcomeKind.EXPIRED,
    OutcomeKind.CANCELLED,
    OutcomeKind.FAILED,
    OutcomeKind.OPTED_OUT,  # the vendor refused it: the person had opted out with the vendor
}
# A notice that came back did not reach the consumer: it was not given.
_NOT_GIVEN = _NEVER_SENT | {OutcomeKind.BOUNCED, OutcomeKind.UNDELIVERED}
# Purposes that convey information about the debt: the first one starts RF-20's clock. A
# location inquiry must not (RF-13), and a confirmation of payment comes after it.
_ABOUT_THE_DEBT = {Purpose.REMINDER, Purpose.COLLECTION}


@dataclass(frozen=True, slots=True)
class Breach:
    rule: str
    loan_id: str
    detail: str


def rules_of(
    policy: Policy, jurisdictions: tuple[str, ...], kind: str
) -> list[schema.ObligationRule]:
    return [o for p in policy.packs_for(jurisdictions) for o in p.obligations if o.kind == kind]


def _communication(a: AttemptRecord) -> bool:
    if a.purpose not in _ABOUT_THE_DEBT or a.outcome in _NEVER_SENT:
        return False
    # RF-18: a voicemail (or an unanswered call) is an attempt, not a communication.
    return a.channel is not Channel.CALL or a.outcome is OutcomeKind.CONVERSATION_RIGHT_PARTY


def validation_notice_breaches(
    rule: schema.ObligationRule,
    loan_id: str,
    attempts: Iterable[AttemptRecord],
    paid_in_full_at: datetime | None,
    log_ends_at: datetime,
) -> list[Breach]:
    """RF-20: a notice given in, or within N days after, the first communication about the debt
    (not needed if the debt was paid before the deadline; not yet due if the log ends first)."""
    mine = sorted((a for a in attempts if a.loan_id == loan_id), key=lambda a: a.at)
    first = next((a for a in mine if _communication(a)), None)
    if first is None:
        return []
    deadline = first.at + timedelta(days=rule.within_days)
    if log_ends_at < deadline or (paid_in_full_at is not None and paid_in_full_at <= deadline):
        return []
    given = [
        a for a in mine if a.purpose is Purpose.VALIDATION_NOTICE and a.outcome not in _NOT_GIVEN
    ]
    if any(a.at <= deadline for a in given):
        return []
    return [
        Breach(
            rule.id,
            loan_id,
            f"first communication {first.at.isoformat()} ({first.channel.value}); "
            f"no validation notice by {deadline.isoformat()}",
        )
    ]


def applies(rule: schema.ObligationRule, channel: Channel, starts_at: datetime) -> bool:
    """Whether an obligation starting at ``starts_at`` in ``channel`` is held to ``rule``."""
    if rule.channels and channel not in rule.channels:
        return False
    zone = ZoneInfo(rule.calendar_zone)
    return rule.in_force_from is None or starts_at.astimezone(zone).date() >= rule.in_force_from


def deadline(rule: schema.ObligationRule, starts_at: datetime) -> datetime:
    """The instant by which an obligation starting at ``starts_at`` must be met."""
    if not rule.business_days:
        return starts_at + timedelta(days=rule.within_days)
    zone = ZoneInfo(rule.calendar_zone)
    last = add_business_days(
        rule.calendar_country, starts_at.astimezone(zone).date(), rule.within_days
    )
    return datetime.combine(last + timedelta(days=1), time(0), zone)


def add_business_days(country: str, day: date, n: int) -> date:
    """The ``n``-th business day after ``day`` (``day`` itself never counts)."""
    while n > 0:
        day += timedelta(days=1)
        n -= is_business_day(country, day)
    return day


def is_business_day(country: str, day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(country, day.year)


@functools.cache
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))
