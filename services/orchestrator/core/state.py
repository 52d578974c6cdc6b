"""Per-borrower state: a projection of the ledger (never persisted on its own)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from contracts.decisions import Verdict
from contracts.ledger import ContactIntent, NumberOptedOut
from contracts.outcomes import OutcomeKind
from contracts.strategy import Segment
from contracts.values import (
    Address,
    Channel,
    Email,
    LocalTimeRange,
    PartyRole,
    Phone,
    Purpose,
)
from services.compliance.core.model import (
    AttemptRecord,
    ConsentRecord,
    DebtFacts,
    GateInput,
    PartyFacts,
)
from services.compliance.core.model import ContactIntent as GateIntent


@dataclass(slots=True)
class Party:
    party_id: str
    role: PartyRole
    name: str = ""
    language: str | None = None  # as profiled or linked; unset: see BorrowerState.language_of
    declared_time_zone: str | None = None
    addresses: tuple[Address, ...] = ()
    phones: tuple[Phone, ...] = ()
    emails: tuple[Email, ...] = ()
    vulnerable: bool = False
    inconvenient_times: tuple[LocalTimeRange, ...] = ()
    no_contact_at_work: bool = False
    deceased: bool = False
    bankrupt: bool = False
    bankruptcy_chapter: int | None = None  # as filed, where known
    cease_all: bool = False
    third_party_refused: bool = False  # CN-3: never contacted again
    cease_loans: set[str] = field(default_factory=set)
    attorney_loans: set[str] = field(default_factory=set)
    loans: set[str] = field(default_factory=set)
    # loan -> the role a link gave this person on it: a guarantor of one debt may be only a
    # contact person for another, and must not be spoken to about it as if liable (RF-13).
    roles: dict[str, PartyRole] = field(default_factory=dict)
    consents: list[ConsentRecord] = field(default_factory=list)

    def role_on(self, loan_id: str) -> PartyRole:
        """This person's role on a debt: as linked to it, else their role on file."""
        return self.roles.get(loan_id, self.role)

    def facts(self, *, debtor_unreachable: bool = False, loan_id: str | None = None) -> PartyFacts:
        return PartyFacts(
            party_id=self.party_id,
            role=self.role if loan_id is None else self.role_on(loan_id),
            addresses=self.addresses,
            phones=self.phones,
            emails=self.emails,
            declared_time_zone=self.declared_time_zone,
            vulnerable=self.vulnerable,
            inconvenient_times=self.inconvenient_times,
            no_contact_at_work=self.no_contact_at_work,
            deceased=self.deceased,
            bankrupt=self.bankrupt,
            cease_all=self.cease_all,
            cease_loans=frozenset(self.cease_loans),
            attorney_loans=frozenset(self.attorney_loans),
            third_party_refused=self.third_party_refused,
            debtor_unreachable=debtor_unreachable,
        )


def co_debtors_stayed(borrower: Party) -> bool:
    """Whether the borrower's bankruptcy also stays collection from co-debtors (guarantors):
    chapters 12 and 13 do (11 U.S.C. 1201, 1301), 7 and 11 do not; a filing whose chapter is
    not known is taken as one that does. Which jurisdictions honour it is pack data."""
    return borrower.bankrupt and borrower.bankruptcy_chapter not in (7, 11)


def third_party_contact_held(borrower: Party, loan_id: str) -> bool:
    """The borrower's holds stop third-party contact about them too: once a consumer is known
    to be represented (FDCPA 1692b(6)), has asked to cease, is bankrupt or deceased, nobody is
    asked where they are about this debt. The strategy asks no one (ask._locate), pending
    inquiries are withdrawn (decide) and in-flight ones cancelled at dispatch (recheck)."""
    return (
        borrower.cease_all
        or loan_id in borrower.cease_loans
        or loan_id in borrower.attorney_loans
        or borrower.bankrupt
        or borrower.deceased
    )


def inquiry_held(state: BorrowerState, party_id: str, loan_id: str) -> str | None:
    """Why this person may not be asked where the borrower is, about this debt, or None: the
    borrower's holds (``third_party_contact_held``), or the person refused (CN-3). The gate
    holds only the person it is asked about, so the strategy withdraws such inquiries (decide)
    and the channel worker cancels them (recheck)."""
    borrower = state.parties.get(state.borrower_id)
    if borrower is not None and third_party_contact_held(borrower, loan_id):
        return "borrower"
    party = state.parties.get(party_id)
    if party is not None and party.third_party_refused:
        return "third_party_refused"
    return None


