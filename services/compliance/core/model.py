"""What the compliance gate reads and what it returns. Pure data: no I/O, no clock of its own.

The orchestrator builds a ``GateInput`` from per-borrower state (the complete history of the
person across all channels, P1) and calls ``evaluate(GateInput, Policy)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.decisions import Evidence, RuleOutcome, Verdict
from contracts.outcomes import OutcomeKind
from contracts.values import (
    Address,
    Channel,
    Email,
    LocalTimeRange,
    PartyRole,
    Phone,
    Purpose,
)


@dataclass(frozen=True, slots=True)
class ContactIntent:
    """One intended contact attempt, at instant ``at`` (the clock value the gate must use)."""

    attempt_id: str
    party_id: str
    loan_id: str
    channel: Channel
    to: str | None  # E.164 phone or email address; None for a letter
    purpose: Purpose
    at: datetime  # aware


@dataclass(frozen=True, slots=True)
class PartyFacts:
    party_id: str
    role: PartyRole
    addresses: tuple[Address, ...] = ()
    phones: tuple[Phone, ...] = ()
    emails: tuple[Email, ...] = ()
    declared_time_zone: str | None = None
    vulnerable: bool = False
    inconvenient_times: tuple[LocalTimeRange, ...] = ()
    no_contact_at_work: bool = False
    deceased: bool = False
    bankrupt: bool = False
    cease_all: bool = False  # RF-11 for every debt
    cease_loans: frozenset[str] = frozenset()
    attorney_loans: frozenset[str] = frozenset()  # RF-10
    third_party_refused: bool = False  # CN-3: a contact who refused is never contacted again
    debtor_unreachable: bool = False  # CN-3 precondition for contacting a third party


@dataclass(frozen=True, slots=True)
class DebtFacts:
    loan_id: str
    disputed: bool = False
    third_party_collector: bool = True
    # The borrower's bankruptcy stays collection from co-debtors too (chapter 12 or 13, or not
    # known): a guarantor is held where a pack says so (BK-1301).
    co_debtor_stay: bool = False


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """An attempt already reserved for this person (counts from reservation, P2)."""

    attempt_id: str
    loan_id: str
    channel: Channel
    to: str | None
    at: datetime  # reserved-at (authorisation instant)
    outcome: OutcomeKind | None = None
    outcome_at: datetime | None = None
    # Added for RF-11 (at most 3 cease messages), RF-13 (one location inquiry) and TC-4 (one
    # opt-out confirmation): these count attempts of one purpose. None = purpose not recorded.
    purpose: Purpose | None = None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """Bitemporal: when it was received, when it takes effect, when Parley processed it."""

    channel: Channel
    address: str | None  # None = every address of that medium
    purpose: Purpose | None  # None = every purpose
    granted: bool  # False = revoked / opted out
    received_at: datetime
    effective_at: datetime
    processed_at: datetime
    written: bool = False


@dataclass(frozen=True, slots=True)
class GateInput:
    intent: ContactIntent
    party: PartyFacts
    debt: DebtFacts
    attempts: tuple[AttemptRecord, ...] = ()  # this person's attempts, all channels and debts
    consents: tuple[ConsentRecord, ...] = ()  # this person's consent ledger, in processing order
    borrower_addresses: tuple[Address, ...] = field(default=())  # for jurisdiction of a debt
    # Other people's attempts to the number this intent dials (a home phone a borrower shares
    # with a guarantor): a cap per number (CN-4) counts every dial to it, whoever was sought.
    number_attempts: tuple[AttemptRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class GateResult:
    verdict: Verdict
    reasons: tuple[str, ...]  # rule ids that suppressed or deferred
    rules: tuple[RuleOutcome, ...]  # every rule evaluated, in order
    evidence: Evidence
    defer_until: datetime | None = None
