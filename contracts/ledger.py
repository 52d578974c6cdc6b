"""The orchestrator's ledger: the system of record an auditor replays (P4, P5).

One ``LedgerEntry`` per input record applied (or per timer firing): the input as received,
the clock value used, the policy version in force, and every event the orchestrator derived.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from contracts._base import Message
from contracts.values import AttemptId, Channel, LoanId, PartyId, PhoneNumber, Purpose


class ContactIntent(Message):
    """What the strategy (or a desk's request) wants: one contact, before the gate has spoken."""

    TYPE = "contact.intent"
    attempt_id: AttemptId
    party_id: PartyId
    loan_id: LoanId
    channel: Channel
    to: str | None
    purpose: Purpose
    template: str
    tone: str | None = Field(default=None, description="The segment's tone (template variant)")
    stage: str | None = None
    origin: Literal["strategy", "request", "timer"] = "strategy"
    request_id: str | None = None
    expires_at: AwareDatetime | None = Field(
        default=None, description="Drop if not authorised by then"
    )
    variables: dict[str, str] = Field(default_factory=dict)


class TimerScheduled(Message):
    """A durable timer: a deferred contact or a strategy wake-up, fired by the owning partition."""

    TYPE = "timer.scheduled"
    timer_id: str
    due_at: AwareDatetime
    kind: Literal["deferred_contact", "wake_up"]
    intent: ContactIntent | None = None
    reason: str = ""


class TimerFired(Message):
    TYPE = "timer.fired"
    timer_id: str
    fired_at: AwareDatetime


class IntentDropped(Message):
    """The strategy withdrew an intent (expired, superseded, already reserved), or declined a
    desk's request it has nothing approved to send for (``request_id`` then names it)."""

    TYPE = "contact.intent_dropped"
    attempt_id: AttemptId
    reason: str
    # Left out when absent, so that every other drop reads and is written as before.
    request_id: str | None = Field(default=None, max_length=128, exclude_if=lambda v: v is None)


class NumberOptedOut(Message):
    """An opt-out reply (TC-2), as the policy in force read it, kept with the number it came
    from: whoever a later profile or link gives the number (one the orchestrator had not applied
    yet, or a person linked at a household phone) is revoked from ``received_at``."""

    TYPE = "number.opted_out"
    number: PhoneNumber
    channel: Channel
    whole_medium: bool = Field(
        default=False, description="The words named the medium (RF-17): every number of theirs"
    )
    received_at: AwareDatetime
    words: str | None = Field(default=None, max_length=160, description="What the reply said")

    @property
    def revoked_address(self) -> str | None:
        """The address a revocation from it names: None for the whole medium."""
        return None if self.whole_medium else self.number


class InputRef(Message):
    TYPE = "ledger.input_ref"
    topic: str
    partition: int
    offset: int


class LedgerEntry(Message):
    TYPE = "ledger.entry"
    entry_id: str
    borrower_id: str
    now: AwareDatetime = Field(description="The clock value every decision in this entry used")
    policy_version: str
    strategy_version: str
    input: InputRef | None = Field(description="None for a timer firing")
    event: dict[str, Any] | None = Field(description="The input envelope as applied")
    duplicate: bool = Field(default=False, description="Input was a duplicate event id: no effect")
    derived: tuple[dict[str, Any], ...] = Field(default=(), description="Derived event envelopes")