@dataclass(slots=True)
class Promise:
    amount: Decimal
    promised_date: date
    paid: Decimal = Decimal(0)  # paid since the promise was made, in one payment or several

    @property
    def kept(self) -> bool:
        return self.paid >= self.amount


@dataclass(slots=True)
class Plan:
    """An agreed repayment plan: instalments (due date, amount) and what has been paid since."""

    instalments: tuple[tuple[date, Decimal], ...]
    paid: Decimal = Decimal(0)

    def covered(self) -> int:
        """How many instalments, in order, the payments so far cover."""
        total, n = Decimal(0), 0
        for _, amount in self.instalments:
            total += amount
            if self.paid < total:
                break
            n += 1
        return n


@dataclass(frozen=True, slots=True)
class DisputeStatus:
    """Where one dispute stands, and when it last changed by the upstream's clock (the input's
    ``occurred_at``): a change older than that is stale and is not applied."""

    open: bool
    changed_at: datetime


@dataclass(slots=True)
class Loan:
    loan_id: str
    product: str = ""
    currency: str = "USD"
    guarantor_contact_allowed: bool = False
    third_party_collector: bool = True
    # Dispute id ("" for a dispute upstream named no id for) -> where it stands (RF-21).
    disputes: dict[str, DisputeStatus] = field(default_factory=dict)
    disputes_resolved_at: datetime | None = None  # the latest resolution naming no dispute
    days_past_due: int = 0
    amount_overdue: Decimal = Decimal(0)
    # The debt's current amount: the last snapshot's balance less payments since (None: the
    # servicer sends none). What a validation notice states (RF-20, ADR 0022).
    balance: Decimal | None = None
    next_due_date: date | None = None
    next_due_amount: Decimal = Decimal(0)
    # Instalments announced and not yet due, by due date: what is still to pay of each.
    # Payments go to what is overdue first, then to these in due-date order; a covered one
    # leaves (and its reminder is withdrawn). Once due, an instalment is arrears.
    unpaid_instalments: dict[date, Decimal] = field(default_factory=dict)
    instalments_paid: set[date] = field(default_factory=set)  # paid off before falling due
    # Paid beyond the arrears and every instalment announced: it pays instalments announced
    # later, as they are announced (a borrower paying ahead is not reminded to pay again).
    credit: Decimal = Decimal(0)
    paid_in_full: bool = False
    paid_in_full_at: datetime | None = None  # RF-20: no notice needed if paid before it is due
    promise: Promise | None = None
    stage: str | None = None
    plan: Plan | None = None
    # Signals the strategy segments on (seeds: the four kinds of borrower).
    payments: int = 0
    partial_payments: int = 0
    promises_broken: int = 0
    plans_broken: int = 0
    handed_off: bool = False  # to legal: the strategy makes no further contact
    validation_notice_asked: bool = False  # RF-20: asked once, with the first communication
    # Delinquency episodes: the first days-past-due after none (or after payment in full)
    # begins the next. Stage id -> the attempts of it decided in this episode, whatever the
    # verdict, less those withdrawn unsent while deferred: the stages that have run
    # (ask.on_delinquency).
    episode: int = 0
    current: bool = False  # brought up to date since the last snapshot that was behind
    current_at: datetime | None = None  # when a payment last brought it up to date
    as_of: date | None = None  # the latest delinquency snapshot applied
    stages_run: dict[str, set[str]] = field(default_factory=dict)

    def still_to_pay(self, due: date, announced: Decimal) -> Decimal:
        """What is still to pay of the instalment due on ``due``, announced at ``announced``:
        payments made ahead may have paid some or all of it (evolve's credit)."""
        if due in self.instalments_paid:
            return announced * 0
        return self.unpaid_instalments.get(due, announced)

    @property
    def disputed(self) -> bool:
        return any(d.open for d in self.disputes.values())

    def facts(self, *, co_debtor_stay: bool = False) -> DebtFacts:
        return DebtFacts(
            loan_id=self.loan_id,
            disputed=self.disputed,
            third_party_collector=self.third_party_collector,
            co_debtor_stay=co_debtor_stay,
        )


