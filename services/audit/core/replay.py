"""The audit, as a pure fold over the ledger and the dispatch records (P4, P5).

For every ledger entry, in log order per borrower, the recorded input and derived events are
folded into the borrower's state, exactly as a restore would fold them, and:
- every recorded decision is re-proved: the gate is run again on the state the decision saw,
  under the policy version recorded in it, and must give the same verdict, reasons, rules,
  evidence and deferral;
- every opt-out word received must have revoked consent for its number in the same entry (TC-2);
- with ``rederive`` (``parley audit --rederive``), and when the strategy version matches this
  build, the whole decision core (strategy and gate) is run again on the same state, input, clock
  and policy version, and its events must equal the recorded ones: not only the decisions, but
  every timer, task, segment and plan event. This is the slower, stronger check
  (docs/decisions/0008).
Every consent revocation is evidence for TC-3: when it was received, when it was processed, and
whether that was within ten business days (``revocations``). Then every dispatch a channel worker
recorded must answer an authorised decision, inside its authorisation window, be the attempt's
only start (or one its vendor de-duplicates), and not follow a revocation of that person standing
for that address (``dispatches``). A shadow policy, if given, re-runs every
decision under new rules and counts what would have changed.

Borrowers are independent of one another (all of a borrower's entries share a partition), so the
ledger may be folded in shards, one ``Auditor`` each, and the parts merged before the dispatch
records are checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts import (
    STRATEGY_TYPES,
    TASK_TYPES,
    AttorneyRepresented,
    BankruptcyFiled,
    BorrowerProfiled,
    CeaseRequested,
    ConsentGranted,
    ConsentRevoked,
    ContactDecided,
    ContactOutcomeRecorded,
    DeceasedReported,
    DisputeOpened,
    DisputeResolved,
    InboundMessageReceived,
    IntentDropped,
    Message,
    NumberOptedOut,
    PartyLinked,
    ThirdPartyRefused,
    TimerFired,
    TimerScheduled,
)
from contracts.decisions import Verdict
from contracts.outcomes import DispatchStarted, OutcomeKind
from contracts.tasks import CHANNEL_OF, PlaceCall, SendEmail, SendLetter, SendSms, Task
from contracts.values import Channel, PartyRole, Phone, PhoneType
from events.envelope import Envelope
from events.partitioning import partition_for
from services.audit.core.dispatches import Authorisations, Authorised, consent_record
from services.audit.core.entry import RecordedEntry, first_errors, message_of
from services.audit.core.report import AuditReport, Finding
from services.audit.core.revocations import Recorded, Revocation
from services.audit.core.snapshot import snapshot
from services.compliance.core import Policy, evaluate, obligations
from services.compliance.core.consent import revoked_last
from services.compliance.core.keywords import names_an_opt_out, revoked_by
from services.compliance.core.localtime import shareable
from services.compliance.core.model import ContactIntent as GateIntent
from services.compliance.core.model import GateInput, PartyFacts
from services.compliance.core.schema import ObligationRule
from services.orchestrator.core.decide import (
    Context,
    co_debtor_stay_applies,
    decide,
    fire_timers,
    holders,
    revoke_all_rules,
)
from services.orchestrator.core.evolve import evolve, revision_of
from services.orchestrator.core.recheck import revoked_since
from services.orchestrator.core.state import BorrowerState
from services.strategy.core.playbook import needs_opt_out_notice

__all__ = [
    "AuditReport",
    "Auditor",
    "Finding",
    "LedgerPart",
    "OutcomeRecord",
    "Rederive",
    "read_outcome",
]


# The decision core's revision (``CORE_REVISION``) from which replies are kept with their
# number: an entry written by an earlier one is not held to it.
KEPT_FROM_REVISION = 11


def keeps_opt_outs(strategy_version: str) -> bool:
    """Whether the core that wrote an entry keeps opt-outs with their number (one that names
    no revision is held to it)."""
    revision = revision_of(strategy_version)
    return revision is None or revision >= KEPT_FROM_REVISION


def _kept_for(state: BorrowerState, m: ConsentRevoked) -> bool:
    """Whether an opt-out kept for one of the revoked person's numbers gives this revocation."""
    party = state.parties.get(m.party_id)
    return party is not None and any(
        kept.channel is m.channel
        and kept.received_at == m.received_at
        and m.address == kept.revoked_address
        and m.purpose is None
        for phone in party.phones
        for kept in state.number_opt_outs.get(phone.number, ())
    )


@dataclass(frozen=True)
class _Refusal:
    """A text the vendor refused because the person opted out with it (``OPTED_OUT``)."""

    attempt_id: str
    number: str
    reported_at: datetime


