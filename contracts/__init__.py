"""Parley's published language: every message upstream systems and integrators code against.

Pure pydantic models, no I/O. ``MESSAGE_TYPES`` maps each wire name to its class.
"""

from __future__ import annotations

from contracts._base import Message
from contracts.clock import ClockTicked
from contracts.decisions import ContactDecided, Evidence, RuleOutcome, Verdict, Window
from contracts.ledger import (
    ContactIntent,
    InputRef,
    IntentDropped,
    LedgerEntry,
    NumberOptedOut,
    TimerFired,
    TimerScheduled,
)
from contracts.outcomes import (
    ContactOutcomeRecorded,
    DispatchStarted,
    InboundMessageReceived,
    OutcomeKind,
)
from contracts.strategy import (
    HandedOffToLegal,
    RepaymentPlanBroken,
    RepaymentPlanCompleted,
    Segment,
    SegmentAssigned,
)
from contracts.tasks import PlaceCall, SendEmail, SendLetter, SendSms, Task
from contracts.upstream import (
    AttorneyRepresented,
    BankruptcyFiled,
    BorrowerProfiled,
    CeaseRequested,
    ConsentGranted,
    ConsentRevoked,
    ContactPreferenceStated,
    DeceasedReported,
    DelinquencyUpdated,
    DisputeOpened,
    DisputeResolved,
    InstalmentDue,
    LoanOpened,
    PartyLinked,
    PaymentReceived,
    PlannedInstalment,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    RequestContact,
    ThirdPartyRefused,
)

UPSTREAM_TYPES: tuple[type[Message], ...] = (
    BorrowerProfiled,
    LoanOpened,
    InstalmentDue,
    DelinquencyUpdated,
    PaymentReceived,
    PromiseToPayMade,
    RepaymentPlanAgreed,
    ConsentGranted,
    ConsentRevoked,
    ContactPreferenceStated,
    DisputeOpened,
    DisputeResolved,
    CeaseRequested,
    AttorneyRepresented,
    BankruptcyFiled,
    DeceasedReported,
    PartyLinked,
    ThirdPartyRefused,
    RequestContact,
)
OUTCOME_TYPES: tuple[type[Message], ...] = (
    DispatchStarted,
    ContactOutcomeRecorded,
    InboundMessageReceived,
)
TASK_TYPES: tuple[type[Message], ...] = (SendSms, SendEmail, PlaceCall, SendLetter)
DECISION_TYPES: tuple[type[Message], ...] = (ContactDecided,)
LEDGER_TYPES: tuple[type[Message], ...] = (
    ContactIntent,
    TimerScheduled,
    TimerFired,
    IntentDropped,
    NumberOptedOut,
    LedgerEntry,
)
STRATEGY_TYPES: tuple[type[Message], ...] = (
    SegmentAssigned,
    HandedOffToLegal,
    RepaymentPlanBroken,
    RepaymentPlanCompleted,
)

_ALL: tuple[type[Message], ...] = (
    *UPSTREAM_TYPES,
    *OUTCOME_TYPES,
    *TASK_TYPES,
    *DECISION_TYPES,
    *LEDGER_TYPES,
    *STRATEGY_TYPES,
    ClockTicked,
)
MESSAGE_TYPES: dict[str, type[Message]] = {m.TYPE: m for m in _ALL}

__all__ = [
    "DECISION_TYPES",
    "LEDGER_TYPES",
    "MESSAGE_TYPES",
    "OUTCOME_TYPES",
    "STRATEGY_TYPES",
    "TASK_TYPES",
    "UPSTREAM_TYPES",
    "AttorneyRepresented",
    "BankruptcyFiled",
    "BorrowerProfiled",
    "CeaseRequested",
    "ClockTicked",
    "ConsentGranted",
    "ConsentRevoked",
    "ContactDecided",
    "ContactIntent",
    "ContactOutcomeRecorded",
    "ContactPreferenceStated",
    "DeceasedReported",
    "DelinquencyUpdated",
    "DispatchStarted",
    "DisputeOpened",
    "DisputeResolved",
    "Evidence",
    "HandedOffToLegal",
    "InboundMessageReceived",
    "InputRef",
    "InstalmentDue",
    "IntentDropped",
    "LedgerEntry",
    "LoanOpened",
    "Message",
    "NumberOptedOut",
    "OutcomeKind",
    "PartyLinked",
    "PaymentReceived",
    "PlaceCall",
    "PlannedInstalment",
    "PromiseToPayMade",
    "RepaymentPlanAgreed",
    "RepaymentPlanBroken",
    "RepaymentPlanCompleted",
    "RequestContact",
    "RuleOutcome",
    "Segment",
    "SegmentAssigned",
    "SendEmail",
    "SendLetter",
    "SendSms",
    "Task",
    "ThirdPartyRefused",
    "TimerFired",
    "TimerScheduled",
    "Verdict",
    "Window",
]