@dataclass(slots=True)
class Attempt:
    attempt_id: str
    party_id: str
    loan_id: str
    channel: Channel
    to: str | None
    purpose: Purpose
    at: datetime
    stage: str | None = None
    dispatched: bool = False
    outcome: OutcomeKind | None = None
    outcome_at: datetime | None = None
    # The gate reads every attempt of a person at every decision about them: the record is made
    # again only when a field it copies has changed (in practice the outcome, once reported).
    _record: AttemptRecord | None = field(default=None, repr=False, compare=False)

    def record(self) -> AttemptRecord:
        made = self._record
        if (
            made is not None
            and made.outcome is self.outcome
            and made.outcome_at is self.outcome_at
            and made.at is self.at
            and made.to is self.to
            and made.channel is self.channel
            and made.purpose is self.purpose
            and made.loan_id is self.loan_id
            and made.attempt_id is self.attempt_id
        ):
            return made
        made = self._record = AttemptRecord(
            attempt_id=self.attempt_id,
            loan_id=self.loan_id,
            channel=self.channel,
            to=self.to,
            at=self.at,
            outcome=self.outcome,
            outcome_at=self.outcome_at,
            purpose=self.purpose,
        )
        return made


@dataclass(slots=True)
class Timer:
    timer_id: str
    due_at: datetime
    kind: str
    intent: ContactIntent | None = None
    reason: str = ""


@dataclass(slots=True)
class BorrowerState:
    borrower_id: str
    parties: dict[str, Party] = field(default_factory=dict)
    loans: dict[str, Loan] = field(default_factory=dict)
    attempts: dict[str, Attempt] = field(default_factory=dict)
    timers: dict[str, Timer] = field(default_factory=dict)
    # attempt id -> last verdict; lets a redelivered or repeated intent be recognised (P2)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)
    # who a phone number or email belongs to, for inbound replies and receipts
    addresses: dict[str, str] = field(default_factory=dict)
    segment: Segment | None = None  # as last recorded (SegmentAssigned)
    # Opt-out replies (NumberOptedOut), by the number they came from: applied to whoever a
    # profile or link later gives the number (decide.kept_opt_outs).
    number_opt_outs: dict[str, tuple[NumberOptedOut, ...]] = field(default_factory=dict)

    def party(self, party_id: str) -> Party | None:
        return self.parties.get(party_id)

    def language_of(self, party: Party) -> str:
        """The language to write to a person in: theirs as profiled or linked; for a guarantor
        or contact person whose link named none, the borrower's (the people a borrower names
        mostly share their language: a Chinese borrower's contact asked in English would not
        understand the question); else English."""
        if party.language is not None:
            return party.language
        borrower = self.parties.get(self.borrower_id)
        return borrower.language if borrower is not None and borrower.language else "en"

    def party_facts(self, party: Party, loan_id: str | None = None) -> PartyFacts:
        """What the gate knows of a person (in their role on ``loan_id``, if given), including
        the borrower's reachability (CN-3)."""
        unreachable = self.segment is Segment.UNREACHABLE
        return party.facts(debtor_unreachable=unreachable, loan_id=loan_id)

    def gate_input(self, intent: GateIntent, reserved: Iterable[Attempt] = ()) -> GateInput | None:
        """Everything the gate reads for one intended contact: the person, the debt, their
        attempts (with those reserved earlier in the same decision, P2) and consents. The
        orchestrator decides and the audit re-proves with this one function."""
        party, loan = self.parties.get(intent.party_id), self.loans.get(intent.loan_id)
        if party is None or loan is None:
            return None
        borrower = self.parties.get(self.borrower_id)
        # One pass over the borrower's attempts: this person's, and others' to the number dialled.
        to = None if intent.channel is Channel.EMAIL else intent.to
        theirs: list[AttemptRecord] = []
        others: list[AttemptRecord] = []
        for a in (*self.attempts.values(), *reserved):
            if a.party_id == party.party_id:
                theirs.append(a.record())
            elif to is not None and a.to == to and a.channel is not Channel.EMAIL:
                others.append(a.record())
        return GateInput(
            intent=intent,
            party=self.party_facts(party, intent.loan_id),
            debt=loan.facts(co_debtor_stay=borrower is not None and co_debtors_stayed(borrower)),
            attempts=tuple(theirs),
            consents=tuple(party.consents),
            borrower_addresses=borrower.addresses if borrower else (),
            number_attempts=tuple(others),
        )
