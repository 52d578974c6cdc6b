"""The audit, as a pure fold over the ledger and the dispatch records (P4, P5).

For every ledger entry, in log order per partition:
- when the strategy version matches this build, `decide` is run again on the same state, input,
  clock and recorded policy version, and its events must equal the recorded ones;
- in any case every recorded decision is re-proved: the gate is run again on the state the
  decision saw, under the policy version recorded in it, and must give the same verdict,
  reasons, rules, evidence and deferral.
Then every dispatch a channel worker recorded must answer an authorised decision, inside its
authorisation window, and not follow a revocation of that address. A shadow policy, if given,
re-runs every decision under new rules and counts what would have changed.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts import MESSAGE_TYPES, ContactDecided, Message
from contracts.decisions import Verdict
from contracts.ledger import LedgerEntry
from contracts.upstream import ConsentRevoked
from contracts.values import Channel, Purpose
from events.envelope import Envelope
from services.compliance.core import Policy, evaluate
from services.compliance.core.model import ContactIntent as GateIntent
from services.compliance.core.model import GateInput
from services.orchestrator.core.decide import Context, decide, fire_timers
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.state import BorrowerState


@dataclass(frozen=True)
class Finding:
    kind: str  # mismatch | violation | unverifiable
    code: str
    borrower_id: str
    detail: str
    attempt_id: str | None = None
    entry_id: str | None = None


@dataclass
class AuditReport:
    entries: int = 0
    entries_rederived: int = 0
    decisions_reproved: int = 0
    dispatches_checked: int = 0
    policy_versions: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    shadow_policy: str | None = None
    shadow_changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    shadow_rules: Counter[str] = field(default_factory=Counter)

    @property
    def mismatches(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "mismatch"]

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "violation"]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "entries_rederived": self.entries_rederived,
            "decisions_reproved": self.decisions_reproved,
            "dispatches_checked": self.dispatches_checked,
            "policy_versions": sorted(self.policy_versions),
            "mismatches": len(self.mismatches),
            "violations": len(self.violations),
            "findings": [f.__dict__ for f in self.findings],
            "shadow": None
            if self.shadow_policy is None
            else {
                "policy": self.shadow_policy,
                "changes": {f"{a}->{b}": n for (a, b), n in sorted(self.shadow_changes.items())},
                "rules": dict(sorted(self.shadow_rules.items())),
            },
        }


def _message(raw: dict[str, Any]) -> Message:
    envelope = Envelope.model_validate(raw)
    return MESSAGE_TYPES[envelope.type].model_validate(envelope.payload)


def _comparable(m: Message) -> tuple[str, dict[str, Any]]:
    return m.TYPE, m.model_dump(mode="json")


def _verdict(d: ContactDecided) -> tuple[Any, ...]:
    return (d.verdict, d.reasons, d.rules, d.evidence, d.defer_until)


@dataclass
class _Authorised:
    decided_at: datetime
    not_after: datetime | None
    channel: Channel
    to: str | None
    purpose: Purpose


class Auditor:
    def __init__(
        self,
        policies: dict[str, Policy],
        context_for: Callable[[Policy], Context],
        strategy_version: str,
        shadow: Policy | None = None,
    ) -> None:
        self.policies = policies
        self.context_for = context_for
        self.strategy_version = strategy_version
        self.shadow = shadow
        self.report = AuditReport(shadow_policy=shadow.version if shadow else None)
        self.states: dict[str, BorrowerState] = {}
        self.authorised: dict[str, _Authorised] = {}
        self.revoked: dict[tuple[str, str], datetime] = {}  # (channel, address) -> processed at
        self._contexts: dict[str, Context] = {}

    def _ctx(self, version: str) -> Context | None:
        if version not in self._contexts and version in self.policies:
            self._contexts[version] = self.context_for(self.policies[version])
        return self._contexts.get(version)

    # -- the ledger ---------------------------------------------------------------------------

    def entry(self, entry: LedgerEntry) -> None:
        r = self.report
        r.entries += 1
        r.policy_versions.add(entry.policy_version)
        state = self.states.setdefault(entry.borrower_id, BorrowerState(entry.borrower_id))
        derived = [_message(raw) for raw in entry.derived]
        message = _message(entry.event) if entry.event is not None else None
        if entry.event is not None:
            state.seen_events.add(str(entry.event["event_id"]))
        if message is not None and not entry.duplicate:
            evolve(state, message, entry.now)
        ctx = self._ctx(entry.policy_version)
        exact = False
        if ctx is None:
            self._find(
                "unverifiable",
                "unknown_policy_version",
                entry,
                f"policy {entry.policy_version} not recorded",
            )
        elif entry.strategy_version == self.strategy_version:
            exact = self._rederive(state, entry, message, derived, ctx)
        for m in derived:
            if isinstance(m, ContactDecided) and ctx is not None:
                # An exact re-derivation already re-ran the gate on this very input; re-prove
                # each decision separately only when it could not (other strategy) or differed.
                self._reprove(state, entry, m, gate_again=not exact)
            self._note(entry, m)
            evolve(state, m, entry.now)

    def _rederive(
        self,
        state: BorrowerState,
        entry: LedgerEntry,
        message: Message | None,
        derived: list[Message],
        ctx: Context,
    ) -> bool:
        if entry.duplicate:
            expected: list[Message] = []
        elif message is None:
            expected = fire_timers(state, entry.now, ctx)
        else:
            expected = decide(copy.deepcopy(state), message, entry.now, ctx)
        self.report.entries_rederived += 1
        if [_comparable(m) for m in expected] == [_comparable(m) for m in derived]:
            return True
        recorded = ", ".join(m.TYPE for m in derived) or "nothing"
        again = ", ".join(m.TYPE for m in expected) or "nothing"
        self._find(
            "mismatch",
            "rederived_events_differ",
            entry,
            f"recorded [{recorded}], re-derived [{again}]",
        )
        return False

    def _gate_input(self, state: BorrowerState, d: ContactDecided) -> GateInput | None:
        party, loan = state.parties.get(d.party_id), state.loans.get(d.loan_id)
        if party is None or loan is None:
            return None
        borrower = state.parties.get(state.borrower_id)
        return GateInput(
            intent=GateIntent(
                d.attempt_id, d.party_id, d.loan_id, d.channel, d.to, d.purpose, d.decided_at
            ),
            party=party.facts(),
            debt=loan.facts(),
            attempts=tuple(
                a.record() for a in state.attempts.values() if a.party_id == party.party_id
            ),
            consents=tuple(party.consents),
            borrower_addresses=borrower.addresses if borrower else (),
        )

    def _reprove(
        self, state: BorrowerState, entry: LedgerEntry, d: ContactDecided, *, gate_again: bool
    ) -> None:
        self.report.decisions_reproved += 1
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
        if (
            again.verdict,
            again.reasons,
            again.rules,
            again.evidence,
            again.defer_until,
        ) != _verdict(d):
            detail = f"recorded {d.verdict.value}, gate says {again.verdict.value}"
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

    def _note(self, entry: LedgerEntry, m: Message) -> None:
        if isinstance(m, ContactDecided) and m.verdict is Verdict.AUTHORISED:
            self.authorised[m.attempt_id] = _Authorised(
                m.decided_at, None, m.channel, m.to, m.purpose
            )
        elif (
            m.TYPE.startswith("task.")
            and (a := self.authorised.get(str(getattr(m, "attempt_id", "")))) is not None
        ):
            a.not_after = getattr(m, "not_after", None)
        elif isinstance(m, ConsentRevoked) and m.address is not None:
            self.revoked.setdefault((m.channel.value, m.address.lower()), entry.now)

    # -- the dispatch records -----------------------------------------------------------------

    def dispatch(self, borrower_id: str, attempt_id: str, started_at: datetime) -> None:
        """A channel worker recorded that it was about to call a vendor for this attempt."""
        self.report.dispatches_checked += 1
        a = self.authorised.get(attempt_id)
        if a is None:
            self.report.findings.append(
                Finding(
                    "violation",
                    "dispatch_without_authorisation",
                    borrower_id,
                    "no authorised decision",
                    attempt_id,
                )
            )
            return
        if started_at < a.decided_at or (a.not_after is not None and started_at > a.not_after):
            self.report.findings.append(
                Finding(
                    "violation",
                    "dispatch_outside_authorisation",
                    borrower_id,
                    f"started {started_at.isoformat()}",
                    attempt_id,
                )
            )
        revoked_at = self.revoked.get((a.channel.value, (a.to or "").lower()))
        if (
            revoked_at is not None
            and started_at > revoked_at
            and a.purpose is not Purpose.OPT_OUT_CONFIRMATION
        ):
            self.report.findings.append(
                Finding(
                    "violation",
                    "dispatch_after_revocation",
                    borrower_id,
                    f"revoked {revoked_at.isoformat()}",
                    attempt_id,
                )
            )

    def _find(
        self, kind: str, code: str, entry: LedgerEntry, detail: str, attempt_id: str | None = None
    ) -> None:
        self.report.findings.append(
            Finding(kind, code, entry.borrower_id, detail, attempt_id, entry.entry_id)
        )
