"""Feeding contract messages to a broker-free orchestrator engine, as records with offsets."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from contracts import (
    BorrowerProfiled,
    ConsentGranted,
    DelinquencyUpdated,
    InboundMessageReceived,
    LoanOpened,
    Message,
    PartyLinked,
    ThirdPartyRefused,
)
from contracts.values import Address, Channel, Email, Money, PartyRole, Phone, PhoneType
from events.envelope import wrap
from events.partitioning import partition_for
from events.records import Out, Record
from services.orchestrator.app import build_engine
from services.orchestrator.core.state import BorrowerState
from services.orchestrator.engine import Emitted, Orchestrator
from services.orchestrator.settings import OrchestratorSettings

PARTITIONS = 4
NS = "unit"
UPSTREAM = f"{NS}.upstream"
OUTCOMES = f"{NS}.outcomes"
T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York
MOBILE = "+15185550147"  # 518: Albany (a 212 number would bring the NYC rules, RF-7)
EMAIL = "ann@mail.example"


def engine() -> Orchestrator:
    e = build_engine(OrchestratorSettings(namespace=NS, partitions=PARTITIONS))
    for p in range(PARTITIONS):
        e.assign(p)
    return e


def usd(amount: int) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def ny_profile(party_id: str) -> dict[str, Any]:
    return {
        "party_id": party_id,
        "name": "Ann",
        "addresses": (Address(country="US", region="NY", city="Albany", postal_code="12207"),),
        "phones": (Phone(number=MOBILE, type=PhoneType.MOBILE),),
        "emails": (Email(address=EMAIL),),
    }


@dataclass
class Feed:
    """Turns messages into records on the right partition with increasing offsets."""

    engine: Orchestrator = field(default_factory=engine)
    offsets: Counter[tuple[str, int]] = field(default_factory=Counter)
    ledger: list[Out] = field(default_factory=list)
    tasks: list[Out] = field(default_factory=list)
    dead: list[Out] = field(default_factory=list)

    def record(
        self,
        borrower: str,
        message: Message,
        at: datetime,
        topic: str = UPSTREAM,
        event_id: str | None = None,
    ) -> Record:
        key = borrower.encode()
        partition = partition_for(key, PARTITIONS)
        envelope = wrap(
            message, borrower_id=borrower, occurred_at=at, producer="test", event_id=event_id
        )
        offset = self.offsets[(topic, partition)]
        self.offsets[(topic, partition)] += 1
        return Record(topic, partition, offset, key, envelope.model_dump_json().encode())

    def apply(self, record: Record) -> Emitted:
        out = self.engine.process(record)
        self._keep(out)
        return out

    def state(self, borrower: str) -> BorrowerState:
        """The borrower's state as the engine holds it now."""
        held = self.engine.states.values()
        return next(ps.borrowers[borrower] for ps in held if borrower in ps.borrowers)

    def send(
        self,
        borrower: str,
        message: Message,
        at: datetime,
        topic: str = UPSTREAM,
        event_id: str | None = None,
    ) -> Emitted:
        return self.apply(self.record(borrower, message, at, topic, event_id))

    def tick(self, at: datetime) -> Emitted:
        out = Emitted()
        for p in range(PARTITIONS):
            out.extend(self.engine.tick(p, at))
        self._keep(out)
        return out

    def _keep(self, out: Emitted) -> None:
        self.ledger += out.ledger
        self.tasks += out.tasks
        self.dead += out.deadletters


def derived(out: Emitted) -> list[dict[str, Any]]:
    return [d for o in out.ledger for d in json.loads(o.value)["derived"]]


def of_type(out: Emitted, type_: str) -> list[dict[str, Any]]:
    return [d["payload"] for d in derived(out) if d["type"] == type_]


def decisions(out: Emitted) -> list[dict[str, Any]]:
    return of_type(out, "contact.decided")


def channels(out: Emitted) -> list[Channel]:
    return [Channel(json.loads(t.value)["type"].split(".")[1]) for t in out.tasks]


# -- a borrower in Albany NY (America/New_York) ---------------------------------------------

B = "b1"
NOON_NY = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)  # 12:00 EST
NIGHT_NY = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # 02:00 EST
GUARANTOR = "+15185550199"


def borrower(consent: bool = True, collector: bool = False) -> Feed:
    """A borrower of a first-party lender by default (no Reg F validation notice, RF-20)."""
    feed = Feed()
    feed.send(B, BorrowerProfiled(**ny_profile(B)), T0 - timedelta(days=1))
    if consent:
        for channel in (Channel.SMS, Channel.CALL):
            feed.send(
                B,
                ConsentGranted(
                    party_id=B, channel=channel, address=MOBILE, received_at=T0 - timedelta(days=1)
                ),
                T0 - timedelta(days=1),
            )
    loan = LoanOpened(
        loan_id="L1", product="p", principal=usd(500), third_party_collector=collector
    )
    feed.send(B, loan, T0 - timedelta(days=1))
    return feed


def with_guarantor(*, contact_allowed: bool = True, refused: bool = False) -> Feed:
    """A borrower whose loan has a guarantor, g1, who consented to calls at GUARANTOR; the
    contract may allow contacting them, and they may have refused further contact."""
    feed = Feed()
    feed.send(B, BorrowerProfiled(**ny_profile(B)), T0)
    loan = LoanOpened(
        loan_id="L1",
        product="p",
        principal=usd(500),
        guarantor_contact_allowed=contact_allowed,
        third_party_collector=False,
    )
    feed.send(B, loan, T0)
    feed.send(B, guarantor_link(), T0)
    consent = ConsentGranted(party_id="g1", channel=Channel.CALL, address=GUARANTOR, received_at=T0)
    feed.send(B, consent, T0)
    if refused:
        feed.send(B, ThirdPartyRefused(party_id="g1", reported_at=T0), T0)
    return feed


def guarantor_link(
    loan_id: str = "L1",
    role: Literal[PartyRole.GUARANTOR, PartyRole.CONTACT_PERSON] = PartyRole.GUARANTOR,
) -> PartyLinked:
    """Bo, g1, named for a loan (a guarantor by default), at GUARANTOR."""
    return PartyLinked(
        loan_id=loan_id, party_id="g1", role=role, name="Bo", phones=(Phone(number=GUARANTOR),)
    )


def day(n: int) -> datetime:
    """Noon in New York, n days after 2026-03-03."""
    return NOON_NY + timedelta(days=n)


def stop(
    number: str,
    external_id: str,
    body: str = "STOP",
    *,
    received_at: datetime = NOON_NY,
    **fields: Any,
) -> InboundMessageReceived:
    """A STOP reply (or another opt-out, ``body``) from ``number`` to our number, by default at
    noon in New York on 2026-03-03."""
    return InboundMessageReceived(
        from_number=number,
        to_number="+18005550111",
        body=body,
        vendor="v",
        external_id=external_id,
        received_at=received_at,
        **fields,
    )


CARL_PHONE = "+15185550123"
CARL_EMAIL = "carl@mail.example"


def contact_person(*, email: bool = False) -> PartyLinked:
    """Carl, named for L1 as a contact person (a third party, RF-13), at a home phone."""
    return PartyLinked(
        party_id="c1",
        role=PartyRole.CONTACT_PERSON,
        loan_id="L1",
        name="Carl",
        phones=(Phone(number=CARL_PHONE, type=PhoneType.HOME),),
        emails=(Email(address=CARL_EMAIL),) if email else (),
    )


def dpd(n: int, day: date) -> DelinquencyUpdated:
    return DelinquencyUpdated(loan_id="L1", days_past_due=n, amount_overdue=usd(50), as_of=day)
