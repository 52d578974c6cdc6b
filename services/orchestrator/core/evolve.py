"""evolve: fold one event into a borrower's state. Deterministic, no I/O; mutates in place
for speed (state is rebuilt from the ledger, so it is never shared or persisted).

Times the gate compares over and over (attempts, outcomes, consents) are kept ``shareable``: as
read from the log each has a tzinfo object of its own, and every comparison of two of them then
asks both for their offsets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts import (
    AttorneyRepresented,
    BankruptcyFiled,
    BorrowerProfiled,
    CeaseRequested,
    ConsentGranted,
    ConsentRevoked,
    ContactDecided,
    ContactOutcomeRecorded,
    ContactPreferenceStated,
    DeceasedReported,
    DelinquencyUpdated,
    DispatchStarted,
    DisputeOpened,
    DisputeResolved,
    InstalmentDue,
    LoanOpened,
    Message,
    PartyLinked,
    PaymentReceived,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    ThirdPartyRefused,
    TimerFired,
    TimerScheduled,
    Verdict,
)
from contracts.ledger import IntentDropped, NumberOptedOut
from contracts.strategy import (
    HandedOffToLegal,
    RepaymentPlanBroken,
    RepaymentPlanCompleted,
    SegmentAssigned,
)
from contracts.values import PartyRole, Purpose
from services.compliance.core.localtime import shareable
from services.compliance.core.model import ConsentRecord
from services.orchestrator.core.state import (
    Attempt,
    BorrowerState,
    DisputeStatus,
    Loan,
    Party,
    Plan,
    Promise,
    Timer,
)


def _borrower(state: BorrowerState) -> Party:
    party = state.parties.get(state.borrower_id)
    if party is None:
        party = Party(party_id=state.borrower_id, role=PartyRole.BORROWER)
        state.parties[state.borrower_id] = party
    return party


def _party(state: BorrowerState, party_id: str) -> Party:
    """The person a fact is about. One not on file yet (a guarantor's consent or cease that
    arrives before the link naming them) is kept under their own id until ``_linked`` says who
    they are: filed with the borrower, another person's consent would let the borrower be
    called (TC-1), and their cease would hold the borrower instead of them. Linked to no debt,
    such a person is never contacted (the strategy and desk requests ask only about a debt
    the person is linked to)."""
    if party_id == state.borrower_id:
        return _borrower(state)
    party = state.parties.get(party_id)
    if party is None:
        party = state.parties[party_id] = Party(party_id=party_id, role=PartyRole.CONTACT_PERSON)
    return party


def _loan(state: BorrowerState, loan_id: str) -> Loan:
    loan = state.loans.get(loan_id)
    if loan is None:
        loan = Loan(loan_id=loan_id)
        state.loans[loan_id] = loan
        _borrower(state).loans.add(loan_id)
    return loan


def _index_addresses(state: BorrowerState, party: Party) -> None:
    for phone in party.phones:
        state.addresses[phone.number] = party.party_id
    for email in party.emails:
        state.addresses[email.address.lower()] = party.party_id


def _profiled(state: BorrowerState, m: BorrowerProfiled, now: datetime) -> None:
    p = _borrower(state)
    p.name, p.language, p.declared_time_zone = m.name, m.language, m.declared_time_zone
    p.addresses, p.phones, p.emails, p.vulnerable = m.addresses, m.phones, m.emails, m.vulnerable
    _index_addresses(state, p)


def _linked(state: BorrowerState, m: PartyLinked, now: datetime) -> None:
    party = state.parties.get(m.party_id)
    if party is None:
        party = Party(party_id=m.party_id, role=PartyRole(m.role))
    elif not party.loans:  # on file only from facts that came before this link
        party.role = PartyRole(m.role)
    party.name, party.addresses, party.phones, party.emails = (
        m.name,
        m.addresses,
        m.phones,
        m.emails,
    )
    party.language, party.declared_time_zone = m.language, m.declared_time_zone
    # Once known, kept: a later link (to another debt) that does not say so is no evidence the
    # person is not vulnerable, and forgetting it would let automated contact resume (UK-1).
    party.vulnerable = party.vulnerable or m.vulnerable
    party.loans.add(m.loan_id)
    party.roles[m.loan_id] = PartyRole(m.role)
    state.parties[m.party_id] = party
    _index_addresses(state, party)


def _opened(state: BorrowerState, m: LoanOpened, now: datetime) -> None:
    loan = _loan(state, m.loan_id)
    loan.product, loan.currency = m.product, m.principal.currency
    loan.guarantor_contact_allowed = m.guarantor_contact_allowed
    loan.third_party_collector = m.third_party_collector


def _due(state: BorrowerState, m: InstalmentDue, now: datetime, posted: bool = True) -> None:
    loan = _loan(state, m.loan_id)
    loan.next_due_date, loan.next_due_amount = m.due_date, m.amount.amount
    # Announced again (a redelivery from another system): what was paid towards it stays, and
    # one paid off stays paid.
    if m.due_date in loan.instalments_paid or m.due_date in loan.unpaid_instalments:
        return
    if posted and loan.as_of is not None and m.due_date < loan.as_of:
        # In the last snapshot's arrears (or paid as them, _cover_instalments): not an
        # instalment to come, nor one missed since (stale_after_payment).
        return
    loan.unpaid_instalments[m.due_date] = m.amount.amount
    if loan.credit > 0:  # paid ahead, before it was announced
        loan.credit = _cover_instalments(loan, loan.credit)


def _delinquent(
    state: BorrowerState, m: DelinquencyUpdated, now: datetime, posted: bool = True
) -> None:
    loan = _loan(state, m.loan_id)
    if stale_snapshot(loan, m, posted):
        return
    loan.as_of = m.as_of
    if m.days_past_due > 0:
        # Behind after having been brought up to date (a snapshot at 0 days past due, or a
        # payment that cleared what was overdue): a new episode, whose stages start over with
        # fresh attempt ids. Paying off the oldest missed instalment while a later one is still
        # overdue is not being up to date, however the servicer then counts the days.
        if loan.episode == 0 or loan.current:
            loan.episode += 1
            loan.stages_run = {}
        loan.current = False
    else:
        loan.current = True
    loan.days_past_due, loan.amount_overdue = m.days_past_due, m.amount_overdue.amount
    if m.balance is not None:
        loan.balance = m.balance.amount
    if m.days_past_due > 0:
        loan.paid_in_full = False


def stale_snapshot(loan: Loan, m: DelinquencyUpdated, posted: bool = True) -> bool:
    """A snapshot older than one already applied (systems' records cross and are redelivered:
    an old one would move the debt back in time), or one from before payment in full."""
    older = loan.as_of is not None and m.as_of < loan.as_of
    return older or stale_after_payment(loan, m, posted)


def stale_after_payment(loan: Loan, m: DelinquencyUpdated, posted: bool = True) -> bool:
    """A snapshot of the debt as it stood on or before the day a payment brought it up to date
    (paid in full, or what was overdue cleared), arriving after the payment: servicing and
    payments are separate systems, and their records cross. It describes arrears that no
    longer exist, and must not restart collection nor put them back. ``as_of`` is the
    servicer's local date, which may be up to 14 hours ahead of UTC (Kiribati; China is 8):
    the payment's day is taken there, which only widens it for borrowers further west.

    So is one still behind in the ``POSTING_LAG`` after that day, until a snapshot shows the
    payment posted (up to date, dated after the payment's day) or an instalment falls due
    unpaid: the servicer may post a payment days after the payments system reported it
    (ADR 0021). ``posted`` False folds an entry written before that (``POSTED_FROM_REVISION``).
    """
    paid = loan.current_at  # set by payment in full too
    if paid is None or not (loan.paid_in_full or (loan.current and m.days_past_due > 0)):
        return False
    paid_on = (paid + _LATEST_OFFSET).date()
    if m.as_of <= paid_on or not posted:
        return m.as_of <= paid_on
    # In the lag only a snapshot still behind is ignored; one up to date applies and, dated
    # after the payment's day, shows it posted: arrears reported after that are new. So are
    # arrears when an instalment announced has fallen due unpaid by the snapshot's date (a debt
    # paid in full owes no instalment, whatever was announced).
    shown = loan.as_of is not None and loan.as_of > paid_on
    missed = not loan.paid_in_full and any(due < m.as_of for due in loan.unpaid_instalments)
    lagging = m.as_of <= paid_on + POSTING_LAG and not (shown or missed)
    return m.days_past_due > 0 and lagging


_LATEST_OFFSET = timedelta(hours=14)  # the furthest any zone is ahead of UTC
# How long after a payment's day a servicer's snapshot may still not show it. Card payments
# post the next business day; an ACH debit may be returned for two banking days after it
# settles (NACHA R01), so over a weekend a payment is known to stick 4 to 5 days later. A
# snapshot still behind after this is taken as the payment not sticking, and collected on.
POSTING_LAG = timedelta(days=5)


def _paid(state: BorrowerState, m: PaymentReceived, now: datetime, posted: bool = True) -> None:
    loan = _loan(state, m.loan_id)
    loan.payments += 1
    rest = m.amount.amount - min(m.amount.amount, loan.amount_overdue)
    announced = set(loan.unpaid_instalments)
    left = _cover_instalments(loan, loan.credit + rest)
    if posted:
        loan.credit = left
    # An instalment paid off on, after or just before its due date: the servicer's snapshots
    # may show it missed until the payment posts, as after paying arrears.
    soon = (now + _LATEST_OFFSET).date() + POSTING_LAG
    paid_when_due = posted and any(d in loan.instalments_paid and d <= soon for d in announced)
    # A payment towards a promise not yet kept (in one payment or several) is what was asked
    # for, not paying in part unasked.
    towards_promise = loan.promise is not None and not loan.promise.kept
    if loan.promise is not None:
        loan.promise.paid += m.amount.amount
    if loan.plan is not None:
        loan.plan.paid += m.amount.amount
    elif not m.paid_in_full and not towards_promise:
        loan.partial_payments += 1  # paying in part, unasked: willing but unable (segments)
    overdue = loan.amount_overdue
    loan.amount_overdue = max(overdue - m.amount.amount, overdue * 0)
    if loan.balance is not None:
        loan.balance = max(loan.balance - m.amount.amount, loan.balance * 0)
    fallen_due = any(d < now.date() for d in loan.unpaid_instalments)
    behind = (
        overdue > 0
        or paid_when_due
        or (loan.episode > 0 and not loan.current and not loan.paid_in_full)
    )
    if behind and loan.amount_overdue == 0 and not fallen_due:
        # What was overdue is paid, and no instalment has fallen due unpaid since the last
        # snapshot: up to date. In one payment or several: the first may clear the arrears
        # while an instalment that fell due since stays unpaid, and the next pay that.
        loan.current, loan.current_at = True, now
    if m.paid_in_full:
        loan.paid_in_full_at = now
        loan.current, loan.current_at = True, now
        loan.paid_in_full, loan.days_past_due, loan.amount_overdue = (
            True,
            0,
            loan.amount_overdue * 0,
        )
        loan.promise = None
        loan.credit = loan.credit * 0  # nothing is left to pay ahead for
        if loan.balance is not None:
            loan.balance = loan.balance * 0


def _cover_instalments(loan: Loan, rest: Decimal) -> Decimal:
    """What a payment leaves after the arrears pays the other instalments, earliest first (one
    that fell due since the last snapshot before one not yet due); one paid off joins
    ``instalments_paid`` (its reminder is withdrawn). An instalment due before the last
    snapshot's date is in that snapshot's arrears, which the payment has just paid first.
    Returns what is left over: the credit towards instalments not yet announced."""
    if loan.as_of is not None:
        for due in [d for d in loan.unpaid_instalments if d < loan.as_of]:
            del loan.unpaid_instalments[due]
    for due in sorted(loan.unpaid_instalments):
        if rest <= 0:
            break
        paid = min(rest, loan.unpaid_instalments[due])
        rest -= paid
        if paid == loan.unpaid_instalments[due]:
            del loan.unpaid_instalments[due]
            loan.instalments_paid.add(due)
        else:
            loan.unpaid_instalments[due] -= paid
    return max(rest, rest * 0)


def _promised(state: BorrowerState, m: PromiseToPayMade, now: datetime) -> None:
    _loan(state, m.loan_id).promise = Promise(m.amount.amount, m.promised_date)


def _plan_agreed(state: BorrowerState, m: RepaymentPlanAgreed, now: datetime) -> None:
    loan = _loan(state, m.loan_id)
    # In date order, whatever order the message lists them in: payments cover them earliest
    # first (Plan.covered), and a plan paid on time must not break.
    loan.plan = Plan(tuple(sorted((i.due_date, i.amount.amount) for i in m.instalments)))
    loan.promise = None  # the plan supersedes any promise


def _plan_ended(
    state: BorrowerState, m: RepaymentPlanBroken | RepaymentPlanCompleted, now: datetime
) -> None:
    loan = _loan(state, m.loan_id)
    loan.plan = None
    if isinstance(m, RepaymentPlanBroken):
        loan.plans_broken += 1


def _handed_off(state: BorrowerState, m: HandedOffToLegal, now: datetime) -> None:
    _loan(state, m.loan_id).handed_off = True


def _segmented(state: BorrowerState, m: SegmentAssigned, now: datetime) -> None:
    state.segment = m.segment


def _refused(state: BorrowerState, m: ThirdPartyRefused, now: datetime) -> None:
    party = _party(state, m.party_id)
    if party.role is not PartyRole.BORROWER:
        party.third_party_refused = True


def _consent(state: BorrowerState, m: ConsentGranted | ConsentRevoked, now: datetime) -> None:
    party = _party(state, m.party_id)
    party.consents.append(
        ConsentRecord(
            channel=m.channel,
            address=m.address,
            purpose=m.purpose,
            granted=isinstance(m, ConsentGranted),
            received_at=shareable(m.received_at),
            effective_at=shareable(m.effective_at or m.received_at),
            processed_at=now,
            written=getattr(m, "written", False),
        )
    )


def _number_opted_out(state: BorrowerState, m: NumberOptedOut, now: datetime) -> None:
    kept = state.number_opt_outs.get(m.number, ())
    if m not in kept:  # the same reply read again adds nothing
        state.number_opt_outs[m.number] = (*kept, m)


def _preference(state: BorrowerState, m: ContactPreferenceStated, now: datetime) -> None:
    party = _party(state, m.party_id)
    party.inconvenient_times, party.no_contact_at_work = m.inconvenient_times, m.no_contact_at_work


# Producers' clocks differ: an opening up to this much older than the change on file for its
# dispute is still applied, since holding contact is the safe way to be wrong. An older one is a
# re-send. (The orchestrator takes inputs up to ``max_clock_skew``, 5 minutes, ahead of its own.)
OPENING_TOLERANCE = timedelta(minutes=5)


def _dispute(
    state: BorrowerState, m: DisputeOpened | DisputeResolved, occurred_at: datetime
) -> None:
    """Open or resolve a dispute, unless what is on file for it changed after this did.
    Upstream may re-send an old resolution under a new event id once the dispute has been
    reopened: applied in arrival order it would lift the reopened dispute, and collection would
    resume on a disputed debt."""
    loan = _loan(state, m.loan_id)
    if isinstance(m, DisputeResolved) and m.dispute_id is None:
        # Every dispute of the debt opened before it, including one that arrives after it.
        if loan.disputes_resolved_at is None or loan.disputes_resolved_at < occurred_at:
            loan.disputes_resolved_at = occurred_at
        for key, known in loan.disputes.items():
            if known.changed_at <= occurred_at:
                loan.disputes[key] = DisputeStatus(False, occurred_at)
        return
    key = m.dispute_id or ""
    status = loan.disputes.get(key)
    last = status.changed_at if status is not None else loan.disputes_resolved_at
    if isinstance(m, DisputeOpened):
        if last is None or occurred_at >= last - OPENING_TOLERANCE:
            loan.disputes[key] = DisputeStatus(
                True, occurred_at if last is None else max(last, occurred_at)
            )
        return
    unnamed = loan.disputes.get("")
    if (
        status is None
        and unnamed is not None
        and unnamed.open
        and unnamed.changed_at <= occurred_at
    ):
        # Opened before the producer named disputes, resolved by name since: the only one it
        # can be. Left open, the debt would be held for good.
        loan.disputes[""] = DisputeStatus(False, occurred_at)
    if last is None or last <= occurred_at:
        loan.disputes[key] = DisputeStatus(False, occurred_at)


def _cease(state: BorrowerState, m: CeaseRequested, now: datetime) -> None:
    party = _party(state, m.party_id)
    if m.loan_id is None:
        party.cease_all = True
    else:
        party.cease_loans.add(m.loan_id)


def _attorney(state: BorrowerState, m: AttorneyRepresented, now: datetime) -> None:
    _party(state, m.party_id).attorney_loans.add(m.loan_id)


def _bankrupt(state: BorrowerState, m: BankruptcyFiled, now: datetime) -> None:
    party = _party(state, m.party_id)
    if not party.bankrupt or m.chapter is not None:  # a later filing naming no chapter keeps it
        party.bankruptcy_chapter = m.chapter
    party.bankrupt = True


def _deceased(state: BorrowerState, m: DeceasedReported, now: datetime) -> None:
    _party(state, m.party_id).deceased = True


def _decided(state: BorrowerState, m: ContactDecided, now: datetime) -> None:
    state.verdicts[m.attempt_id] = m.verdict
    loan = state.loans.get(m.loan_id)
    if loan is not None:
        if m.purpose is Purpose.VALIDATION_NOTICE:
            loan.validation_notice_asked = True
        if m.stage is not None:
            loan.stages_run.setdefault(m.stage, set()).add(m.attempt_id)
    if m.verdict is Verdict.AUTHORISED:
        # P2: the attempt counts against every cap from the moment it is reserved.
        state.attempts[m.attempt_id] = Attempt(
            attempt_id=m.attempt_id,
            party_id=m.party_id,
            loan_id=m.loan_id,
            channel=m.channel,
            to=m.to,
            purpose=m.purpose,
            at=shareable(m.decided_at),
            stage=m.stage,
        )


def _scheduled(state: BorrowerState, m: TimerScheduled, now: datetime) -> None:
    state.timers[m.timer_id] = Timer(m.timer_id, m.due_at, m.kind, m.intent, m.reason)


def _fired(state: BorrowerState, m: TimerFired, now: datetime) -> None:
    timer = state.timers.pop(m.timer_id, None)
    if timer is not None and timer.reason == "promise_check" and timer.intent is not None:
        # The check fires only if the promise was not kept (a kept one withdraws it).
        loan = _loan(state, timer.intent.loan_id)
        loan.promises_broken += 1
        loan.promise = None


def _dropped(state: BorrowerState, m: IntentDropped, now: datetime) -> None:
    for timer_id in [
        t.timer_id
        for t in state.timers.values()
        if t.intent and t.intent.attempt_id == m.attempt_id
    ]:
        intent = state.timers.pop(timer_id).intent
        loan = state.loans.get(intent.loan_id) if intent is not None else None
        if intent is not None and loan is not None and intent.stage is not None:
            # Withdrawn while it waited (a promise's pause): that contact of the stage did not
            # happen, and must not count as the stage having run.
            run = loan.stages_run.get(intent.stage)
            if run is not None and m.attempt_id not in state.attempts:
                run.discard(m.attempt_id)
                if not run:
                    del loan.stages_run[intent.stage]


def _dispatch_started(state: BorrowerState, m: DispatchStarted, now: datetime) -> None:
    attempt = state.attempts.get(m.attempt_id)
    if attempt is not None:
        attempt.dispatched = True


# Outcomes that say nothing about the person's side; a later, more specific one replaces them.
# Vendors do not promise order, so among these only a step forward counts: a late "accepted"
# never undoes "delivered" (ADR 0004).
_PROVISIONAL = {"outcome_unknown": 0, "accepted": 1, "delivered": 2}


def _outcome(state: BorrowerState, m: ContactOutcomeRecorded, now: datetime) -> None:
    attempt = state.attempts.get(m.attempt_id)
    if attempt is None:
        return
    current = attempt.outcome
    if current is not None and current.value not in _PROVISIONAL:
        return  # a definite outcome stands
    new_rank = _PROVISIONAL.get(m.outcome.value)
    if current is None or new_rank is None or new_rank > _PROVISIONAL[current.value]:
        attempt.outcome, attempt.outcome_at = m.outcome, shareable(m.reported_at)


_APPLY: dict[type[Message], Callable[[BorrowerState, Any, datetime], None]] = {
    BorrowerProfiled: _profiled,
    PartyLinked: _linked,
    LoanOpened: _opened,
    PromiseToPayMade: _promised,
    RepaymentPlanAgreed: _plan_agreed,
    RepaymentPlanBroken: _plan_ended,
    RepaymentPlanCompleted: _plan_ended,
    HandedOffToLegal: _handed_off,
    SegmentAssigned: _segmented,
    ThirdPartyRefused: _refused,
    ConsentGranted: _consent,
    ConsentRevoked: _consent,
    NumberOptedOut: _number_opted_out,
    ContactPreferenceStated: _preference,
    CeaseRequested: _cease,
    AttorneyRepresented: _attorney,
    BankruptcyFiled: _bankrupt,
    DeceasedReported: _deceased,
    ContactDecided: _decided,
    TimerScheduled: _scheduled,
    TimerFired: _fired,
    IntentDropped: _dropped,
    DispatchStarted: _dispatch_started,
    ContactOutcomeRecorded: _outcome,
}


# Upstream facts applied as the core revision that wrote them did (POSTED_FROM_REVISION).
_APPLY_AS_WRITTEN: dict[type[Message], Callable[[BorrowerState, Any, datetime, bool], None]] = {
    InstalmentDue: _due,
    DelinquencyUpdated: _delinquent,
    PaymentReceived: _paid,
}

# Upstream facts applied by when they occurred, not by when they arrived (``_dispute``).
_APPLY_AS_OF: dict[type[Message], Callable[[BorrowerState, Any, datetime], None]] = {
    DisputeOpened: _dispute,
    DisputeResolved: _dispute,
}


# The core revision from which an entry's input is ordered by when it occurred. Entries written
# before it applied disputes as they arrived, and are folded so again: the state they were
# decided on is the state the ledger must give back (P5).
TIME_ORDERED_FROM_REVISION = 13
# The core revision from which payments are taken as possibly not yet posted (a snapshot in the
# lag ignored, credit kept, an instalment paid when due bringing the debt up to date; ADR 0021).
POSTED_FROM_REVISION = 14


def revision_of(strategy_version: str) -> int | None:
    """The decision core's revision that wrote an entry: its strategy version ends
    ``.r<revision>`` (``orchestrator.context``). None if it names none."""
    _, _, revision = strategy_version.rpartition(".r")
    return int(revision) if revision.isdigit() else None


def evolve(
    state: BorrowerState,
    message: Message,
    now: datetime,
    occurred_at: datetime | None = None,
    revision: int | None = None,
) -> BorrowerState:
    """Apply one fact, at ``now``. An input passes its envelope's ``occurred_at``: some facts
    are ordered by it (Parley's own events occur at ``now``). A recorded input passes the
    revision of the core that wrote it (``revision_of``), and is folded as that core applied
    it; None is this one. Types without an effect on state (tasks, requests) are ignored."""
    handler = _APPLY.get(type(message))
    if handler is not None:
        handler(state, message, now)
    elif (as_written := _APPLY_AS_WRITTEN.get(type(message))) is not None:
        as_written(state, message, now, revision is None or revision >= POSTED_FROM_REVISION)
    elif (dated := _APPLY_AS_OF.get(type(message))) is not None:
        in_time = revision is None or revision >= TIME_ORDERED_FROM_REVISION
        dated(state, message, occurred_at if in_time and occurred_at is not None else now)
    return state
