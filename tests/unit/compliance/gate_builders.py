"""Builders for gate inputs in unit tests: one person in Albany, NY (Eastern time) by default."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, TypeAdapter

from contracts.outcomes import OutcomeKind
from contracts.values import Address, Channel, Email, PartyRole, Phone, PhoneType, Purpose
from services.compliance.core import (
    AttemptRecord,
    ConsentRecord,
    ContactIntent,
    DebtFacts,
    GateInput,
    GateResult,
    PartyFacts,
    Policy,
    evaluate,
    load_policy,
)

ET = ZoneInfo("America/New_York")
PT = ZoneInfo("America/Los_Angeles")
SH = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")

POLICY = load_policy("default")
MOBILE = "+15185550100"  # 518: Albany, NY (Eastern)
EMAIL = "pat@example.com"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)

ALBANY = Address(country="US", region="NY", city="Albany", postal_code="12207")
BOSTON = Address(country="US", region="MA", city="Boston", postal_code="02108")
NYC = Address(country="US", region="NY", city="New York", postal_code="10001")
SEATTLE = Address(country="US", region="WA", city="Seattle", postal_code="98101")
SHANGHAI = Address(country="CN", region="SH", city="Shanghai")
LONDON_ADDR = Address(country="GB", city="London")


def person(
    *,
    addresses: tuple[Address, ...] = (ALBANY,),
    phones: tuple[Phone, ...] = (Phone(number=MOBILE, type=PhoneType.MOBILE),),
    emails: tuple[Email, ...] = (Email(address=EMAIL),),
    **facts: object,
) -> PartyFacts:
    base: dict[str, object] = {"party_id": "p1", "role": PartyRole.BORROWER}
    base.update(facts)
    return PartyFacts(addresses=addresses, phones=phones, emails=emails, **base)  # type: ignore[arg-type]


def grant(
    channel: Channel,
    address: str | None = None,
    *,
    at: datetime = LONG_AGO,
    written: bool = False,
    purpose: Purpose | None = None,
) -> ConsentRecord:
    return ConsentRecord(channel, address, purpose, True, at, at, at, written)


def revoke(
    channel: Channel, address: str | None = None, *, at: datetime, effective: datetime | None = None
) -> ConsentRecord:
    return ConsentRecord(channel, address, None, False, at, effective or at, at)


DEFAULT_CONSENTS = (grant(Channel.CALL), grant(Channel.SMS))


def attempt(
    at: datetime,
    channel: Channel = Channel.CALL,
    outcome: OutcomeKind | None = OutcomeKind.NO_ANSWER,
    *,
    to: str | None = MOBILE,
    loan: str = "L1",
    purpose: Purpose | None = None,
    attempt_id: str | None = None,
) -> AttemptRecord:
    return AttemptRecord(
        attempt_id or f"a-{at.isoformat()}-{channel.value}",
        loan,
        channel,
        to,
        at,
        outcome,
        None,
        purpose,
    )


def decide(
    at: datetime,
    *,
    channel: Channel = Channel.CALL,
    to: str | None = MOBILE,
    purpose: Purpose = Purpose.COLLECTION,
    party: PartyFacts | None = None,
    debt: DebtFacts | None = None,
    attempts: tuple[AttemptRecord, ...] = (),
    consents: tuple[ConsentRecord, ...] = DEFAULT_CONSENTS,
    borrower_addresses: tuple[Address, ...] = (),
    policy: Policy = POLICY,
    loan: str = "L1",
    number_attempts: tuple[AttemptRecord, ...] = (),
) -> GateResult:
    intent = ContactIntent("intent-1", "p1", loan, channel, to, purpose, at)
    inp = GateInput(
        intent=intent,
        party=party or person(),
        debt=debt or DebtFacts(loan),
        attempts=attempts,
        consents=consents,
        borrower_addresses=borrower_addresses,
        number_attempts=number_attempts,
    )
    return evaluate(inp, policy)


def effects(result: GateResult, rule_id: str) -> set[str]:
    return {o.effect for o in result.rules if o.rule_id == rule_id}


_PARSE = TypeAdapter(AwareDatetime)


def parsed(at: datetime) -> datetime:
    """``at`` as pydantic parses its ISO form: a fixed-offset TzInfo object of its own."""
    return _PARSE.validate_python(at.isoformat())


def fixed_offsets_only(inp: GateInput) -> bool:
    """Whether every datetime of the input has a ``datetime.timezone``."""
    stamps = [inp.intent.at]
    stamps += [a.at for a in inp.attempts]
    stamps += [t for c in inp.consents for t in (c.received_at, c.effective_at, c.processed_at)]
    return all(type(t.tzinfo) is timezone for t in stamps)


def reparsed(inp: GateInput) -> GateInput:
    """The same input with every datetime parsed from its ISO form (a TzInfo of its own each)."""
    return dataclasses.replace(
        inp,
        intent=dataclasses.replace(inp.intent, at=parsed(inp.intent.at)),
        attempts=tuple(dataclasses.replace(a, at=parsed(a.at)) for a in inp.attempts),
        consents=tuple(
            dataclasses.replace(
                c,
                received_at=parsed(c.received_at),
                effective_at=parsed(c.effective_at),
                processed_at=parsed(c.processed_at),
            )
            for c in inp.consents
        ),
    )


def instants(result: GateResult) -> list[datetime]:
    """Every instant a result carries: rule deferrals, the window, the deferral."""
    window = result.evidence.window
    found = [o.until for o in result.rules] + [window.opens_at, window.closes_at]
    return [t for t in [*found, result.defer_until] if t is not None]


def moved(inp: GateInput, at: datetime) -> GateInput:
    """The same input, intended for another instant."""
    return dataclasses.replace(inp, intent=dataclasses.replace(inp.intent, at=at))


def rehashed(doc: dict[str, Any]) -> dict[str, Any]:
    """A policy document changed by hand, with the version its content hashes to: what a build
    that wrote that content recorded."""
    canonical = {key: doc[key] for key in ("packs", "kinds", "zones")}
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    doc["version"] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    return doc
