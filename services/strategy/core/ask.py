"""What the strategy asks for. It never decides whether a contact is allowed: the gate does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.ledger import ContactIntent, TimerScheduled
from contracts.outcomes import OutcomeKind
from contracts.values import Channel, EmailKind, Money, PartyRole, PhoneType, Purpose
from events.envelope import derive_id
from services.orchestrator.core.state import (
    Attempt,
    BorrowerState,
    Loan,
    Party,
    third_party_contact_held,
)
from services.strategy.core.playbook import Action, PlanReminders, Playbook, Posture, Stage

# Calls that did not reach the person: a text follows where the stage says so ("无人接听的,通过
# 短信通知"). A voicemail reached a machine, not the person (segments count it so too).
_UNANSWERED = {
    OutcomeKind.NO_ANSWER,
    OutcomeKind.BUSY,
    OutcomeKind.NOT_CONNECTED,
    OutcomeKind.VOICEMAIL_LEFT,
}


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
    tone: str | None = None,
    variables: dict[str, str] | None = None,
) -> ContactIntent | None:
    to = destination(party, action.channel)
    if to is None and (action.channel is not Channel.LETTER or not party.addresses):
        return None
    return ContactIntent(
        attempt_id=_attempt_id(state, loan, party, action.channel, purpose, occasion),
        party_id=party.party_id,
        loan_id=loan.loan_id,
        channel=action.channel,
        to=to,
        purpose=purpose,
        template=action.template,
        stage=stage,
        expires_at=expires_at,
        tone=tone,
        variables=variables or {},
    )


def _attempt_id(
    state: BorrowerState,
    loan: Loan,
    party: Party,
    channel: Channel,
    purpose: Purpose,
    occasion: str,
) -> str:
    return derive_id(state.borrower_id, loan.loan_id, party.party_id, channel, purpose, occasion)


def _collecting(loan: Loan, today: date, playbook: Playbook) -> bool:
    # Paid, up to date (what was overdue paid since the last snapshot that was behind),
    # disputed, handed to legal, or on an agreed plan (which replaces the stages).
    if (
        loan.paid_in_full
        or loan.current
        or loan.disputed
        or loan.handed_off
        or loan.plan is not None
    ):
        return False
    # A promise to pay pauses collection contacts until its date plus a grace period.
    return not promise_in_force(loan, today, playbook)


def promise_in_force(loan: Loan, today: date, playbook: Playbook) -> bool:
    """A promise to pay whose date, plus the grace period, has not passed."""
    promise = loan.promise
    return promise is not None and today <= promise.promised_date + timedelta(
        days=playbook.promise_grace_days
    )


def on_instalment_due(
    state: BorrowerState,
    loan: Loan,
    due_date: date,
    amount: Money,
    playbook: Playbook,
    zone: ZoneInfo,
) -> list[TimerScheduled]:
    """Schedule the pre-due reminder: a durable timer at the preferred local time the day before.

    It names this instalment's date and amount, fixed now: rendered from the loan when it is
    sent, it would quote what is overdue, or the date of a later instalment announced since.
    None for a debt handed to legal, on an agreed plan (whose own reminders replace the
    schedule's) or paid in full."""
    borrower = state.parties.get(state.borrower_id)
    if borrower is None or loan.handed_off or loan.plan is not None or loan.paid_in_full:
        return []
    if due_date in loan.instalments_paid:  # announced again after it was paid off
        return []
    variables = {
        "due_date": due_date.isoformat(),
        "amount": f"{amount.amount:.2f} {amount.currency}",
    }
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
            variables=variables,
        )
        if intent is not None:
            timers.append(_wake(intent, due_at, "pre_due_reminder"))
    return timers