def _refused_text(
    state: BorrowerState, entry: RecordedEntry, message: Message | None
) -> _Refusal | None:
    """The refusal an entry applied, if its input is one, of a text Parley authorised."""
    if (
        not isinstance(message, ContactOutcomeRecorded)
        or message.outcome is not OutcomeKind.OPTED_OUT
        or entry.duplicate
    ):
        return None
    attempt = state.attempts.get(message.attempt_id)
    if attempt is None or attempt.channel is not Channel.SMS or attempt.to is None:
        return None
    return _Refusal(message.attempt_id, attempt.to, message.reported_at)


def _from_refusal(refused: _Refusal, m: Message) -> bool:
    """Whether ``m`` keeps the refused text's opt-out with its number (``vendor_opt_out``)."""
    return (
        isinstance(m, NumberOptedOut)
        and m.number == refused.number
        and m.channel is Channel.SMS
        and not m.whole_medium
        and m.received_at == refused.reported_at
    )


def _revoked_by_refusal(state: BorrowerState, refused: _Refusal, m: Message) -> bool:
    """Whether ``m`` is a revocation the refusal gives: texts to that number, for a person on
    file with it, received when the vendor refused."""
    return (
        isinstance(m, ConsentRevoked)
        and m.channel is Channel.SMS
        and m.address == refused.number
        and m.purpose is None
        and m.received_at == refused.reported_at
        and m.party_id in holders(state, refused.number)
    )


def _comparable(m: Message) -> tuple[str, dict[str, Any]]:
    return m.TYPE, m.model_dump(mode="json")


# What the decision core can derive (ConsentRevoked only from a reply with an opt-out word):
# any other type among an entry's derived events was not derived by Parley.
_DERIVABLE: tuple[type[Message], ...] = (
    ContactDecided,
    *TASK_TYPES,
    TimerScheduled,
    TimerFired,
    IntentDropped,
    *STRATEGY_TYPES,
    ConsentRevoked,
    NumberOptedOut,
)


# The upstream facts that put a hold on contact, or lift one (P6); a refusal holds location
# inquiries to the person who refused, a profile or link that drops a number or mailbox holds
# contact to it (P1-DEST) (recheck).
HOLD_TYPES: tuple[type[Message], ...] = (
    AttorneyRepresented,
    BankruptcyFiled,
    BorrowerProfiled,
    PartyLinked,
    CeaseRequested,
    DeceasedReported,
    DisputeOpened,
    DisputeResolved,
    ThirdPartyRefused,
)

_VERDICT_PARTS = ("verdict", "reasons", "rules", "evidence", "defer_until")


def _verdict(d: ContactDecided) -> tuple[Any, ...]:
    return (d.verdict, d.reasons, d.rules, d.evidence, d.defer_until)


@dataclass(frozen=True)
class Rederive:
    """What running the decision core again needs: this build's strategy, per policy version.
    Entries recorded under another strategy version are re-proved decision by decision."""

    context_for: Callable[[Policy], Context]
    strategy_version: str


@dataclass
class LedgerPart:
    """What folding one shard of the ledger found, to be merged with the other shards'."""

    report: AuditReport
    seen: Authorisations


