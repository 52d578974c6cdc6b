"""Obligations with a deadline (RF-20's validation notice, TC-3's revocation SLA), proved over a
history after the fact. Pure: the audit passes in what the ledger recorded and the instant the
log ends; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import holidays

from contracts.outcomes import OutcomeKind
from contracts.values import Channel, Purpose
from services.compliance.core import schema
from services.compliance.core.model import AttemptRecord
from services.compliance.core.policy import Policy

# Attempts that never left (not a communication, and not a notice given).
_NEVER_SENT = {OutcomeKind.EXPIRED, OutcomeKind.CANCELLED, OutcomeKind.FAILED}
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


def deadline(rule: schema.ObligationRule, received_at: datetime, country: str) -> datetime:
    """The instant by which an obligation starting at ``received_at`` must be met. Business days
    skip Saturdays, Sundays and the country's public holidays (the ``holidays`` package)."""
    if not rule.business_days:
        return received_at + timedelta(days=rule.within_days)
    calendar = holidays.country_holidays(
        country, years=range(received_at.year, received_at.year + 2)
    )
    day, left = received_at.date(), rule.within_days
    while left:
        day += timedelta(days=1)
        if _business_day(day, calendar):
            left -= 1
    return received_at + timedelta(days=(day - received_at.date()).days)


def _business_day(day: date, calendar: holidays.HolidayBase) -> bool:
    return day.weekday() < 5 and day not in calendar