def on_delinquency(
    state: BorrowerState,
    loan: Loan,
    dpd: int,
    now: datetime,
    today: date,
    playbook: Playbook,
    posture: Posture,
) -> list[ContactIntent]:
    """The stage's actions for this day past due, if the segment's cadence says today is a
    contact day, in the segment's tone; and any stage that has not run yet in this delinquency
    episode, on the first update at or after its first day.

    A stage is not lost to a day the servicing feed skipped, nor to a promise pause across it:
    the one-day formal notice goes out on the first update from day 7 on, however late. Once the
    strategy has run a stage of the episode, no later stage is skipped; a debt first seen (or
    first collectable) further on starts at the stage it has reached, not with every earlier one
    at once. "Run" means its contacts were decided, whatever the verdict, so nothing is asked
    twice (the cadence still repeats the current stage on its days)."""
    borrower = state.parties.get(state.borrower_id)
    current = playbook.stage_for(dpd)
    if borrower is None or (current is not None and current.hand_off):
        return []
    if not _collecting(loan, today, playbook):
        return []
    intents = _locate(state, loan, now, posture) if current is not None else []
    reached = sorted(
        (s for s in playbook.stages if s.from_dpd <= dpd and not s.hand_off),
        key=lambda s: s.from_dpd,
    )
    ran = [s.id for s in reached if _ran(loan, s)]
    # The episode's escalation starts at the first stage run, else at the stage reached now.
    start = next(
        (s.from_dpd for s in reached if s.id in ran), reached[-1].from_dpd if reached else 0
    )
    for stage in reached:
        every = posture.every_days.get(stage.id, stage.every_days)
        on_cadence = stage is current and (dpd - stage.from_dpd) % every == 0
        if not on_cadence and (stage.id in ran or stage.from_dpd < start):
            continue
        intents += [
            _intent(
                state,
                party,
                loan,
                a,
                Purpose.COLLECTION,
                stage.id,
                _stage_occasion(loan, stage, dpd),
                now + timedelta(days=1),
                posture.tone,
            )
            for a in stage.actions
            for party in _parties(state, borrower, loan, a)
        ]
    # Asked once: a stage contact already decided in this episode (the same day reported
    # again) is not asked again, rather than left for the gate to drop unrecorded.
    return [i for i in intents if i is not None and i.attempt_id not in state.verdicts]


def _stage_occasion(loan: Loan, stage: Stage, dpd: int) -> str:
    """The occasion of a stage contact at this day past due: the day past due within the stage's own days; a stage run after its days names itself too, so
    two stages run by one update never share an id. A later delinquency episode names itself:
    it reaches the same days past due, and is another contact. Within one episode the same
    stage and day is the same contact, asked once (on_delinquency), however often the
    servicer reports that day (a redelivery, or days counted again from a later missed
    instalment)."""
    base = f"dpd:{dpd}" if stage.from_dpd <= dpd <= stage.to_dpd else f"dpd:{dpd}:{stage.id}"
    return base if loan.episode <= 1 else f"{base}#{loan.episode}"


def _ran(loan: Loan, stage: Stage) -> bool:
    """Whether the stage has run in this episode: one of its contacts was decided (authorised,
    suppressed, or deferred and not withdrawn since)."""
    return bool(loan.stages_run.get(stage.id))


def _locate(
    state: BorrowerState, loan: Loan, now: datetime, posture: Posture
) -> list[ContactIntent | None]:
    """Each contact person linked to the debt, once: a location inquiry (RF-13) that never
    mentions the debt. Asked only of a segment whose posture says so (the unreachable)."""
    action, borrower = posture.locate_via_contacts, state.parties.get(state.borrower_id)
    if action is None or borrower is None or third_party_contact_held(borrower, loan.loan_id):
        return []
    contacts = sorted(
        (
            p
            for p in state.parties.values()
            if p.role_on(loan.loan_id) is PartyRole.CONTACT_PERSON and loan.loan_id in p.loans
        ),
        key=lambda p: p.party_id,
    )
    intents = [
        _intent(state, p, loan, action, Purpose.LOCATION_INQUIRY, None, "locate", None)
        for p in contacts
    ]
    # Once per person: an inquiry already decided (whatever the verdict) is not asked again.
    return [i for i in intents if i is not None and i.attempt_id not in state.verdicts]


def validation_notice(
    state: BorrowerState, loan: Loan, now: datetime, playbook: Playbook
) -> list[ContactIntent]:
    """RF-20: the validation notice, asked with the first communication about a debt a
    third-party collector makes (the gate still decides; a letter has no quiet hours)."""
    notice, borrower = playbook.validation_notice, state.parties.get(state.borrower_id)
    if notice is None or borrower is None or loan.validation_notice_asked:
        return []
    if not loan.third_party_collector:
        return []
    intents = [
        _intent(
            state,
            borrower,
            loan,
            Action(channel=channel, template=notice.template),
            Purpose.VALIDATION_NOTICE,
            None,
            "validation",
            now + timedelta(days=5),
        )
        for channel in notice.channels
    ]
    return [i for i in intents if i is not None]


