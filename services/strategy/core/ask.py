"""What the strategy asks for. It never decides whether a contact is allowed: the gate does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.ledger import ContactIntent, TimerScheduled
from contracts.outcomes import OutcomeKind
from contracts.values import Channel, EmailKind, PartyRole, PhoneType, Purpose
from events.envelope import derive_id
from services.orchestrator.core.state import Attempt, BorrowerState, Loan, Party
from services.strategy.core.playbook import Action, Playbook

_UNANSWERED = {OutcomeKind.NO_ANSWER, OutcomeKind.BUSY, OutcomeKind.NOT_CONNECTED}


def destination(party: Party, channel: Channel) -> str | None:
    """The address to use: mobile first for texts and calls; personal email, never work (RF-9)."""
    if channel is Channel.SMS:
        return next((p.number for p in party.phones if p.type is PhoneType.MOBILE), None)
    if channel is Channel.CALL:
        order = (PhoneType.MOBILE, PhoneType.HOME, PhoneType.OTHER)
        ranked = sorted(
            (p for p in party.phones if p.type in order), key=lambda p: order.index(p.type)
        )
        return ranked[0].number if ranked else None
    if channel is Channel.EMAIL:
        return next((e.address for e in party.emails if e.kind is EmailKind.PERSONAL), None)
    return None


def _intent(
    state: BorrowerState,
    party: Party,
    loan: Loan,
    action: Action,
    purpose: Purpose,
    stage: str | None,
    occasion: str,
    expires_at: datetime | None,
) -> ContactIntent | None:
    to = destination(party, action.channel)
    if to is None and action.channel is not Channel.LETTER:
        return None
    return ContactIntent(
        attempt_id=derive_id(
            state.borrower_id, loan.loan_id, party.party_id, action.channel, purpose, occasion
        ),
        party_id=party.party_id,
        loan_id=loan.loan_id,
        channel=action.channel,
        to=to,
        purpose=purpose,
        template=action.template,
        stage=stage,
        expires_at=expires_at,
    )


def _collecting(loan: Loan, today: date, playbook: Playbook) -> bool:
    if loan.paid_in_full or loan.disputed:
        return False
    promise = loan.promise
    # A promise to pay pauses collection contacts until its date plus a grace period.
    return not (
        promise and today <= promise.promised_date + timedelta(days=playbook.promise_grace_days)
    )


def on_instalment_due(
    state: BorrowerState, loan: Loan, due_date: date, playbook: Playbook, zone: ZoneInfo
) -> list[TimerScheduled]:
    """Schedule the pre-due reminder: a durable timer at the preferred local time the day before."""
    borrower = state.parties.get(state.borrower_id)
    if borrower is None:
        return []
    r = playbook.reminder
    send_day = due_date - timedelta(days=r.days_before_due)
    due_at = datetime.combine(send_day, r.local_time, tzinfo=zone).astimezone(
        UTC
    )  # UTC in the ledger
    timers = []
    for channel in r.channels:
        intent = _intent(
            state,
            borrower,
            loan,
            Action(channel=channel, template=r.template),
            Purpose.REMINDER,
            "pre_due",
            f"due:{due_date.isoformat()}",
            datetime.combine(due_date, r.local_time, tzinfo=zone).astimezone(UTC),
        )
        if intent is not None:
            timers.append(
                TimerScheduled(
                    timer_id=derive_id(intent.attempt_id, "wake"),
                    due_at=due_at,
                    kind="wake_up",
                    intent=intent,
                    reason="pre_due_reminder",
                )
            )
    return timers


def on_delinquency(
    state: BorrowerState, loan: Loan, dpd: int, now: datetime, today: date, playbook: Playbook
) -> list[ContactIntent]:
    """The stage's actions for this day past due, if the cadence says today is a contact day."""
    borrower = state.parties.get(state.borrower_id)
    stage = playbook.stage_for(dpd)
    if borrower is None or stage is None or not _collecting(loan, today, playbook):
        return []
    if (dpd - stage.from_dpd) % stage.every_days:
        return []
    intents = [
        _intent(
            state,
            party,
            loan,
            a,
            Purpose.COLLECTION,
            stage.id,
            f"dpd:{dpd}",
            now + timedelta(days=1),
        )
        for a in stage.actions
        for party in _parties(state, borrower, loan, a)
    ]
    return [i for i in intents if i is not None]