class Auditor:
    def __init__(
        self,
        policies: dict[str, Policy],
        shadow: Policy | None = None,
        partitions: int | None = None,
        *,
        rederive: Rederive | None = None,
    ) -> None:
        self.policies = policies
        self.partitions = partitions
        self.rederive = rederive
        self.shadow = shadow
        self.report = AuditReport(
            shadow_policy=shadow.version if shadow else None, rederive=rederive is not None
        )
        self.states: dict[str, BorrowerState] = {}
        self.seen = Authorisations()
        self._contexts: dict[str, Context] = {}
        self._last_version: dict[str, str] = {}  # borrower -> policy version of its last entry
        self._ends_at: datetime | None = None  # the latest clock in this part of the ledger
        self._partition_of: dict[str, int] = {}  # borrower -> the partition its id hashes to
        self._clock: dict[int, datetime] = {}  # ledger partition -> the latest clock on it
        self._offset: dict[tuple[str, int], int] = {}  # input partition -> its last offset
        # (borrower, medium, number or None for the whole medium, received) -> when a reply's
        # opt-out was kept with its number: when it was honoured, for TC-3.
        self._kept_at: dict[tuple[str, Channel, str | None, datetime], datetime] = {}

    def _ctx(self, version: str) -> Context | None:
        if self.rederive is None:
            return None
        if version not in self._contexts and version in self.policies:
            self._contexts[version] = self.rederive.context_for(self.policies[version])
        return self._contexts.get(version)

    # -- shards -------------------------------------------------------------------------------

    def part(self) -> LedgerPart:
        return LedgerPart(self.report, self.seen)

    def merge(self, part: LedgerPart) -> None:
        """Fold in what another shard found (other borrowers), before checking dispatches."""
        self.seen.merge(part.seen, revocations_before=len(self.report.revocations))
        self.report.merge(part.report)

    # -- the ledger ---------------------------------------------------------------------------

    def entry(self, entry: RecordedEntry, partition: int | None = None) -> None:
        """Fold one ledger entry, read from ``partition`` if the caller knows it."""
        r = self.report
        r.entries += 1
        if (
            partition is not None
            and self.partitions is not None
            and self._home(entry.borrower_id) != partition
        ):
            # Folding in shards relies on a borrower's entries sharing a partition.
            self._find("mismatch", "entry_on_wrong_partition", entry, f"read from {partition}")
        r.policy_versions.add(entry.policy_version)
        self._last_version[entry.borrower_id] = entry.policy_version
        now = shareable(entry.now)  # compared and folded often: see shareable
        self._ends_at = now if self._ends_at is None else max(self._ends_at, now)
        if partition is not None:
            self._in_order(entry, partition, now)
        state = self.states.get(entry.borrower_id)
        if state is None:
            state = self.states[entry.borrower_id] = BorrowerState(entry.borrower_id)
        try:
            message = message_of(entry.event) if entry.event is not None else None
            recorded = [message_of(env) for env in entry.derived]
        except (KeyError, ValidationError) as exc:
            # A type or schema version this build cannot read: nothing in it can be re-proved.
            self._find("unverifiable", "unreadable_event", entry, _unreadable(exc))
            return
        event = entry.event
        if event is not None:
            if entry.duplicate and event.event_id not in state.seen_events:
                # A duplicate repeats an event already applied. Marked on one never seen, it would
                # drop that event (a dispute, a cease) from every later decision's state: report
                # it, and fold the event in as the orchestrator should have.
                self._find("mismatch", "duplicate_of_unseen_event", entry, "event not seen before")
                entry = entry.model_copy(update={"duplicate": False})
            state.seen_events.add(event.event_id)
        if message is not None and not entry.duplicate:
            assert event is not None  # the message is the event's
            evolve(state, message, now, event.occurred_at, revision_of(entry.strategy_version))
            self._consent(state, entry, message, "upstream")
            if isinstance(message, HOLD_TYPES):
                self._holds_changed(state, now)
        known = entry.policy_version in self.policies
        ctx = self._ctx(entry.policy_version)
        exact = False
        if (
            ctx is not None
            and self.rederive is not None
            and entry.strategy_version == self.rederive.strategy_version
        ):
            derived, exact = self._rederive(state, entry, now, message, recorded, ctx)
        else:
            derived = recorded
        refused = _refused_text(state, entry, message)
        self._derivable(state, entry, message, derived, refused)
        source = self._opt_outs_honoured(state, entry, message, derived, known, refused)
        if not known:
            self._find(
                "unverifiable",
                "unknown_policy_version",
                entry,
                f"policy {entry.policy_version} not recorded",
            )
        for m in derived:
            if isinstance(m, ContactDecided) and known:
                # After an exact re-derivation the gate has already proved this decision: decide
                # ran it on the same state, intent and clock under the entry's policy version, and
                # its verdict, reasons, rules, evidence and deferral equal the recorded ones, its
                # policy version too (a field of the decision), so running the gate again on the
                # same inputs could only say the same. Otherwise (another strategy version, or a
                # difference) each decision is re-proved on its own.
                self._reprove(state, entry, m, gate_again=not exact)
            evolve(state, m, now)
            self._note(state, entry, m, source)

    def _opt_outs_honoured(
        self,
        state: BorrowerState,
        entry: RecordedEntry,
        message: Message | None,
        derived: list[Message],
        known: bool,
        refused: _Refusal | None,
    ) -> str:
        """TC-2, for each way an opt-out reaches Parley; the way this entry's revocations came
        (TC-3 evidence): a reply, one kept for a number a profile or link gives, or a text the
        vendor refused."""
        if isinstance(message, InboundMessageReceived) and not entry.duplicate and known:
            self._opt_out_honoured(state, entry, message, derived)
        if isinstance(message, BorrowerProfiled | PartyLinked) and not entry.duplicate:
            if keeps_opt_outs(entry.strategy_version):
                self._kept_honoured(state, entry, message.party_id, derived)
            return "kept"
        if refused is not None:
            if known:
                self._vendor_opt_out_honoured(state, entry, refused, derived)
            return "vendor"
        return "reply"

    def _in_order(self, entry: RecordedEntry, partition: int, now: datetime) -> None:
        """A ledger partition is written by one orchestrator in input order, on a clock that
        never goes back (``PartitionState.advance``), and a redelivered input writes no second
        entry: a clock going back, or an input offset not above the last one recorded from that
        input partition, is an entry moved or recorded twice."""
        last = self._clock.get(partition)
        if last is not None and now < last:
            self._find(
                "mismatch",
                "entry_clock_goes_back",
                entry,
                f"clock {now.isoformat()} after an entry at {last.isoformat()} on partition"
                f" {partition}",
            )
        else:
            self._clock[partition] = now
        ref = entry.input
        if ref is not None:
            key = (ref.topic, ref.partition)
            before = self._offset.get(key, -1)
            if ref.offset <= before:
                self._find(
                    "mismatch",
                    "input_offset_out_of_order",
                    entry,
                    f"input {ref.topic}/{ref.partition} offset {ref.offset} after offset {before}",
                )
            else:
                self._offset[key] = ref.offset

    def _home(self, borrower_id: str) -> int:
        home = self._partition_of.get(borrower_id)
        if home is None:
            assert self.partitions is not None
            home = self._partition_of[borrower_id] = partition_for(
                borrower_id.encode(), self.partitions
            )
        return home

    def _opt_out_honoured(
        self,
        state: BorrowerState,
        entry: RecordedEntry,
        m: InboundMessageReceived,
        derived: list[Message],
    ) -> None:
        """TC-2: a reply with an opt-out word (under the entry's policy) is kept with its number,
        and from a number on file revokes consent for that number at once, in the entry that
        applied the reply, for every person on file with that number; words naming a medium
        revoke it for every number (RF-17, ``revoked_by``)."""
        revokes = revoked_by(self.policies[entry.policy_version], m.body)
        kept = {
            (d.channel, d.whole_medium)
            for d in derived
            if isinstance(d, NumberOptedOut)
            and d.number == m.from_number
            and d.received_at == m.received_at
        }
        unkept = [channel.value for channel, whole in revokes if (channel, whole) not in kept]
        if unkept and keeps_opt_outs(entry.strategy_version):
            self._not_honoured(
                entry,
                f"reply {m.external_id} carried an opt-out word; it was not kept with the"
                f" number ({', '.join(unkept)})",
            )
        party_id = state.addresses.get(m.from_number)
        if party_id is None or party_id not in state.parties:
            return
        missing: list[str] = []
        for channel, whole_medium in revokes:
            address = None if whole_medium else m.from_number
            revoked = {
                d.party_id
                for d in derived
                if isinstance(d, ConsentRevoked)
                and d.channel is channel
                and d.address == address
                and d.purpose is None
                and (d.effective_at is None or d.effective_at <= m.received_at)
            }
            missing += [
                f"{p} ({channel.value})" for p in holders(state, m.from_number) if p not in revoked
            ]
        if not missing:
            return
        self._not_honoured(
            entry,
            f"reply {m.external_id} carried an opt-out word; no revocation was recorded"
            f" for {', '.join(missing)}",
        )

    def _derivable(
        self,
        state: BorrowerState,
        entry: RecordedEntry,
        message: Message | None,
        derived: list[Message],
        refused: _Refusal | None,
    ) -> None:
        """Every derived event must be of a kind the core derives: a fact added to the log (a
        consent grant, a payment) would be folded into state as if Parley had derived it. A
        revocation comes only from a reply, or from an opt-out kept for a number that a profile
        or link gives the person revoked; an opt-out is kept only from a reply."""
        replied = isinstance(message, InboundMessageReceived) and not entry.duplicate
        profiled = isinstance(message, BorrowerProfiled | PartyLinked) and not entry.duplicate
        for m in derived:
            if (
                not isinstance(m, _DERIVABLE)
                or (
                    isinstance(m, NumberOptedOut)
                    and not replied
                    and not (refused and _from_refusal(refused, m))
                )
                or (
                    isinstance(m, ConsentRevoked)
                    and not replied
                    and not (profiled and _kept_for(state, m))
                    and not (refused and _revoked_by_refusal(state, refused, m))
                )
            ):
                self._find(
                    "mismatch", "underivable_event", entry, f"{m.TYPE} is not derived by Parley"
                )

    def _vendor_opt_out_honoured(
        self, state: BorrowerState, entry: RecordedEntry, refused: _Refusal, derived: list[Message]
    ) -> None:
        """TC-2: a text the vendor refused because the person opted out with it is kept with
        the number, and revokes texts to it for everyone on file with it, in the entry that
        applied the refusal, unless such a revocation already stood for them."""
        kept = any(_from_refusal(refused, m) for m in derived)
        missing = [] if kept else ["not kept with the number"]
        revoked = {
            m.party_id
            for m in derived
            if isinstance(m, ConsentRevoked) and _revoked_by_refusal(state, refused, m)
        }
        missing += [
            f"no revocation for {holder}"
            for holder in holders(state, refused.number)
            if holder not in revoked
            and not revoked_last(tuple(state.parties[holder].consents), Channel.SMS, refused.number)
        ]
        if missing:
            self._not_honoured(
                entry,
                f"the vendor refused text {refused.attempt_id}: the person opted out with it;"
                f" {', '.join(missing)}",
            )

    def _kept_honoured(
        self, state: BorrowerState, entry: RecordedEntry, party_id: str, derived: list[Message]
    ) -> None:
        """TC-2: an opt-out kept for a number revokes it for the person a profile or link gives
        it to, in that entry, from when it was received (unless they had such a revocation)."""
        party = state.parties.get(party_id)
        if party is None:
            return
        revoked = [
            (m.channel, m.address, m.received_at)
            for m in derived
            if isinstance(m, ConsentRevoked) and m.party_id == party_id and m.purpose is None
        ] + [(c.channel, c.address, c.received_at) for c in party.consents if not c.granted]
        missing = sorted(
            {
                kept.channel.value
                for phone in party.phones
                for kept in state.number_opt_outs.get(phone.number, ())
                if not any(
                    channel is kept.channel
                    and address == kept.revoked_address
                    and received_at >= kept.received_at
                    for channel, address, received_at in revoked
                )
            }
        )
        if missing:
            self._not_honoured(
                entry,
                f"an opt-out kept for a number of {party_id} was not applied to them"
                f" ({', '.join(missing)})",
            )

    def unreadable(self, borrower_id: str, where: str, detail: str) -> None:
        """A ledger record that does not decode as an entry: nothing of it can be re-proved."""
        self.report.entries += 1
        self.report.findings.append(
            Finding("unverifiable", "unreadable_entry", borrower_id, f"{where}: {detail}")
        )

    def _rederive(
        self,
        state: BorrowerState,
        entry: RecordedEntry,
        now: datetime,
        message: Message | None,
        recorded: list[Message],
        ctx: Context,
    ) -> tuple[list[Message], bool]:
        """Run the core again: the events to fold, and whether they are the recorded ones."""
        if entry.duplicate:
            expected: list[Message] = []
        elif message is None:
            expected = fire_timers(snapshot(state), now, ctx)
        else:
            # The core is pure, but the audit does not take that on trust: it decides on a copy,
            # so a stray mutation could never leak into the state folded from the ledger.
            expected = decide(snapshot(state), message, now, ctx)
        self.report.entries_rederived += 1
        # Equal as JSON, field for field: model equality would take the same instant at another
        # offset as equal, and the ledger records the text. The schema version is not compared:
        # an older version that validates into the same message is the same event.
        if [_comparable(m) for m in expected] == [_comparable(m) for m in recorded]:
            return recorded, True
        self._find(
            "mismatch",
            "rederived_events_differ",
            entry,
            f"recorded [{', '.join(m.TYPE for m in recorded) or 'nothing'}], "
            f"re-derived [{', '.join(m.TYPE for m in expected) or 'nothing'}]",
        )
        return recorded, False

    @staticmethod
    def _gate_input(state: BorrowerState, d: ContactDecided) -> GateInput | None:
        return state.gate_input(
            GateIntent(
                d.attempt_id,
                d.party_id,
                d.loan_id,
                d.channel,
                d.to,
                d.purpose,
                shareable(d.decided_at),  # the gate's memos key on it: see shareable
            )
        )

    def _reprove(
        self, state: BorrowerState, entry: RecordedEntry, d: ContactDecided, *, gate_again: bool
    ) -> None:
        self.report.decisions_reproved += 1
        if d.decided_at != entry.now or d.policy_version != entry.policy_version:
            # Every decision in an entry is made at the entry's clock under its policy version;
            # a decision that names another is re-proved under neither.
            self._find(
                "mismatch",
                "decision_clock_or_policy_differs",
                entry,
                f"decided at {d.decided_at.isoformat()} under {d.policy_version}; the entry's"
                f" clock is {entry.now.isoformat()} under {entry.policy_version}",
                d.attempt_id,
            )
            return
        if not gate_again and self.shadow is None:
            return
        inp = self._gate_input(state, d)
        if inp is None:
            self._find(
                "mismatch",
                "decision_without_party_or_debt",
                entry,
                "no such party or debt in state",
                d.attempt_id,
            )
            return
        policy = self.policies.get(d.policy_version)
        if policy is None:
            self._find(
                "unverifiable",
                "unknown_policy_version",
                entry,
                f"policy {d.policy_version}",
                d.attempt_id,
            )
            return
        if self.shadow is not None:
            self._shadow(inp, d)
        if not gate_again:
            return
        again = evaluate(inp, policy)
        differ = [
            name
            for name, now, then in zip(
                _VERDICT_PARTS,
                (again.verdict, again.reasons, again.rules, again.evidence, again.defer_until),
                _verdict(d),
                strict=True,
            )
            if now != then
        ]
        if differ:
            detail = (
                f"recorded {d.verdict.value}, gate says {again.verdict.value}"
                f" ({', '.join(differ)} differ)"
            )
            self._find("mismatch", "decision_not_reproduced", entry, detail, d.attempt_id)
            if d.verdict is Verdict.AUTHORISED and again.verdict is not Verdict.AUTHORISED:
                self._find(
                    "violation",
                    "authorised_against_rules",
                    entry,
                    ",".join(again.reasons),
                    d.attempt_id,
                )

    def _shadow(self, inp: GateInput, d: ContactDecided) -> None:
        assert self.shadow is not None
        shadow = evaluate(inp, self.shadow)
        if shadow.verdict is not d.verdict:
            self.report.shadow_changes[(d.verdict.value, shadow.verdict.value)] += 1
            for rule in shadow.reasons:
                self.report.shadow_rules[rule] += 1

    def _note(self, state: BorrowerState, entry: RecordedEntry, m: Message, source: str) -> None:
        """Remember what a dispatch record will be checked against, and when an opt-out from a
        number not on file was kept."""
        if isinstance(m, ContactDecided) and m.verdict is Verdict.AUTHORISED:
            # Bounded by the window the gate proved it in, whatever its task says (``_task``).
            closes = m.evidence.window.closes_at
            policy = self.policies.get(m.policy_version)
            revoke_all = revoke_all_rules(m, policy) if policy is not None else ()
            self.seen.attempts[m.attempt_id] = Authorised(
                m.decided_at,
                closes,
                m.channel,
                m.to,
                m.purpose,
                entry.borrower_id,
                m.party_id,
                m.loan_id,
                closes_at=closes,
                co_debtor_stay=policy is not None and co_debtor_stay_applies(state, m, policy),
                revoke_all=revoke_all,
                zones=m.evidence.candidate_zones if revoke_all else (),
            )
        elif isinstance(m, SendSms | SendEmail | PlaceCall | SendLetter):
            self._task(entry, m)
        elif isinstance(m, NumberOptedOut):
            key = (entry.borrower_id, m.channel, m.revoked_address, m.received_at)
            self._kept_at.setdefault(key, entry.now)
        else:
            self._consent(state, entry, m, source)

    def _task(self, entry: RecordedEntry, task: Task) -> None:
        """A task must carry out an authorised decision as decided: the same person, debt,
        medium, address and purpose (the gate proved that contact, not another), and a text or
        email must carry the opt-out notice (RF-16), save the opt-out confirmation text (TC-4)."""
        a = self.seen.attempts.get(task.attempt_id)
        if a is None:
            self._find("violation", "task_without_authorisation", entry, task.TYPE, task.attempt_id)
            return
        # The task's bounds are the decision's: authorised at its instant, and sent no later
        # than its window closes (decide's ``_task``: not_after is also at most the dispatch
        # grace and the intent's expiry, which only --rederive can prove). A later not_after
        # would let a dispatch at 03:00 pass: the window close bounds it all the same.
        closes = a.closes_at
        if task.authorised_at != a.decided_at or (closes is not None and task.not_after > closes):
            self._find(
                "mismatch",
                "task_bounds_differ_from_decision",
                entry,
                f"authorised {task.authorised_at.isoformat()}, not after"
                f" {task.not_after.isoformat()}; decided {a.decided_at.isoformat()}, window"
                f" closes {closes.isoformat() if closes else '-'}",
                task.attempt_id,
            )
        a.not_after = task.not_after if a.not_after is None else min(a.not_after, task.not_after)
        a.tasked = True
        differ = [
            name
            for name, same in (
                ("channel", CHANNEL_OF[type(task)] is a.channel),
                ("to", isinstance(task, SendLetter) or task.to == a.to),
                ("party", task.party_id == a.party_id),
                ("debt", task.loan_id == a.loan_id),
                ("purpose", task.purpose is a.purpose),
                # The worker holds the task by the flag: one left off would escape the stay.
                ("co_debtor_stay", task.co_debtor_stay == a.co_debtor_stay),
                # Likewise a channel left off would let a call go after a STOP to a text (TC-5).
                ("revoked_with", task.revoked_with == a.revoked_with),
                ("borrower", entry.borrower_id == a.borrower_id),
            )
            if not same
        ]
        if differ:
            self._find(
                "violation",
                "task_differs_from_authorisation",
                entry,
                f"{', '.join(differ)} differ",
                task.attempt_id,
            )
        policy = self.policies.get(entry.policy_version)
        if (
            isinstance(task, SendSms | SendEmail)
            and needs_opt_out_notice(CHANNEL_OF[type(task)], task.purpose)
            and policy is not None
            and not names_an_opt_out(policy, task.body)
        ):
            self.report.findings.append(
                Finding(
                    "violation",
                    "opt_out_notice_missing",
                    entry.borrower_id,
                    f"{task.TYPE} names none of the policy's opt-out words",
                    task.attempt_id,
                    entry.entry_id,
                    rule="RF-16",
                )
            )

    def _holds_changed(self, state: BorrowerState, now: datetime) -> None:
        """After a dispute, cease, bankruptcy, attorney or death is applied: every authorisation
        of this borrower still open is held from now on (P6), as the channel worker's re-check
        would find it; a dispatch record after this instant is checked against it."""
        for attempt in state.attempts.values():
            a = self.seen.attempts.get(attempt.attempt_id)
            if a is None or (a.not_after is not None and a.not_after < now):
                continue
            reason = revoked_since(
                state,
                a.party_id,
                a.loan_id,
                a.channel,
                a.to,
                a.purpose,
                now,
                co_debtor_stay=a.co_debtor_stay,
            )
            a.hold(now, reason if reason is not None and reason.startswith("hold:") else None)

    def _consent(self, state: BorrowerState, entry: RecordedEntry, m: Message, source: str) -> None:
        """File a consent grant or revocation; a revocation is also TC-3 evidence."""
        if not isinstance(m, ConsentGranted | ConsentRevoked):
            return
        index = None
        if isinstance(m, ConsentRevoked):
            index = len(self.report.revocations)
            self.report.revocations.append(self._revocation(state, entry, m, source))
        # Filed with the person it names, as ``evolve`` (just run) filed it: the consents the
        # gate and the channel worker's re-check read for that person. A STOP from a number
        # several borrowers share is routed to each, and each revokes it (P6).
        record = Recorded(consent_record(m, entry.now), index)
        self.seen.file(entry.borrower_id, m.party_id, record)

    def _revocation(
        self, state: BorrowerState, entry: RecordedEntry, m: ConsentRevoked, source: str
    ) -> Revocation:
        # The deadline comes from the policy in force when it was processed (TC-3 as data), for
        # the person's jurisdictions (for a person linked to no debt yet, the borrower's); with
        # none known, those of the revoked number.
        policy = self.policies.get(entry.policy_version)
        where = self._jurisdictions(state, policy, m.party_id) if policy else ()
        if policy is not None and not where and m.address:
            facts = PartyFacts(m.party_id, PartyRole.BORROWER, phones=(_phone(m.address),))
            where = policy.places.jurisdictions(facts)
        kind = "revocation_honoured"
        rule = None
        if policy is not None and where:
            rule = next(
                (
                    o
                    for o in obligations.rules_of(policy, where, kind)
                    if obligations.applies(o, m.channel, m.received_at)
                ),
                None,
            )
        due = obligations.deadline(rule, m.received_at) if rule else None
        processed = entry.now
        if source == "kept":  # honoured when the number's opt-out was kept, not when applied
            processed = self._kept_at.get(
                (entry.borrower_id, m.channel, m.address, m.received_at), processed
            )
        if policy is not None and not where:
            self._deadline_unknown(entry, m, policy)
        r = Revocation(
            borrower_id=entry.borrower_id,
            party_id=m.party_id,
            channel=m.channel,
            scope="address" if m.address else "medium",
            purpose=m.purpose,
            source=source,
            received_at=m.received_at,
            processed_at=processed,
            deadline=due,
            entry_id=entry.entry_id,
        )
        if r.on_time is False:
            self.report.findings.append(
                Finding(
                    "violation",
                    "revocation_processed_late",
                    entry.borrower_id,
                    f"received {m.received_at.isoformat()}, processed {processed.isoformat()}, "
                    f"due by {due.isoformat() if due else '-'}",
                    entry_id=entry.entry_id,
                    rule=rule.id if rule else None,
                )
            )
        return r

    def _deadline_unknown(self, entry: RecordedEntry, m: ConsentRevoked, policy: Policy) -> None:
        """Where the person may be is unknown, so which deadline binds is too: unverifiable,
        unless it was processed before the earliest deadline any pack of the policy sets."""
        dues = [
            obligations.deadline(o, m.received_at)
            for pack in policy.packs
            for o in pack.obligations
            if o.kind == "revocation_honoured" and obligations.applies(o, m.channel, m.received_at)
        ]
        if dues and entry.now >= min(dues):
            self._find(
                "unverifiable",
                "revocation_deadline_unknown",
                entry,
                f"{m.channel.value} revocation received {m.received_at.isoformat()}, processed"
                f" {entry.now.isoformat()}: no jurisdiction known for {m.party_id}",
            )

    def close(self) -> None:
        """After the last entry: obligations with deadlines. RF-20: every debt of a third-party
        collector whose first communication is old enough had its validation notice in time,
        under the policy of the borrower's last entry; a deadline after the log's end is not
        due yet."""
        if self._ends_at is None:
            return
        for borrower_id, state in sorted(self.states.items()):
            version = self._last_version[borrower_id]
            for loan in sorted(state.loans.values(), key=lambda loan: loan.loan_id):
                if not loan.third_party_collector:
                    continue
                attempts = [
                    a.record() for a in state.attempts.values() if a.party_id == borrower_id
                ]
                for rule in self._obligations(state, version, borrower_id, "validation_notice"):
                    for breach in obligations.validation_notice_breaches(
                        rule, loan.loan_id, attempts, loan.paid_in_full_at, self._ends_at
                    ):
                        self.report.findings.append(
                            Finding(
                                "violation",
                                "validation_notice_late",
                                borrower_id,
                                f"{breach.loan_id}: {breach.detail}",
                                rule=breach.rule,
                            )
                        )

    def _obligations(
        self, state: BorrowerState, version: str, party_id: str, kind: str
    ) -> list[ObligationRule]:
        """The obligations of ``kind`` that bind for this person under policy ``version``."""
        policy = self.policies.get(version)
        if policy is None:
            return []
        return obligations.rules_of(policy, self._jurisdictions(state, policy, party_id), kind)

    @staticmethod
    def _jurisdictions(state: BorrowerState, policy: Policy, party_id: str) -> tuple[str, ...]:
        """Where this person (or, not on file or linked to no debt yet, the borrower) may be, by
        the policy's data."""
        party = state.parties.get(party_id)
        if party is None or (not party.loans and party_id != state.borrower_id):
            party = state.parties.get(state.borrower_id)
        if party is None:
            return ()
        borrower = state.parties.get(state.borrower_id)
        return policy.places.jurisdictions(
            state.party_facts(party), borrower.addresses if borrower else ()
        )

    # -- the dispatch records -----------------------------------------------------------------

    def dispatch_record(self, value: bytes | None, *, where: str) -> None:
        """One record of the outcomes topic (``read_outcome``, then ``outcome``)."""
        read = read_outcome(value, where)
        if read is not None:
            self.outcome(read)

    def outcome(self, read: OutcomeRecord) -> None:
        """A dispatch record is checked (``dispatch``); one that could not be read may be a
        dispatch that reached a vendor: unverifiable."""
        if read.started is None:
            self.report.findings.append(
                Finding("unverifiable", "unreadable_outcome", "", f"{read.where}: {read.problem}")
            )
            return
        d = read.started
        self.dispatch(
            read.borrower_id,
            d.attempt_id,
            d.started_at,
            d.channel,
            vendor=d.vendor,
            vendor_deduplicates=d.vendor_deduplicates,
        )

    def dispatch(
        self,
        borrower_id: str,
        attempt_id: str,
        started_at: datetime,
        channel: Channel,
        *,
        vendor: str = "",
        vendor_deduplicates: bool = False,
    ) -> None:
        """A channel worker recorded that it was about to call a vendor for this attempt (each
        borrower's records in log order)."""
        self.seen.check(
            self.report,
            borrower_id,
            attempt_id,
            started_at,
            channel,
            vendor=vendor,
            vendor_deduplicates=vendor_deduplicates,
        )

    def _find(
        self, kind: str, code: str, entry: RecordedEntry, detail: str, attempt_id: str | None = None
    ) -> None:
        self.report.findings.append(
            Finding(kind, code, entry.borrower_id, detail, attempt_id, entry.entry_id)
        )

    def _not_honoured(self, entry: RecordedEntry, detail: str) -> None:
        """An opt-out an entry had to apply and did not (TC-2): a violation."""
        self.report.findings.append(
            Finding(
                "violation",
                "opt_out_not_honoured",
                entry.borrower_id,
                detail,
                entry_id=entry.entry_id,
                rule="TC-2",
            )
        )


