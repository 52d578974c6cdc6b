"""The compliance gate's decisions (P4): each explains itself with rules, evidence and clock."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts._base import Message
from contracts.values import (
    AttemptId,
    Channel,
    EmailAddress,
    LoanId,
    PartyId,
    PhoneNumber,
    Purpose,
    _Value,
)


class Verdict(StrEnum):
    AUTHORISED = "authorised"
    SUPPRESSED = "suppressed"
    DEFERRED = "deferred"


class RuleOutcome(_Value):
    """One rule's verdict on an intended contact."""

    rule_id: str = Field(description="Source id from the rule pack, e.g. RF-1")
    effect: Literal["pass", "suppress", "defer"]
    detail: str = ""
    until: AwareDatetime | None = Field(
        default=None, description="For defer: earliest instant it clears"
    )


class Window(_Value):
    """The allowed interval around the decision instant, intersected over all candidate zones."""

    opens_at: AwareDatetime | None
    closes_at: AwareDatetime | None


class Evidence(_Value):
    candidate_zones: tuple[str, ...]
    window: Window
    counts: dict[str, int] = Field(
        default_factory=dict, description="counter id -> attempts in window"
    )
    consent: str = Field(
        default="", description="Consent record that allowed or barred the contact"
    )
    holds: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()


class ContactDecided(Message):
    """Authorise, suppress or defer one intended contact attempt."""

    TYPE = "contact.decided"
    attempt_id: AttemptId
    party_id: PartyId
    loan_id: LoanId
    channel: Channel
    to: PhoneNumber | EmailAddress | None
    purpose: Purpose
    verdict: Verdict
    reasons: tuple[str, ...] = Field(default=(), description="Rule ids that suppressed or deferred")
    rules: tuple[RuleOutcome, ...] = ()
    evidence: Evidence
    policy_version: str = Field(description="Content hash of the policy data in force")
    decided_at: AwareDatetime = Field(description="The clock value the gate used")
    defer_until: AwareDatetime | None = None
    origin: Literal["strategy", "request", "timer"] = "strategy"
    request_id: str | None = None
    stage: str | None = None
