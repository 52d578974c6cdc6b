"""What the strategy concluded about a borrower or a debt: recorded in the ledger, past tense.

These are derived events (the orchestrator emits them); the audit re-derives them like any other.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from contracts._base import Message
from contracts.values import LoanId, Money


class Segment(StrEnum):
    """The source articles' four kinds of borrower (shared/seeds/001: 四种典型客户)."""

    COOPERATIVE = "cooperative"  # 正常沟通: reachable, keeps to what was agreed
    UNREACHABLE = "unreachable"  # 失去联系: never reached after repeated attempts
    ABLE_UNWILLING = "able_unwilling"  # 还款能力具备, 还款意愿欠缺: reached, does not pay
    WILLING_UNABLE = "willing_unable"  # 还款能力欠缺, 还款意愿良好: pays in part, asks for a plan


class SegmentAssigned(Message):
    """The borrower moved to a segment; it selects tone, templates and cadence from now on."""

    TYPE = "segment.assigned"
    segment: Segment
    previous: Segment | None = None
    because: str = Field(max_length=200, description="The signal that moved the borrower")


class HandedOffToLegal(Message):
    """The debt reached the playbook's legal stage: no further contact from the strategy."""

    TYPE = "legal.handed_off"
    loan_id: LoanId
    days_past_due: int = Field(ge=0)
    amount_overdue: Money


class RepaymentPlanBroken(Message):
    """An instalment of an agreed plan was not paid by its date plus grace: collection resumes."""

    TYPE = "repayment_plan.broken"
    loan_id: LoanId
    missed_due_date: date


class RepaymentPlanCompleted(Message):
    """Every instalment of the agreed plan was paid."""

    TYPE = "repayment_plan.completed"
    loan_id: LoanId
