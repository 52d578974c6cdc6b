"""Checking the dispatch records the channel workers wrote against what the ledger authorised
(P1) and the consent it recorded (P6)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts import ConsentGranted, ConsentRevoked
from contracts.values import Channel, Purpose
from services.audit.core.report import AuditReport, Finding
from services.audit.core.revocations import Recorded, standing
from services.compliance.core.model import ConsentRecord
from services.compliance.core.schema import OptOutRule
from services.orchestrator.core import decide
from services.orchestrator.core.recheck import confirms_an_opt_out


@dataclass
class Authorised:
    decided_at: datetime
    # The latest instant a dispatch may start: the decision's own window close (its evidence),
    # or its task's not_after where that is earlier. None: nothing bounds it (no window rule).
    not_after: datetime | None
    channel: Channel
    to: str | None
    purpose: Purpose
    borrower_id: str
    party_id: str
    loan_id: str
    # (from, hold or None): how the holds on this contact changed while it was open, in order.
    holds: list[tuple[datetime, str | None]] = field(default_factory=list)
    tasked: bool = False  # a task carrying it out was recorded in the ledger
    # Held by a co-debtor stay if the borrower's filing comes first (decide.co_debtor_stay_applies)
    co_debtor_stay: bool = False
    closes_at: datetime | None = None  # the close of the window the decision was proved in
    # Its policy's rules with ``across`` that the decision evaluated (decide.revoke_all_rules),
    # and the decision's candidate zones: what ``revoked_with`` reads.
    revoke_all: tuple[OptOutRule, ...] = ()
    zones: tuple[str, ...] = ()

    @property
    def revoked_with(self) -> tuple[Channel, ...]:
        """Other media whose revocation for the address stops it too (TC-5), as ``decide``
        wrote them on its task: what binds by the last instant it may be sent (its task's
        not_after; the window's close until the task is seen)."""
        if not self.revoke_all:
            return ()
        last = self.not_after or self.decided_at
        return decide.revoked_with(self.channel, self.zones, self.revoke_all, last)

    def hold(self, since: datetime, reason: str | None) -> None:
        if (self.holds[-1][1] if self.holds else None) != reason:
            self.holds.append((since, reason))

    def held_at(self, t: datetime) -> str | None:
        """The hold on this contact at instant t, if any: applied before t, as a revocation
        stands only once processed before the dispatch (``standing``). At the same instant the
        channel worker cannot have read it yet."""
        held = None
        for since, reason in self.holds:
            if since >= t:
                break
            held = reason
        return held


def consent_record(m: ConsentGranted | ConsentRevoked, processed_at: datetime) -> ConsentRecord:
    """The record the orchestrator keeps for this event (as ``evolve`` does), with the address in
    lower case: the check matches addresses without regard to case."""
    return ConsentRecord(
        channel=m.channel,
        address=m.address.lower() if m.address else None,
        purpose=m.purpose,
        granted=isinstance(m, ConsentGranted),
        received_at=m.received_at,
        effective_at=m.effective_at or m.received_at,
        processed_at=processed_at,
        written=getattr(m, "written", False),
    )


@dataclass
class Authorisations:
    """Every authorised attempt, and every person's consent records, from the whole ledger; and
    the attempts whose dispatch records have been checked."""

    attempts: dict[str, Authorised] = field(default_factory=dict)
    # (borrower, party) -> that person's consent records in every medium, in processing order:
    # the records the gate and the channel worker's re-check read (``party.consents``), so a
    # revocation binds the person who gave it, not everyone on any file with the address.
    trail: dict[tuple[str, str], list[Recorded]] = field(default_factory=dict)
    # attempt id -> (vendor, started_at, vendor_deduplicates) of its last dispatch record.
    started: dict[str, tuple[str, datetime, bool]] = field(default_factory=dict)

    def file(self, borrower_id: str, party_id: str, recorded: Recorded) -> None:
        self.trail.setdefault((borrower_id, party_id), []).append(recorded)

    def merge(self, other: Authorisations, revocations_before: int) -> None:
        """Add another shard's; its revocation numbers move up by ``revocations_before``."""
        self.attempts.update(other.attempts)
        self.started.update(other.started)
        for key, records in other.trail.items():
            mine = self.trail.setdefault(key, [])
            mine.extend(
                r
                if r.revocation is None
                else replace(r, revocation=r.revocation + revocations_before)
                for r in records
            )
            mine.sort(key=lambda r: r.record.processed_at)  # stable: log order within a shard

    def check(
        self,
        report: AuditReport,
        borrower_id: str,
        attempt_id: str,
        started_at: datetime,
        channel: Channel,
        *,
        vendor: str = "",
        vendor_deduplicates: bool = False,
    ) -> None:
        """A channel worker recorded that it was about to call a vendor for this attempt (the
        records in log order: a borrower's are on one partition)."""
        before = self.started.get(attempt_id)
        if before is not None and before[:2] == (vendor, started_at):
            return  # the same record written twice (a producer's retry): not a second request
        self.started[attempt_id] = (vendor, started_at, vendor_deduplicates)
        report.dispatches_checked += 1

        def violation(code: str, detail: str) -> None:
            report.findings.append(Finding("violation", code, borrower_id, detail, attempt_id))

        if before is not None and not (vendor_deduplicates and before[2] and before[0] == vendor):
            # P2: started again, the attempt may reach the person twice. Only a vendor that
            # de-duplicates on the attempt id, and saw the first request too, makes it safe.
            violation(
                "dispatch_repeated",
                f"started {started_at.isoformat()}, after {before[1].isoformat()}",
            )
        a = self.attempts.get(attempt_id)
        if a is None:
            violation("dispatch_without_authorisation", "no authorised decision")
            return
        if started_at < a.decided_at or (a.not_after is not None and started_at > a.not_after):
            violation("dispatch_outside_authorisation", f"started {started_at.isoformat()}")
        if not a.tasked:
            # The ledger holds no task for this authorisation: what the worker sent (address,
            # text) cannot be checked against what the gate proved; bounded by its window.
            report.findings.append(
                Finding(
                    "mismatch",
                    "dispatch_without_task",
                    borrower_id,
                    "no task recorded for this authorisation",
                    attempt_id,
                )
            )
        if channel is not a.channel or borrower_id != a.borrower_id:
            violation(
                "dispatch_differs_from_authorisation",
                f"{channel.value} for {borrower_id}; authorised {a.channel.value}"
                f" for {a.borrower_id}",
            )
        held = a.held_at(started_at)
        if held is not None:
            # P6: a dispute, cease, bankruptcy, attorney or death applied after the decision
            # and before the dispatch; the channel worker's re-check should have stopped it.
            violation("dispatch_during_hold", held)
        if a.to is None or confirms_an_opt_out(a.channel, a.purpose):
            return  # TC-4: the confirmation text of an opt-out is sent after it, by design
        trail = self.trail.get((a.borrower_id, a.party_id), ())
        revoked = standing(trail, a.channel, a.to.lower(), a.purpose, started_at, a.revoked_with)
        if revoked is not None:
            report.findings.append(
                Finding(
                    "violation",
                    "dispatch_after_revocation",
                    borrower_id,
                    f"revoked {revoked.record.processed_at.isoformat()}",
                    attempt_id,
                )
            )
            if revoked.revocation is not None:
                report.revocations[revoked.revocation].dispatches_after += 1
