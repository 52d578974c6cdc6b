"""Holds: facts about the person or debt that suppress contact until the state changes (P6).

Each hold kind is code; which kinds apply, with which rule id, channels and allowed purposes, is
pack data. A hold never defers: only a new event (dispute resolved, consent given) lifts it.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.outcomes import OutcomeKind
from contracts.values import (
    Address,
    Channel,
    Email,
    EmailKind,
    PartyRole,
    Phone,
    PhoneType,
    Purpose,
)
from services.compliance.core import consent, schema
from services.compliance.core.model import AttemptRecord, GateInput

Check = Callable[[schema.HoldRule, GateInput], str | None]  # problem, or None when it passes


# Never dispatched, so never a contact: these do not use up a "once" or "at most 3" allowance.
_NOT_SENT = frozenset({OutcomeKind.EXPIRED, OutcomeKind.CANCELLED})


def _sent(attempt: AttemptRecord, inp: GateInput) -> bool:
    return attempt.outcome not in _NOT_SENT and attempt.attempt_id != inp.intent.attempt_id


def active_holds(inp: GateInput) -> tuple[str, ...]:
    """Evidence: every hold in force for this person and debt, sorted."""
    party, loan = inp.party, inp.intent.loan_id
    found: list[str] = []  # in sorted order
    if loan in party.attorney_loans:
        found.append("attorney")
    if party.bankrupt:
        found.append("bankruptcy")
    if party.cease_all or loan in party.cease_loans:
        found.append("cease")
    if party.deceased:
        found.append("deceased")
    if inp.debt.disputed:
        found.append("dispute")
    if party.no_contact_at_work:
        found.append("no_contact_at_work")
    if party.third_party_refused:
        found.append("third_party_refused")
    if party.vulnerable:
        found.append("vulnerable")
    return tuple(found)


def _destination(rule: schema.HoldRule, inp: GateInput) -> str | None:
    intent, party = inp.intent, inp.party
    if own_destination(intent.channel, intent.to, party.phones, party.emails, party.addresses):
        return None
    return f"{intent.channel.value} destination is not one of the party's own"


def own_destination(
    channel: Channel,
    to: str | None,
    phones: tuple[Phone, ...],
    emails: tuple[Email, ...],
    addresses: tuple[Address, ...],
) -> bool:
    """P1-DEST: whether ``to`` is one of the person's own numbers or mailboxes on file (a letter
    goes to their postal address, so they need one). The gate asks it of every contact, and the
    dispatch-time re-check again: a number dropped from a profile (reassigned) in between is no
    longer theirs."""
    if channel in (Channel.CALL, Channel.SMS):
        return to is not None and any(p.number == to for p in phones)
    if channel == Channel.EMAIL:
        return to is not None and any(e.address == to for e in emails)
    return bool(addresses)


def _no_location(rule: schema.HoldRule, inp: GateInput) -> str | None:
    # Filled in by the gate, which knows the zones; kept here so the rule id stays pack data.
    return None


def _purpose_hold(active: bool, rule: schema.HoldRule, inp: GateInput, what: str) -> str | None:
    if not active:
        return None
    purpose = inp.intent.purpose
    if purpose not in rule.allow_purposes:
        return (
            f"{what}: only {', '.join(p.value for p in rule.allow_purposes) or 'nothing'} allowed"
        )
    if rule.max_allowed is not None:
        sent = sum(
            1
            for a in inp.attempts
            if a.loan_id == inp.intent.loan_id and a.purpose == purpose and _sent(a, inp)
        )
        if sent >= rule.max_allowed:
            return f"{what}: {sent} {purpose.value} messages already, at most {rule.max_allowed}"
    return None


def _dispute(rule: schema.HoldRule, inp: GateInput) -> str | None:
    return _purpose_hold(inp.debt.disputed, rule, inp, "debt disputed")


def _cease(rule: schema.HoldRule, inp: GateInput) -> str | None:
    party = inp.party
    active = party.cease_all or inp.intent.loan_id in party.cease_loans
    return _purpose_hold(active, rule, inp, "cease requested")


def _attorney(rule: schema.HoldRule, inp: GateInput) -> str | None:
    return (
        "represented by an attorney for this debt"
        if inp.intent.loan_id in inp.party.attorney_loans
        else None
    )


def _bankruptcy(rule: schema.HoldRule, inp: GateInput) -> str | None:
    return "bankruptcy filed" if inp.party.bankrupt else None


def _co_debtor_stay(rule: schema.HoldRule, inp: GateInput) -> str | None:
    # Not among active_holds' evidence: that is the same under every policy, and a decision
    # recorded before this hold existed must re-prove with the same evidence.
    if inp.party.role is PartyRole.GUARANTOR and inp.debt.co_debtor_stay:
        return "the borrower's bankruptcy stays collection from co-debtors"
    return None


def _deceased(rule: schema.HoldRule, inp: GateInput) -> str | None:
    return "reported deceased" if inp.party.deceased else None


def _vulnerable(rule: schema.HoldRule, inp: GateInput) -> str | None:
    return "vulnerable customer: no automated contact" if inp.party.vulnerable else None


def _work_email(rule: schema.HoldRule, inp: GateInput) -> str | None:
    intent = inp.intent
    to = intent.to
    work = any(e.address == to and e.kind == EmailKind.WORK for e in inp.party.emails)
    if not work:
        return None
    if rule.unless_consented:
        # RF-9 (1006.22(f)(3)): unless the consumer consented to that address. Only a standing
        # grant naming it counts: consent to email in general is not consent to email the
        # employer.
        ledger = consent.resolve(inp.consents, intent.channel, to, intent.purpose, intent.at)
        if ledger.revocation is None and any(g.address is not None for g in ledger.grants):
            return None
    return "employer-provided email address"


def _work_phone(rule: schema.HoldRule, inp: GateInput) -> str | None:
    to = inp.intent.to
    work = any(p.number == to and p.type == PhoneType.WORK for p in inp.party.phones)
    return (
        "work number and the person barred work contact"
        if work and inp.party.no_contact_at_work
        else None
    )


def _third_party_location(rule: schema.HoldRule, inp: GateInput) -> str | None:
    if inp.party.role != PartyRole.CONTACT_PERSON:
        return None
    if inp.intent.purpose != Purpose.LOCATION_INQUIRY:
        return "third party: location inquiry only"
    earlier = [a for a in inp.attempts if a.purpose == Purpose.LOCATION_INQUIRY and _sent(a, inp)]
    return "third party already contacted once for location" if earlier else None


def _third_party_unreachable_only(rule: schema.HoldRule, inp: GateInput) -> str | None:
    party = inp.party
    if party.role != PartyRole.CONTACT_PERSON:
        return None
    if party.third_party_refused:
        return "contact person refused: never contacted again"
    allowed = rule.allow_purposes
    if allowed and inp.intent.purpose not in allowed:
        # Never told of the debt: asked only where the debtor is (CN-3; CN-5, no collecting from
        # unrelated third parties). A policy recorded with no purposes here held none (P5).
        return f"contact person: only {', '.join(p.value for p in allowed)} allowed"
    return (
        None if party.debtor_unreachable else "contact person only when the debtor is unreachable"
    )


CHECKS: dict[str, Check] = {
    "unknown_destination": _destination,
    "no_location": _no_location,
    "dispute": _dispute,
    "cease": _cease,
    "attorney": _attorney,
    "bankruptcy": _bankruptcy,
    "co_debtor_stay": _co_debtor_stay,
    "deceased": _deceased,
    "vulnerable_automated": _vulnerable,
    "work_email": _work_email,
    "work_phone": _work_phone,
    "third_party_location": _third_party_location,
    "third_party_unreachable_only": _third_party_unreachable_only,
}


# Hold kinds that can only fire while one of ``active_holds`` is in force: with it off they pass.
TRIGGERS: dict[str, str] = {
    "dispute": "dispute",
    "cease": "cease",
    "attorney": "attorney",
    "bankruptcy": "bankruptcy",
    "deceased": "deceased",
    "vulnerable_automated": "vulnerable",
    "work_phone": "no_contact_at_work",
}


# Hold kinds that only ever concern a contact person (a third party): anyone else passes.
CONTACT_PERSON_ONLY = frozenset({"third_party_location", "third_party_unreachable_only"})


def rule_ids(packs: tuple[schema.Pack, ...], kind: str) -> frozenset[str]:
    """The ids the packs give holds of ``kind``: a decision whose rules include one of them was
    made under a policy, and in a place, where that hold applies."""
    return frozenset(h.id for pack in packs for h in pack.holds if h.hold == kind)


def check(rule: schema.HoldRule, inp: GateInput) -> str | None:
    """The hold's problem with this intent, or None; channels outside the rule pass."""
    if rule.channels is not None and inp.intent.channel not in rule.channels:
        return None
    return CHECKS[rule.hold](rule, inp)