def _parties(state: BorrowerState, borrower: Party, loan: Loan, action: Action) -> list[Party]:
    if action.party == "borrower":
        return [borrower]
    if not loan.guarantor_contact_allowed:
        return []
    return [
        p
        for p in sorted(state.parties.values(), key=lambda p: p.party_id)
        if p.role is PartyRole.GUARANTOR and loan.loan_id in p.loans
    ]


def on_promise(
    state: BorrowerState, loan: Loan, promised: date, playbook: Playbook, zone: ZoneInfo
) -> list[TimerScheduled]:
    """A wake-up the day after the promise's grace: if it was not kept, collection resumes
    with a broken-promise message (the strategy re-checks; the gate decides)."""
    borrower = state.parties.get(state.borrower_id)
    if borrower is None:
        return []
    day = promised + timedelta(days=playbook.promise_grace_days + 1)
    due_at = datetime.combine(day, time(10, 0), tzinfo=zone).astimezone(UTC)
    intent = _intent(
        state,
        borrower,
        loan,
        playbook.broken_promise,
        Purpose.COLLECTION,
        "broken_promise",
        f"promise:{promised.isoformat()}",
        due_at + timedelta(days=1),
    )
    if intent is None:
        return []
    return [
        TimerScheduled(
            timer_id=derive_id(intent.attempt_id, "wake"),
            due_at=due_at,
            kind="wake_up",
            intent=intent,
            reason="promise_check",
        )
    ]


def on_outcome(
    state: BorrowerState,
    attempt: Attempt,
    outcome: OutcomeKind,
    now: datetime,
    today: date,
    playbook: Playbook,
) -> list[ContactIntent]:
    """A text when a call goes unanswered, if the stage says so."""
    if attempt.channel is not Channel.CALL or outcome not in _UNANSWERED or attempt.stage is None:
        return []
    stage = next((s for s in playbook.stages if s.id == attempt.stage), None)
    party, loan = state.parties.get(attempt.party_id), state.loans.get(attempt.loan_id)
    if stage is None or stage.on_unanswered_call is None or party is None or loan is None:
        return []
    if not _collecting(loan, today, playbook):
        return []
    intent = _intent(
        state,
        party,
        loan,
        stage.on_unanswered_call,
        Purpose.COLLECTION,
        stage.id,
        f"after:{attempt.attempt_id}",
        now + timedelta(hours=12),
    )
    return [intent] if intent else []


def on_paid_in_full(
    state: BorrowerState, loan: Loan, occasion: str, now: datetime, playbook: Playbook
) -> list[ContactIntent]:
    borrower = state.parties.get(state.borrower_id)
    if borrower is None:
        return []
    intent = _intent(
        state,
        borrower,
        loan,
        playbook.payment_confirmation,
        Purpose.PAYMENT_CONFIRMATION,
        None,
        f"paid:{occasion}",
        now + timedelta(days=2),
    )
    return [intent] if intent else []


def on_opt_out(
    state: BorrowerState,
    party: Party,
    number: str,
    occasion: str,
    now: datetime,
    playbook: Playbook,
) -> ContactIntent | None:
    """TC-4: one confirmation text, within 5 minutes of the opt-out (the gate enforces both)."""
    loan_id = next(iter(sorted(party.loans)), None) or next(iter(sorted(state.loans)), None)
    if loan_id is None:
        return None
    return ContactIntent(
        attempt_id=derive_id(state.borrower_id, party.party_id, "opt-out-confirmation", occasion),
        party_id=party.party_id,
        loan_id=loan_id,
        channel=Channel.SMS,
        to=number,
        purpose=Purpose.OPT_OUT_CONFIRMATION,
        template=playbook.opt_out_confirmation.template,
        expires_at=now + timedelta(minutes=5),
    )
