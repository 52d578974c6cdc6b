"""decide: given a borrower's state, one input and the clock, which events follow.

The strategy proposes intents; every intent passes the compliance gate; an authorised intent
becomes a reservation (the ContactDecided event) and a channel task; a deferred one a durable
timer. Pure: the same state, input, clock and policy always give the same events (P5).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from contracts import (
    AttorneyRepresented,
    BankruptcyFiled,
    BorrowerProfiled,
    CeaseRequested,
    ContactDecided,
    ContactOutcomeRecorded,
    DeceasedReported,
    DelinquencyUpdated,
    DisputeOpened,
    InboundMessageReceived,
    InstalmentDue,
    Message,
    PartyLinked,
    PaymentReceived,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    RequestContact,
    ThirdPartyRefused,
    Verdict,
)
from contracts.ledger import (
    ContactIntent,
    IntentDropped,
    NumberOptedOut,
    TimerFired,
    TimerScheduled,
)
from contracts.outcomes import OutcomeKind
from contracts.strategy import (
    HandedOffToLegal,
    RepaymentPlanBroken,
    RepaymentPlanCompleted,
    Segment,
    SegmentAssigned,
)
from contracts.tasks import PlaceCall, SendEmail, SendLetter, SendSms
from contracts.upstream import ConsentRevoked
from contracts.values import Address, Channel, Money, PartyRole, Phone, Purpose
from events.envelope import derive_id
from services.compliance.core import Policy, consent, evaluate, holds
from services.compliance.core.keywords import revoked_by
from services.compliance.core.localtime import loadable_zone
from services.compliance.core.model import ContactIntent as GateIntent
from services.compliance.core.schema import OptOutRule
from services.compliance.core.zones import Places
from services.orchestrator.core.evolve import evolve, stale_snapshot
from services.orchestrator.core.state import (
    Attempt,
    BorrowerState,
    Loan,
    Party,
    inquiry_held,
)
from services.strategy.core import ask
from services.strategy.core.playbook import REQUEST_TEMPLATES, Playbook, Posture, Templates
from services.strategy.core.segments import classify

# The decision core's own revision. The strategy version recorded in every ledger entry names
# the playbooks and templates (their content hash) and this: bump it when decide or fire_timers
# derive different events from the same state, input, clock and playbook, so that
# `parley audit --rederive` re-proves older entries decision by decision instead of reporting
# the new derivation as a mismatch (P5 holds for the same code; ADR 0008).
# 3: promises, stale snapshots, stage catch-up, plan checks, declined requests; 4 to 6:
# delinquency episodes and instalment coverage; 7: a snapshot from before the latest payment
# that brought a debt up to date is stale even when the debt had been paid in full earlier;
# 8: facts about a person not on file kept as theirs, roles per debt, desk requests about a debt
# the person is not on (or a guarantor the contract excludes) declined, a request dropped for
# any reason names the request, a linked person is written to in their (or the borrower's)
# language, and a guarantor's task is marked for the co-debtor stay; 9: paying what was overdue
# withdraws waiting stage contacts (and stops the no-answer text), a dispute withdraws them as a
# promise does, a promise kept during a plan withdraws its check, the borrower's holds and a
# refusal withdraw waiting location inquiries (and decline a desk's), plan instalments in date
# order, a promise in force holds the legal hand-off, a voicemail is an unanswered call, and
# more replies read as opt-outs ("Stop, please", "Opt-out", full-width STOP, 【退订】); 10: more
# replies read as opt-outs again ("dont text me", "OPTOUT", "- quit", a zero-width space before
# the word, 退訂), a snapshot at 0 days past due withdraws waiting stage contacts, arrears and a
# later instalment paid in several payments bring a debt up to date, and neither a promise
# after payment in full or the legal hand-off nor a plan after the hand-off schedules anything,
# a reply naming a medium revokes it at every number ("don't text me", "stop calling"), and a
# borrower reached (their segment no longer asks contact persons) withdraws waiting inquiries;
# 11: an opt-out reply is kept with its number (NumberOptedOut) and revokes it for whoever a
# later profile or link gives it (a number not on file yet, a household phone).
# 12: a text the vendor refused because the person opted out with it (OutcomeKind.OPTED_OUT)
# is kept with the number and revokes texts to it (vendor_opt_out).
# 13: disputes are kept one by one and ordered by when they occurred: a stale resolution lifts
# nothing, and resolving one dispute leaves the debt's others open (evolve._dispute).
# 14: a snapshot still behind in the days after a payment brought the debt up to date, before
# any snapshot shows it posted, is ignored (evolve.POSTING_LAG); what a payment leaves over is
# kept as credit towards instalments announced later (evolve._cover_instalments).
# 15: the validation notice states the debt's balance (DelinquencyUpdated.balance, less payments
# since), where the servicer sends one.
CORE_REVISION = 15


@dataclass(frozen=True)
class Context:
    policy: Policy
    playbook: Playbook  # the default; borrower-wide choices (segments, opt-out) use it
    templates: Templates
    business: str = "Parley Services"
    agent: str = "Alex Morgan"
    callback: str = "+18005550100"
    # A task not dispatched within this long after authorisation is not sent (re-asked instead).
    dispatch_grace: timedelta = timedelta(minutes=15)
    # Product -> its own playbook (a playbook file's `products`); others use the default.
    by_product: Mapping[str, Playbook] = dataclasses.field(default_factory=dict)

    def playbook_for(self, loan: Loan) -> Playbook:
        return self.by_product.get(loan.product, self.playbook)


def local_zone(party: Party | None, policy: Policy) -> ZoneInfo:
    """The zone the strategy schedules in (the gate still checks every candidate zone)."""
    if party is None:
        return ZoneInfo("UTC")
    return _zone(policy.places, party.declared_time_zone, party.addresses, party.phones)


@functools.lru_cache(maxsize=65536)
def _zone(
    places: Places, declared: str | None, addresses: tuple[Address, ...], phones: tuple[Phone, ...]
) -> ZoneInfo:
    if declared and loadable_zone(declared):  # the gate ignores an unloadable one too
        return ZoneInfo(declared)
    home = places.home_zone(addresses, tuple(phone.number for phone in phones))
    return ZoneInfo(home) if home is not None else ZoneInfo("UTC")


def _variables(
    state: BorrowerState, intent: ContactIntent, party: Party, ctx: Context
) -> dict[str, str]:
    loan = state.loans.get(intent.loan_id)
    amount = loan.amount_overdue or _owed_next(loan) if loan else 0
    # Without a balance on file, what is overdue (ADR 0022).
    balance = loan.balance if loan and loan.balance is not None else amount
    currency = loan.currency if loan else ""
    return {
        "name": party.name or "customer",
        "amount": f"{amount:.2f} {currency}".strip(),
        "balance": f"{balance:.2f} {currency}".strip(),
        "due_date": loan.next_due_date.isoformat() if loan and loan.next_due_date else "",
        "dpd": str(loan.days_past_due if loan else 0),
        "business": ctx.business,
        "agent": ctx.agent,
        "callback": ctx.callback,
        **intent.variables,
    }


def _owed_next(loan: Loan) -> Decimal:
    due = loan.next_due_date
    return loan.next_due_amount if due is None else loan.still_to_pay(due, loan.next_due_amount)


def _task(
    state: BorrowerState, intent: ContactIntent, decided: ContactDecided, ctx: Context
) -> Message | None:
    party = state.parties[intent.party_id]
    # Sent no later than the window closes, the dispatch grace ends, or the intent expires: an
    # opt-out's confirmation text expires 5 minutes after the opt-out (TC-4), well inside the
    # grace, and must not leave after it.
    ends = [decided.decided_at + ctx.dispatch_grace, decided.evidence.window.closes_at]
    not_after = min(end for end in (*ends, intent.expires_at) if end is not None)
    language = "zh-CN" if state.language_of(party) == "zh-CN" else "en"
    subject, body = ctx.templates.render(
        language,
        intent.template,
        intent.channel,
        _variables(state, intent, party, ctx),
        intent.tone,
    )
    common = {
        "attempt_id": intent.attempt_id,
        "party_id": intent.party_id,
        "loan_id": intent.loan_id,
        "purpose": intent.purpose,
        "language": language,
        "authorised_at": decided.decided_at,
        "not_after": not_after,
        "to": intent.to,
        "co_debtor_stay": co_debtor_stay_applies(state, decided, ctx.policy),
        "revoked_with": revoked_with(
            decided.channel,
            decided.evidence.candidate_zones,
            revoke_all_rules(decided, ctx.policy),
            not_after,
        ),
    }
    if intent.channel is Channel.LETTER:
        # The gate suppresses a letter to a party with no postal address (P1-DEST).
        recipient = party.name or "The account holder"
        letter = {"recipient": recipient, "to": party.addresses[0], "subject": subject}
        return SendLetter.model_validate({**common, **letter, "body": body})
    assert intent.to is not None  # the gate suppresses a contact with no destination (P1-DEST)
    if intent.channel is Channel.SMS:
        return SendSms.model_validate({**common, "body": body})
    if intent.channel is Channel.EMAIL:
        return SendEmail.model_validate({**common, "subject": subject, "body": body})
    if intent.channel is Channel.CALL:
        return PlaceCall.model_validate({**common, "voicemail": body})
    return None


@dataclass
class Batch:
    """What one decision has reserved and decided so far: a reserved attempt counts against the
    caps at once (P2), and no intent is decided twice in one decision."""

    reserved: list[Attempt] = dataclasses.field(default_factory=list)
    decided: set[str] = dataclasses.field(default_factory=set)


def _pending(state: BorrowerState, attempt_id: str) -> bool:
    return any(
        t.intent is not None and t.intent.attempt_id == attempt_id for t in state.timers.values()
    )


def gate(
    state: BorrowerState,
    intent: ContactIntent,
    now: datetime,
    ctx: Context,
    batch: Batch,
) -> list[Message]:
    """Pass one intent through the compliance gate and turn the verdict into events."""
    if intent.attempt_id in state.attempts or intent.attempt_id in batch.decided:
        return []  # P2: already reserved (redelivery, repeat) or decided in this decision
    batch.decided.add(intent.attempt_id)
    if intent.expires_at is not None and now >= intent.expires_at:
        return [_dropped(intent, "expired")]
    inp = state.gate_input(
        GateIntent(
            attempt_id=intent.attempt_id,
            party_id=intent.party_id,
            loan_id=intent.loan_id,
            channel=intent.channel,
            to=intent.to,
            purpose=intent.purpose,
            at=now,
        ),
        batch.reserved,
    )
    if inp is None:
        return [_dropped(intent, "unknown_party_or_loan")]
    loan = state.loans[intent.loan_id]
    result = evaluate(inp, ctx.policy)
    decided = ContactDecided(
        attempt_id=intent.attempt_id,
        party_id=intent.party_id,
        loan_id=intent.loan_id,
        channel=intent.channel,
        to=intent.to,
        purpose=intent.purpose,
        verdict=result.verdict,
        reasons=result.reasons,
        rules=result.rules,
        evidence=result.evidence,
        policy_version=ctx.policy.version,
        decided_at=now,
        defer_until=result.defer_until,
        origin=intent.origin,
        request_id=intent.request_id,
        stage=intent.stage,
    )
    out: list[Message] = [decided]
    if result.verdict is Verdict.AUTHORISED:
        batch.reserved.append(
            Attempt(
                intent.attempt_id,
                intent.party_id,
                intent.loan_id,
                intent.channel,
                intent.to,
                intent.purpose,
                now,
                intent.stage,
            )
        )
        task = _task(state, intent, decided, ctx)
        if task is not None:
            out.append(task)
        if intent.purpose in _COMMUNICATIONS:
            out.extend(_validation_notice(state, loan, now, ctx, batch))
    elif (
        result.verdict is Verdict.DEFERRED
        and result.defer_until is not None
        and intent.origin != "request"
    ):
        # A deferred contact is a durable timer in the ledger, re-checked by the gate when it fires.
        if intent.expires_at is None or result.defer_until < intent.expires_at:
            out.append(
                TimerScheduled(
                    timer_id=derive_id(intent.attempt_id, "defer", result.defer_until.isoformat()),
                    due_at=result.defer_until,
                    kind="deferred_contact",
                    intent=intent,
                    reason=",".join(result.reasons),
                )
            )
        else:
            out.append(_dropped(intent, "expires_before_allowed"))
    return out


# Contacts that communicate about the debt: the first one brings the validation notice (RF-20).
_COMMUNICATIONS = frozenset({Purpose.REMINDER, Purpose.COLLECTION})


def _validation_notice(
    state: BorrowerState, loan: Loan, now: datetime, ctx: Context, batch: Batch
) -> list[Message]:
    """Asked once per debt: a notice decided earlier in this decision (whatever the verdict) or
    waiting on a timer is not asked again; one suppressed stays on the record for the audit."""
    out: list[Message] = []
    for intent in ask.validation_notice(state, loan, now, ctx.playbook_for(loan)):
        if not _pending(state, intent.attempt_id):
            out.extend(gate(state, intent, now, ctx, batch))
    return out


def _gate_all(
    state: BorrowerState, intents: list[ContactIntent], now: datetime, ctx: Context
) -> list[Message]:
    batch = Batch()
    out: list[Message] = []
    for intent in intents:
        if _pending(state, intent.attempt_id):
            continue  # already waiting on a timer; the timer will re-ask
        out.extend(gate(state, intent, now, ctx, batch))
    return out


def _loan_for(state: BorrowerState, loan_id: str) -> Loan | None:
    return state.loans.get(loan_id)


def _on_due(
    state: BorrowerState, m: InstalmentDue, now: datetime, today: date, ctx: Context
) -> list[Message]:
    loan = _loan_for(state, m.loan_id)
    if loan is None:
        return []
    zone = local_zone(state.parties.get(state.borrower_id), ctx.policy)
    playbook = ctx.playbook_for(loan)
    # What is still to pay of it: a payment made ahead may have paid some (evolve's credit).
    owed = Money(amount=loan.still_to_pay(m.due_date, m.amount.amount), currency=m.amount.currency)
    return list(ask.on_instalment_due(state, loan, m.due_date, owed, playbook, zone))


def _on_delinquency(
    state: BorrowerState, m: DelinquencyUpdated, now: datetime, today: date, ctx: Context
) -> list[Message]:
    loan = _loan_for(state, m.loan_id)
    if loan is None or stale_snapshot(loan, m):
        return []  # older than one applied, or from before payment in full (evolve ignored it)
    playbook = ctx.playbook_for(loan)
    stage = playbook.stage_for(m.days_past_due)
    if (
        stage is not None
        and stage.hand_off
        and not (loan.handed_off or loan.paid_in_full or loan.disputed)
        and loan.plan is None  # a plan being kept pauses the road to legal too
        and not ask.promise_in_force(loan, today, playbook)  # and so does a promise
    ):
        # The legal hand-off: recorded once; every pending contact for the debt is withdrawn.
        handed = HandedOffToLegal(
            loan_id=loan.loan_id,
            days_past_due=m.days_past_due,
            amount_overdue=Money(amount=loan.amount_overdue, currency=loan.currency),
        )
        return [handed, *_withdraw(state, loan.loan_id, "handed_off_to_legal")]
    # Reported up to date (paid by a route with no payment event, or before that event came):
    # the stage contacts waiting on a timer would chase arrears that no longer exist, as after
    # a payment that clears them.
    withdrawn = (
        _withdraw_collection(state, loan.loan_id, "arrears_paid") if m.days_past_due == 0 else []
    )
    intents = ask.on_delinquency(
        state, loan, m.days_past_due, now, today, playbook, _posture(state, playbook)
    )
    return withdrawn + _gate_all(state, intents, now, ctx)


def _posture(state: BorrowerState, playbook: Playbook) -> Posture:
    return playbook.posture(state.segment)


# What the strategy withdraws when collection stops or changes course. Answers owed to the
# borrower (a dispute response, a cease acknowledgement, an opt-out or payment confirmation)
# are never withdrawn with it.
_STRATEGY_PURPOSES = frozenset({Purpose.REMINDER, Purpose.COLLECTION, Purpose.LOCATION_INQUIRY})
_PAID_PURPOSES = _STRATEGY_PURPOSES | {Purpose.VALIDATION_NOTICE}  # RF-20: not needed once paid
_PAUSED = frozenset({Purpose.COLLECTION, Purpose.LOCATION_INQUIRY})  # by a promise to pay


def _withdraw(
    state: BorrowerState,
    loan_id: str,
    reason: str,
    stage: str | None = None,
    purposes: frozenset[Purpose] = _STRATEGY_PURPOSES,
    spare: frozenset[str] = frozenset(),
) -> list[Message]:
    """Drop the strategy's pending timed intents for a debt (of one stage, if given; none of
    the stages in ``spare``)."""
    return [
        IntentDropped(attempt_id=t.intent.attempt_id, reason=reason)
        for t in sorted(state.timers.values(), key=lambda t: t.timer_id)
        if t.intent is not None
        and t.intent.loan_id == loan_id
        and t.intent.purpose in purposes
        and (stage is None or t.intent.stage == stage)
        and t.intent.stage not in spare
    ]


def _withdraw_collection(state: BorrowerState, loan_id: str, reason: str) -> list[Message]:
    """Drop the collection contacts and location inquiries waiting on a timer for a debt, but
    not a promise's check (the promise's to settle) nor a plan's timers (which end a plan
    nobody pays): what a pause, or a debt brought up to date, withdraws."""
    return _withdraw(
        state, loan_id, reason, purposes=_PAUSED, spare=frozenset({"broken_promise", "plan"})
    )


def _on_payment(
    state: BorrowerState, m: PaymentReceived, now: datetime, today: date, ctx: Context
) -> list[Message]:
    loan = _loan_for(state, m.loan_id)
    if loan is None:
        return []
    if not m.paid_in_full:
        # A promise kept (what was promised paid since, in one payment or several) withdraws
        # its broken-promise check, during a plan too.
        kept = loan.promise is not None and loan.promise.kept
        dropped = _withdraw(state, loan.loan_id, "promise_kept", "broken_promise") if kept else []
        if loan.plan is not None:
            return dropped + _plan_paid(state, loan)
        if loan.current:
            # What was overdue is paid: the debt is up to date, and the stage contacts waiting
            # on a timer (deferred to 08:00, say) would chase arrears that no longer exist. A
            # promise's check is the promise's to settle.
            dropped += _withdraw_collection(state, loan.loan_id, "arrears_paid")
        return dropped + _reminders_paid(state, loan)
    # Payment in full stops the strategy: pending contacts for this debt are withdrawn.
    ended = [RepaymentPlanCompleted(loan_id=loan.loan_id)] if loan.plan is not None else []
    dropped = ended + _withdraw(state, loan.loan_id, "paid_in_full", purposes=_PAID_PURPOSES)
    confirm = ask.on_paid_in_full(state, loan, now.isoformat(), now, ctx.playbook_for(loan))
    return dropped + _gate_all(state, confirm, now, ctx)


def _reminders_paid(state: BorrowerState, loan: Loan) -> list[Message]:
    """An instalment paid before its reminder: the reminder would ask for money already paid.
    (A reminder of one paid off earlier is never pending: it went then, and is not scheduled
    again, ask.on_instalment_due.)"""
    return [
        IntentDropped(attempt_id=t.intent.attempt_id, reason="instalment_paid")
        for t in sorted(state.timers.values(), key=lambda t: t.timer_id)
        if t.intent is not None
        and t.intent.loan_id == loan.loan_id
        and t.intent.stage == "pre_due"
        and "due_date" in t.intent.variables
        and date.fromisoformat(t.intent.variables["due_date"]) in loan.instalments_paid
    ]


def _plan_paid(state: BorrowerState, loan: Loan) -> list[Message]:
    """Instalments the payments now cover lose their reminder and check; all covered: done."""
    assert loan.plan is not None
    covered = {d.isoformat() for d, _ in loan.plan.instalments[: loan.plan.covered()]}
    dropped: list[Message] = [
        IntentDropped(attempt_id=t.intent.attempt_id, reason="instalment_paid")
        for t in sorted(state.timers.values(), key=lambda t: t.timer_id)
        if t.intent is not None
        and t.intent.loan_id == loan.loan_id
        and t.intent.stage == "plan"
        and t.intent.variables.get("due_date") in covered
    ]
    if len(covered) == len(loan.plan.instalments):
        return [RepaymentPlanCompleted(loan_id=loan.loan_id), *dropped]
    return dropped


def _on_plan(
    state: BorrowerState, m: RepaymentPlanAgreed, now: datetime, today: date, ctx: Context
) -> list[Message]:
    """An agreed plan replaces the strategy: pending contacts for the debt are withdrawn and
    each instalment gets a reminder and a check."""
    loan = _loan_for(state, m.loan_id)
    if loan is None or loan.plan is None:
        return []
    dropped = _withdraw(state, loan.loan_id, "repayment_plan_agreed")
    if loan.handed_off:  # legal has the debt: the strategy asks nothing after it (ADR 0007)
        return dropped
    zone = local_zone(state.parties.get(state.borrower_id), ctx.policy)
    return [*dropped, *ask.on_plan(state, loan, now, ctx.playbook_for(loan), zone)]


def _on_promise(
    state: BorrowerState, m: PromiseToPayMade, now: datetime, today: date, ctx: Context
) -> list[Message]:
    """Pause (the strategy's _collecting) and check back after the grace period; a newer
    promise supersedes the check of an older one. Collection contacts already waiting on a
    timer (deferred to 08:00, say) are withdrawn: the pause covers them too. Reminders of an
    instalment to come are not collection, and stay."""
    loan = _loan_for(state, m.loan_id)
    if loan is None:
        return []
    superseded = _withdraw(state, loan.loan_id, "promise_superseded", "broken_promise")
    # Not the superseded check again; and a plan's checks are what end a plan nobody pays, so
    # a promise made during it pauses none of them.
    paused = _withdraw_collection(state, loan.loan_id, "promise_to_pay_made")
    if loan.handed_off or loan.paid_in_full:
        # Nothing to check back on: legal has the debt (the strategy asks nothing after it,
        # ADR 0007), or it is paid, and a check would tell them they had not paid.
        return superseded + paused
    zone = local_zone(state.parties.get(state.borrower_id), ctx.policy)
    playbook = ctx.playbook_for(loan)
    timers = ask.on_promise(state, loan, m.promised_date, playbook, zone, _posture(state, playbook))
    return superseded + paused + list(timers)


def _on_outcome(
    state: BorrowerState, m: ContactOutcomeRecorded, now: datetime, today: date, ctx: Context
) -> list[Message]:
    attempt = state.attempts.get(m.attempt_id)
    loan = state.loans.get(attempt.loan_id) if attempt else None
    if attempt is None or loan is None:
        return []
    if m.outcome is OutcomeKind.OPTED_OUT:
        return vendor_opt_out(state, attempt, m)  # nothing else follows a refused text
    playbook = ctx.playbook_for(loan)
    intents = ask.on_outcome(
        state, attempt, m.outcome, now, today, playbook, _posture(state, playbook)
    )
    return _gate_all(state, intents, now, ctx)


def _on_request(
    state: BorrowerState, m: RequestContact, now: datetime, today: date, ctx: Context
) -> list[Message]:
    """A desk's question gets a decision; a deferral is an answer (when), not a timer. What is
    sent is chosen by purpose, channel and who is asked: a request with no text of its own (a
    contact person asked anything but where the borrower is, RF-13; a cease acknowledgement by
    call, RF-11) is answered with IntentDropped and a reason, never sent as another's text; so
    is one about a debt the person may not be asked about (``_off_this_debt``)."""
    attempt_id = derive_id(state.borrower_id, "request", m.request_id)
    party = state.parties.get(m.party_id)
    # In their role on this debt; not on file: the gate answers.
    role = party.role_on(m.loan_id) if party is not None else None
    template = REQUEST_TEMPLATES.choose(role, m.purpose, m.channel)
    refused = (
        REQUEST_TEMPLATES.refusal(role, m.purpose)
        if template is None
        else _off_this_debt(state, party, m.loan_id) or _inquiry_refused(state, m)
    )
    if refused is not None:
        if attempt_id in state.attempts:
            return []  # P2: a redelivered request, authorised before
        return [IntentDropped(attempt_id=attempt_id, reason=refused, request_id=m.request_id)]
    assert template is not None  # refused otherwise
    intent = ContactIntent(
        attempt_id=attempt_id,
        party_id=m.party_id,
        loan_id=m.loan_id,
        channel=m.channel,
        to=m.to,
        purpose=m.purpose,
        template=template,
        origin="request",
        request_id=m.request_id,
    )
    return gate(state, intent, now, ctx, Batch())


def co_debtor_stay_applies(state: BorrowerState, decided: ContactDecided, policy: Policy) -> bool:
    """Whether the task carrying out this authorisation is to be held if the borrower's
    bankruptcy comes to stay co-debtors before it is sent: the person is a guarantor of the
    debt, and the decision evaluated a co-debtor stay hold (it passed, or the contact would not
    be authorised), so its policy applies the stay to them there (BK-1301 is pack data). The
    audit asks the same of each recorded authorisation under its recorded policy."""
    party = state.parties.get(decided.party_id)
    if party is None or party.role_on(decided.loan_id) is not PartyRole.GUARANTOR:
        return False
    ids = holds.rule_ids(policy.packs, "co_debtor_stay")
    return bool(ids) and any(o.rule_id in ids for o in decided.rules)


def revoke_all_rules(decided: ContactDecided, policy: Policy) -> tuple[OptOutRule, ...]:
    """The rules with ``across`` (TC-5 is pack data) that the decision evaluated for its
    channel: each may let a revocation on another medium cancel the task carrying it out."""
    mine = [rule for rule in policy.revoke_all if decided.channel in rule.channels]
    if not mine:
        return ()
    evaluated = {o.rule_id for o in decided.rules}
    return tuple(rule for rule in mine if rule.id in evaluated)


def revoked_with(
    channel: Channel, zones: tuple[str, ...], rules: tuple[OptOutRule, ...], until: datetime
) -> tuple[Channel, ...]:
    """The other media on which a revocation for this address is to cancel the task before it
    is sent: those of each rule that binds by ``until``, the latest instant the task may go
    (its ``not_after``), in the decision's candidate ``zones``. A rule that begins while the
    task waits binds it (the date can start in Washington while a Honolulu window is open).
    The audit asks the same of each recorded task under its decision's recorded policy."""
    found = {
        other
        for rule in rules
        if rule.across is not None and consent.across_in_force(rule, zones, until)
        for other in rule.across
        if other is not channel
    }
    return tuple(sorted(found))


def _dropped(intent: ContactIntent, reason: str) -> IntentDropped:
    """An intent withdrawn before the gate decided it; a desk's request is named, so that it
    is answered (every request gets exactly one answer)."""
    return IntentDropped(attempt_id=intent.attempt_id, reason=reason, request_id=intent.request_id)


def _off_this_debt(state: BorrowerState, party: Party | None, loan_id: str) -> str | None:
    """Why this person may not be asked about this debt, as the strategy's own intents are
    checked (ask._parties): another person only about a loan they are linked to, and a
    guarantor only where the contract allows guarantor contact. The borrower is on every loan
    of their own file. A person or loan not on file is left to the gate to answer."""
    loan = state.loans.get(loan_id)
    if party is None or loan is None or party.party_id == state.borrower_id:
        return None
    if loan_id not in party.loans:
        return "party_not_on_this_debt"
    if party.role_on(loan_id) is PartyRole.GUARANTOR and not loan.guarantor_contact_allowed:
        return "guarantor_contact_not_allowed"
    return None


def _inquiry_refused(state: BorrowerState, m: RequestContact) -> str | None:
    """A location inquiry to someone else that the borrower's hold, or the person's refusal,
    stops (``inquiry_held``), as the strategy's own would be withdrawn."""
    if (
        m.purpose is Purpose.LOCATION_INQUIRY
        and m.party_id != state.borrower_id
        and inquiry_held(state, m.party_id, m.loan_id) is not None
    ):
        return "third_party_contact_held"
    return None


def _on_dispute(
    state: BorrowerState, m: DisputeOpened, now: datetime, today: date, ctx: Context
) -> list[Message]:
    """Collection stops (the gate's hold); answering the dispute is still allowed. Collection
    contacts already waiting on a timer are withdrawn, as a promise's pause withdraws them:
    left to fire, the gate would suppress them and the stage would count as run, lost for
    good once the dispute is resolved."""
    borrower = state.parties.get(state.borrower_id)
    loan = _loan_for(state, m.loan_id)
    status = loan.disputes.get(m.dispute_id or "") if loan is not None else None
    if loan is None or status is None or not status.open:
        return []  # an opening older than the dispute's resolution: nothing was opened
    paused = _withdraw_collection(state, loan.loan_id, "dispute_opened")
    to = ask.destination(borrower, Channel.EMAIL) if borrower else None
    if borrower is None or to is None:
        return paused
    intent = ContactIntent(
        # One response per opening: the same opening re-sent (it changes nothing) asks again
        # under the same id, which the engine keeps once.
        attempt_id=derive_id(
            state.borrower_id,
            loan.loan_id,
            "dispute-response",
            m.dispute_id or "",
            status.changed_at.isoformat(),
        ),
        party_id=borrower.party_id,
        loan_id=loan.loan_id,
        channel=Channel.EMAIL,
        to=to,
        purpose=Purpose.DISPUTE_RESPONSE,
        template="dispute_response",
        expires_at=now + timedelta(days=5),
    )
    return paused + _gate_all(state, [intent], now, ctx)


def _on_hold(
    state: BorrowerState,
    m: AttorneyRepresented
    | CeaseRequested
    | BankruptcyFiled
    | DeceasedReported
    | ThirdPartyRefused,
    now: datetime,
    today: date,
    ctx: Context,
) -> list[Message]:
    """Location inquiries waiting on a timer that may no longer be made: the borrower's hold
    stops third-party contact about them, and a person who refused is not asked again
    (``inquiry_held``)."""
    return [
        IntentDropped(attempt_id=t.intent.attempt_id, reason="third_party_contact_held")
        for t in sorted(state.timers.values(), key=lambda t: t.timer_id)
        if t.intent is not None
        and t.intent.purpose is Purpose.LOCATION_INQUIRY
        and inquiry_held(state, t.intent.party_id, t.intent.loan_id) is not None
    ]


def _on_inbound(
    state: BorrowerState, m: InboundMessageReceived, now: datetime, today: date, ctx: Context
) -> list[Message]:
    return _inbound(state, m, now, ctx)


_REACT: dict[
    type[Message], Callable[[BorrowerState, Any, datetime, date, Context], list[Message]]
] = {
    InstalmentDue: _on_due,
    DelinquencyUpdated: _on_delinquency,
    PaymentReceived: _on_payment,
    PromiseToPayMade: _on_promise,
    RepaymentPlanAgreed: _on_plan,
    ContactOutcomeRecorded: _on_outcome,
    InboundMessageReceived: _on_inbound,
    RequestContact: _on_request,
    DisputeOpened: _on_dispute,
    AttorneyRepresented: _on_hold,
    CeaseRequested: _on_hold,
    BankruptcyFiled: _on_hold,
    DeceasedReported: _on_hold,
    ThirdPartyRefused: _on_hold,
}


def decide(state: BorrowerState, message: Message, now: datetime, ctx: Context) -> list[Message]:
    """Events that follow from one input. ``now`` is the clock value every decision uses."""
    if isinstance(message, BorrowerProfiled | PartyLinked):
        return kept_opt_outs(state, message.party_id)
    react = _REACT.get(type(message))
    if react is None:
        return []
    state, segmented = _segment(state, ctx)
    today = now.astimezone(local_zone(state.parties.get(state.borrower_id), ctx.policy)).date()
    out = segmented + react(state, message, now, today, ctx)
    if segmented:
        dropped = {m.attempt_id for m in out if isinstance(m, IntentDropped)}
        out += [m for m in _reached(state, ctx) if m.attempt_id not in dropped]
    return out


def _reached(state: BorrowerState, ctx: Context) -> list[IntentDropped]:
    """Location inquiries waiting on a timer, withdrawn once the borrower's segment no longer
    asks contact persons (they were reached, or paid): past that, asking a third party where
    they are is a third-party communication the law forbids (FDCPA 1692b, 1692c(b); RF-13)."""
    out: list[IntentDropped] = []
    for timer in sorted(state.timers.values(), key=lambda t: t.timer_id):
        intent = timer.intent
        if intent is None or intent.purpose is not Purpose.LOCATION_INQUIRY:
            continue
        loan = state.loans.get(intent.loan_id)
        playbook = ctx.playbook_for(loan) if loan is not None else ctx.playbook
        if _posture(state, playbook).locate_via_contacts is None:
            out.append(IntentDropped(attempt_id=intent.attempt_id, reason="borrower_reached"))
    return out


def _segment(state: BorrowerState, ctx: Context) -> tuple[BorrowerState, list[Message]]:
    """Re-place the borrower in a segment; a change is recorded first, and everything decided
    after it (tone, cadence, the gate's view of reachability) sees the new segment. The
    state is shallow-copied, not changed: decide stays pure."""
    if not ctx.playbook.segments:
        return state, []
    segment, because = classify(state, ctx.playbook.segmentation)
    if segment is (state.segment or Segment.COOPERATIVE):
        return state, []  # a borrower starts cooperative: only a move is recorded
    assigned = SegmentAssigned(segment=segment, previous=state.segment, because=because)
    return dataclasses.replace(state, segment=segment), [assigned]


def _inbound(
    state: BorrowerState, message: InboundMessageReceived, now: datetime, ctx: Context
) -> list[Message]:
    """An opt-out word is kept with its number, and revokes consent for that number at once
    (TC-2); words naming a medium revoke it for every number (RF-17, ``revoked_by``); then one
    confirmation of a text opt-out (TC-4).

    A number two people share (a household phone) is revoked for each of them: which of them
    sent the word is unknown, and revocation wins (P6)."""
    revokes = revoked_by(ctx.policy, message.body)
    if not revokes:
        return []
    # Kept with the number whoever has it (``kept_opt_outs``): a profile or link may give it to
    # someone later. Routed here by a directory that has it on this borrower's file, it may
    # come before this orchestrator applied the profile that gives it (they travel apart); or a
    # person (a household phone) may be linked at it after the STOP.
    out: list[Message] = [
        NumberOptedOut(
            number=message.from_number,
            channel=channel,
            whole_medium=whole_medium,
            received_at=message.received_at,
            words=message.body[:160],
        )
        for channel, whole_medium in revokes
    ]
    party_id = state.addresses.get(message.from_number)
    party = state.parties.get(party_id) if party_id else None
    if party is None:
        return out  # no one on file to revoke, nor to confirm it to (TC-4)
    out += [
        ConsentRevoked(
            party_id=holder,
            channel=channel,
            address=None if whole_medium else message.from_number,
            received_at=message.received_at,
            effective_at=message.received_at,
            words=message.body[:160],
        )
        for channel, whole_medium in revokes
        for holder in holders(state, message.from_number)
    ]
    confirmation = (
        ask.on_opt_out(state, party, message.from_number, message.external_id, now, ctx.playbook)
        if message.confirms_opt_out and any(channel is Channel.SMS for channel, _ in revokes)
        else None  # another borrower's copy of this text confirms it (TC-4: one text); or
        # only calls were stopped, and the confirmation is of texts stopped
    )
    if confirmation is not None:
        # The gate must see the revocations it is confirming: decide on the state after them.
        shadow = copy.deepcopy(state)
        for revoked in out:
            evolve(shadow, revoked, now)
        out.extend(gate(shadow, confirmation, now, ctx, Batch()))
    return out


def vendor_opt_out(
    state: BorrowerState, attempt: Attempt, m: ContactOutcomeRecorded
) -> list[Message]:
    """TC-2: a text the vendor refused because the person opted out with it (they texted STOP
    to our number; the vendor blocks it, Twilio 21610) is an opt-out Parley has now received,
    though the STOP itself never reached us, or reached no borrower's file with that number.
    It is kept with the number, and revokes texts to it for everyone on file with it whose
    latest word there is not already such a revocation (a confirmation of a STOP we did get is
    refused too; a grant given since the STOP is outranked by the refusal). Received
    when the vendor said so: when the person texted is not known. No confirmation (TC-4): the
    vendor confirmed the STOP when it took it, and refuses ours."""
    number = attempt.to
    if attempt.channel is not Channel.SMS or number is None:
        return []
    received = m.reported_at
    out: list[Message] = [NumberOptedOut(number=number, channel=Channel.SMS, received_at=received)]
    out += [
        ConsentRevoked(
            party_id=holder,
            channel=Channel.SMS,
            address=number,
            received_at=received,
            effective_at=received,
        )
        for holder in holders(state, number)
        if not consent.revoked_last(tuple(state.parties[holder].consents), Channel.SMS, number)
    ]
    return out


def kept_opt_outs(state: BorrowerState, party_id: str) -> list[Message]:
    """The revocations a person now on file owes to opt-outs kept for their numbers: for each
    medium and address, one from when the latest such opt-out was received, unless they have
    one as late already (a profile sent again). Read as the policy in force read them then."""
    party = state.parties.get(party_id)
    if party is None:
        return []
    latest: dict[tuple[Channel, str | None], NumberOptedOut] = {}
    for phone in party.phones:
        for kept in state.number_opt_outs.get(phone.number, ()):
            key = (kept.channel, kept.revoked_address)
            if key not in latest or kept.received_at > latest[key].received_at:
                latest[key] = kept
    out: list[Message] = []
    for (channel, address), kept in latest.items():
        if any(
            not c.granted
            and c.channel is channel
            and c.address == address
            and c.purpose is None
            and c.received_at >= kept.received_at
            for c in party.consents
        ):
            continue
        out.append(
            ConsentRevoked(
                party_id=party_id,
                channel=channel,
                address=address,
                received_at=kept.received_at,
                effective_at=kept.received_at,
                words=kept.words,
            )
        )
    return out


def holders(state: BorrowerState, number: str) -> list[str]:
    """Every person on file with this phone number: the one the address index names (the last
    listed with it), then the rest in the order they were added."""
    listed = [
        p.party_id for p in state.parties.values() if any(ph.number == number for ph in p.phones)
    ]
    indexed = state.addresses.get(number)
    return list(dict.fromkeys([indexed, *listed] if indexed else listed))


def fire_timers(state: BorrowerState, now: datetime, ctx: Context) -> list[Message]:
    """Fire every due timer, oldest first; each fired intent is re-checked by the gate."""
    state, out = _segment(state, ctx)
    batch = Batch()
    ordered = sorted(state.timers.values(), key=lambda t: (t.due_at, t.timer_id))
    withdrawn: set[str] = set()
    for i, timer in enumerate(ordered):
        if timer.due_at > now:
            break
        if timer.timer_id in withdrawn:
            continue  # part of a plan that broke earlier in this firing
        out.append(TimerFired(timer_id=timer.timer_id, fired_at=now))
        if timer.intent is None:
            continue
        if timer.reason == "plan_check":
            # Not withdrawn by a payment: the instalment was missed. The plan ends, collection
            # resumes with the broken-plan message, and the plan's other timers go.
            loan_id = timer.intent.loan_id
            missed = date.fromisoformat(timer.intent.variables["due_date"])
            out.append(RepaymentPlanBroken(loan_id=loan_id, missed_due_date=missed))
            rest = [
                t
                for t in ordered[i + 1 :]
                if t.intent is not None and t.intent.loan_id == loan_id and t.intent.stage == "plan"
            ]
            withdrawn.update(t.timer_id for t in rest)
            out.extend(
                IntentDropped(attempt_id=t.intent.attempt_id, reason="repayment_plan_broken")
                for t in rest
                if t.intent is not None
            )
        if not ask.has_message(timer.intent):
            continue  # a check with no message to send (no address, or none in the playbook)
        out.extend(gate(state, timer.intent, now, ctx, batch))
    return out


def next_due(state: BorrowerState) -> datetime | None:
    return min((t.due_at for t in state.timers.values()), default=None)