@dataclass(frozen=True)
class OutcomeRecord:
    """A record of the outcomes topic as the audit reads it: a dispatch record and its
    borrower, or (``started`` None) what made it unreadable."""

    where: str
    borrower_id: str = ""
    started: DispatchStarted | None = None
    problem: str = ""


def read_outcome(value: bytes | None, where: str) -> OutcomeRecord | None:
    """Decode one record of the outcomes topic; None for an outcome other than a dispatch
    record (the orchestrator's input: what it made of it is in the ledger). Decoded apart from
    the check, so that ``run_audit`` reads while the other processes fold."""
    try:
        envelope = Envelope.model_validate_json(value or b"")
        if envelope.type != DispatchStarted.TYPE:
            return None
        started = DispatchStarted.model_validate(envelope.payload)
    except ValidationError as exc:
        return OutcomeRecord(where, problem=first_errors(exc))
    return OutcomeRecord(where, envelope.borrower_id, started)


def _unreadable(exc: KeyError | ValidationError) -> str:
    if isinstance(exc, KeyError):
        return f"unknown message type {exc.args[0]!r}"
    return first_errors(exc)


def _phone(address: str) -> Phone:
    """The revoked address as a phone, unchecked: an address that is no number (an email) gives
    no place (``Places`` reads a number it cannot parse as nowhere)."""
    return Phone.model_construct(number=address, type=PhoneType.MOBILE)
