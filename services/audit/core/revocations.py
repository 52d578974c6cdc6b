"""Evidence that every consent revocation was honoured in time (TC-3) and stayed honoured (P6).

TC-3 (FCC 24-18, in force since 2025-04-11): a revocation of consent to calls or texts is
honoured no later than 10 business days after it was received. Parley honours a revocation when
it processes it (from then on the gate refuses), so the lag that matters is receipt to
processing: the revocation's ``received_at`` to the clock of the ledger entry that recorded it.

The rule's numbers are pack data (us-federal.yaml ``obligations``: 10 US business days on
Eastern-time dates, calls and texts, in force from 2025-04-11); the arithmetic is
``services.compliance.core.obligations``. Whether a dispatch followed a processed revocation is
the dispatch check's ``dispatch_after_revocation`` finding, counted here per revocation.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.values import Channel, Purpose
from services.compliance.core.consent import standing_revocation
from services.compliance.core.model import ConsentRecord


@dataclass
class Revocation:
    """One revocation found in the ledger. No address: the report stays free of PII (P7)."""

    borrower_id: str
    party_id: str
    channel: Channel
    scope: str  # "address" or "medium"
    purpose: Purpose | None
    # "upstream" (an input event), "reply" (from an opt-out reply), "kept" (a reply kept with
    # its number, applied when a profile or link gave the number to them) or "vendor" (a text
    # the vendor refused because the person had opted out with it)
    source: str
    received_at: datetime
    processed_at: datetime  # the clock of the ledger entry that recorded it
    deadline: datetime | None  # None where TC-3 does not apply (email, letters, before 2025-04-11)
    entry_id: str
    dispatches_after: int = 0  # dispatch_after_revocation findings that name this revocation

    @property
    def lag(self) -> timedelta:
        return self.processed_at - self.received_at

    @property
    def on_time(self) -> bool | None:
        return None if self.deadline is None else self.processed_at < self.deadline

    def as_dict(self) -> dict[str, Any]:
        return {
            "borrower_id": self.borrower_id,
            "party_id": self.party_id,
            "channel": self.channel.value,
            "scope": self.scope,
            "purpose": self.purpose.value if self.purpose else None,
            "source": self.source,
            "received_at": self.received_at.isoformat(),
            "processed_at": self.processed_at.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "lag_seconds": self.lag.total_seconds(),
            "on_time": self.on_time,
            "dispatches_after": self.dispatches_after,
            "entry_id": self.entry_id,
        }


def summary(revocations: Sequence[Revocation], late: int) -> dict[str, Any]:
    """Count, median and longest lag from receipt to processing, and how many were late."""
    lags = sorted(r.lag.total_seconds() for r in revocations)
    return {
        "count": len(lags),
        "median_lag_seconds": statistics.median(lags) if lags else None,
        "max_lag_seconds": lags[-1] if lags else None,
        "late": late,
        "dispatched_after": sum(r.dispatches_after > 0 for r in revocations),
    }


@dataclass(frozen=True)
class Recorded:
    """A consent record as the ledger shows it processed, tied to its revocation evidence."""

    record: ConsentRecord
    revocation: int | None  # index into the report's revocations, for a revocation


def standing(
    trail: Iterable[Recorded],
    channel: Channel,
    to: str,
    purpose: Purpose,
    at: datetime,
    revoked_with: tuple[Channel, ...] = (),
) -> Recorded | None:
    """The revocation that stands for a contact at ``at``, counting only the records processed
    before it: the gate's own consent rules, as of that instant, on the contact's medium and
    the others its task names (TC-5; ``consent.standing_revocation``)."""
    known = [r for r in trail if r.record.processed_at < at]
    records = tuple(r.record for r in known)
    found = standing_revocation(records, channel, to, purpose, at, revoked_with)
    return next((r for r in known if r.record is found), None)
