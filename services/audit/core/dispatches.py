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
from services.orchestrator.core.recheck import confirms_an_opt_out


@dataclass
class Authorised:
    decided_at: datetime
    not_after: datetime | None
    channel: Channel
    to: str | None
    purpose: Purpose
    borrower_id: str
    party_id: str
    loan_id: str
    # (from, hold or None): how the holds on this contact changed while it was open, in order.
    holds: list[tuple[datetime, str | None]] = field(default_factory=list)

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
    """Every authorised attempt, and every consent record per address, from the whole ledger."""

    attempts: dict[str, Authorised] = field(default_factory=dict)
    # (channel, address) -> the consent records that bear on it, in processing order. A record
    # for a whole medium is filed under each address the person had in that medium.
    trail: dict[tuple[str, str], list[Recorded]] = field(default_factory=dict)

    def file(self, channel: Channel, addresses: list[str], recorded: Recorded) -> None:
        for address in addresses:
            self.trail.setdefault((channel.value, address.lower()), []).append(recorded)

    def merge(self, other: Authorisations, revocations_before: int) -> None:
        """Add another shard's; its revocation numbers move up by ``revocations_before``."""
        self.attempts.update(other.attempts)
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
    ) -> None:
        """A channel worker recorded that it was about to call a vendor for this attempt."""
        report.dispatches_checked += 1

        def violation(code: str, detail: str) -> None:
            report.findings.append(Finding("violation", code, borrower_id, detail, attempt_id))

        a = self.attempts.get(attempt_id)
        if a is None:
            violation("dispatch_without_authorisation", "no authorised decision")
            return
        if started_at < a.decided_at or (a.not_after is not None and started_at > a.not_after):
            violation("dispatch_outside_authorisation", f"started {started_at.isoformat()}")
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
        to = a.to.lower()
        revoked = standing(
            self.trail.get((a.channel.value, to), ()), a.channel, to, a.purpose, started_at
        )
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