def on_plan(
    state: BorrowerState, loan: Loan, now: datetime, playbook: Playbook, zone: ZoneInfo
) -> list[TimerScheduled]:
    """An agreed plan replaces the stages: a reminder before each instalment, and a check the
    day after each instalment's grace (withdrawn when payments cover it).

    The check is what ends a plan that is not kept, so every plan has its checks whatever the
    borrower's addresses and whatever the playbook says (one without a `plan:` section checks
    with the default grace): without them a plan nobody pays would pause collection, and the
    road to legal, for good. The broken-plan message rides on a check when the playbook has
    one and the borrower has an address for it; otherwise the check says nothing.

    A reminder or check whose time has already passed is not scheduled: an instalment agreed in
    the past cannot be reminded of, nor broken the moment it is agreed while a later check will
    see it (payments cover instalments in order). The last check is the exception: if its time
    has passed too, it is due at once. The agreement's instant is part of every attempt id, so
    a second plan with the same dates still gets its reminders."""
    borrower, plan, spec = state.parties.get(state.borrower_id), loan.plan, playbook.plan
    if borrower is None or plan is None or not plan.instalments:
        return []
    grace = spec.grace_days if spec is not None else _PLAN_GRACE_DAYS
    last = max(due for due, _ in plan.instalments)
    timers: list[TimerScheduled] = []
    for due, amount in plan.instalments:
        variables = {"due_date": due.isoformat(), "amount": f"{amount:.2f} {loan.currency}"}
        if spec is not None:
            timers += _plan_reminders(state, borrower, loan, spec, due, variables, now, zone)
        check_at = datetime.combine(
            due + timedelta(days=grace + 1), time(10, 0), tzinfo=zone
        ).astimezone(UTC)
        if check_at <= now and due != last:
            continue
        check_at = max(check_at, now)
        check = _plan_check(state, borrower, loan, spec, due, variables, now, check_at)
        timers.append(_wake(check, check_at, "plan_check"))
    return timers


# The grace a plan's instalments get when the playbook has no `plan:` section to say.
_PLAN_GRACE_DAYS: int = PlanReminders.model_fields["grace_days"].default

# The template of a plan check that sends nothing (see on_plan): it only ends the plan.
_CHECK_ONLY = ""


def has_message(intent: ContactIntent) -> bool:
    """Whether a check's intent (a plan's, a promise's) is a message to send, not only the
    check itself."""
    return intent.template != _CHECK_ONLY


def _plan_reminders(
    state: BorrowerState,
    borrower: Party,
    loan: Loan,
    spec: PlanReminders,
    due: date,
    variables: dict[str, str],
    now: datetime,
    zone: ZoneInfo,
) -> list[TimerScheduled]:
    occasion = f"plan:{now.isoformat()}:{due.isoformat()}"
    remind_at = datetime.combine(
        due - timedelta(days=spec.days_before_due), spec.local_time, tzinfo=zone
    ).astimezone(UTC)
    timers = []
    for channel in spec.channels:
        intent = _intent(
            state,
            borrower,
            loan,
            Action(channel=channel, template=spec.template),
            Purpose.REMINDER,
            "plan",
            occasion,
            datetime.combine(due, spec.local_time, tzinfo=zone).astimezone(UTC),
            variables=variables,
        )
        if intent is not None and remind_at > now:
            timers.append(_wake(intent, remind_at, "plan_reminder"))
    return timers


def _plan_check(
    state: BorrowerState,
    borrower: Party,
    loan: Loan,
    spec: PlanReminders | None,
    due: date,
    variables: dict[str, str],
    now: datetime,
    check_at: datetime,
) -> ContactIntent:
    """The intent a plan check carries: the broken-plan message, or, when there is none to
    send, one with no template and no destination that the check fires just the same."""
    occasion = f"plan-broken:{now.isoformat()}:{due.isoformat()}"
    expires_at = check_at + timedelta(days=1)
    broken = spec.broken if spec is not None else None
    if broken is not None:
        message = _intent(
            state,
            borrower,
            loan,
            broken,
            Purpose.COLLECTION,
            "plan",
            occasion,
            expires_at,
            variables=variables,
        )
        if message is not None:
            return message
    channel = broken.channel if broken is not None else Channel.SMS
    return _check_only(state, borrower, loan, channel, "plan", occasion, expires_at, variables)


def _check_only(
    state: BorrowerState,
    borrower: Party,
    loan: Loan,
    channel: Channel,
    stage: str,
    occasion: str,
    expires_at: datetime,
    variables: dict[str, str] | None = None,
) -> ContactIntent:
    """An intent with no template and no destination: a check that fires with no message to
    send (``has_message``), its timer carrying it all the same."""
    return ContactIntent(
        attempt_id=_attempt_id(state, loan, borrower, channel, Purpose.COLLECTION, occasion),
        party_id=borrower.party_id,
        loan_id=loan.loan_id,
        channel=channel,
        to=None,
        purpose=Purpose.COLLECTION,
        template=_CHECK_ONLY,
        stage=stage,
        expires_at=expires_at,
        variables=variables or {},
    )


def _wake(intent: ContactIntent, due_at: datetime, reason: str) -> TimerScheduled:
    return TimerScheduled(
        timer_id=derive_id(intent.attempt_id, "wake"),
        due_at=due_at,
        kind="wake_up",
        intent=intent,
        reason=reason,
    )


def _parties(state: BorrowerState, borrower: Party, loan: Loan, action: Action) -> list[Party]:
    if action.party == "borrower":
        return [borrower]
    if not loan.guarantor_contact_allowed:
        return []
    # A guarantor who refused further contact is not asked again (ThirdPartyRefused, CN-3).
    return [
        p
        for p in sorted(state.parties.values(), key=lambda p: p.party_id)
        if p.role_on(loan.loan_id) is PartyRole.GUARANTOR
        and loan.loan_id in p.loans
        and not p.third_party_refused
    ]


def on_promise(
    state: BorrowerState,
    loan: Loan,
    promised: date,
    playbook: Playbook,
    zone: ZoneInfo,
    posture: Posture,
) -> list[TimerScheduled]:
    """A wake-up the day after the promise's grace: if it was not kept, collection resumes
    with a broken-promise message (the strategy re-checks; the gate decides)."""
    borrower = state.parties.get(state.borrower_id)
    if borrower is None:
        return []
    day = promised + timedelta(days=playbook.promise_grace_days + 1)
    due_at = datetime.combine(day, time(10, 0), tzinfo=zone).astimezone(UTC)
    action, occasion = playbook.broken_promise, f"promise:{promised.isoformat()}"
    expires_at = due_at + timedelta(days=1)
    intent = _intent(
        state,
        borrower,
        loan,
        action,
        Purpose.COLLECTION,
        "broken_promise",
        occasion,
        expires_at,
        posture.tone,
    )
    if intent is None:
        # No address for the message: the check fires all the same, so that a promise not kept
        # is counted broken (the segments read it) and its pause ends, as a plan's check does.
        intent = _check_only(
            state, borrower, loan, action.channel, "broken_promise", occasion, expires_at
        )
    return [_wake(intent, due_at, "promise_check")]


def on_outcome(
    state: BorrowerState,
    attempt: Attempt,
    outcome: OutcomeKind,
    now: datetime,
    today: date,
    playbook: Playbook,
    posture: Posture,
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
    if _stage_sent(state, party, loan, stage, stage.on_unanswered_call, now):
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
        posture.tone,
    )
    return [intent] if intent else []


def _stage_sent(
    state: BorrowerState, party: Party, loan: Loan, stage: Stage, follow_up: Action, now: datetime
) -> bool:
    """Whether the stage itself already sent this party the follow-up's message today (the
    firm stage texts firm_sms with its call, and texts it again when the call goes unanswered):
    sent, or waiting on a timer to be. "Today" is the debt's current day past due, as the
    servicing feed counts days; the stage's contacts of that day are found by their ids."""
    dpd = loan.days_past_due
    for action in stage.actions:
        if action.channel is not follow_up.channel or action.template != follow_up.template:
            continue
        occasion = _stage_occasion(loan, stage, dpd)
        aid = _attempt_id(state, loan, party, action.channel, Purpose.COLLECTION, occasion)
        if aid in state.attempts or any(
            t.intent is not None and t.intent.attempt_id == aid for t in state.timers.values()
        ):
            return True
    return False


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

    # About a debt the person is liable on and that no hold of its own bars, where there is
    # one: as a contact person they may only be asked where the borrower is (RF-13), and a
    # disputed debt, or one under a cease or an attorney, would refuse the confirmation too.
    def barred(loan_id: str) -> bool:
        loan = state.loans.get(loan_id)
        return (
            (loan is not None and loan.disputed)
            or loan_id in party.cease_loans
            or loan_id in party.attorney_loans
        )

    named = sorted(
        party.loans,
        key=lambda loan: (party.role_on(loan) is PartyRole.CONTACT_PERSON, barred(loan), loan),
    )
    loan_id = next(iter(named), None) or next(iter(sorted(state.loans)), None)
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
