"""The consent ledger (TC-1, TC-2, TC-4, RF-16, RF-17, NYC written consent).

Records are bitemporal (received, effective, processed). A grant is in force from its effective
time. A revocation is in force from its effective time or from when Parley processed it, whichever
is earlier: once processed, revocation wins (P6), so a revocation dated to take effect later cannot
keep contact going (TC-3 gives ten business days at most, and this ledger never needs them). Which
of two records is later is which the person gave later: ``(received_at, processed_at)``, a
received_at never later than the processing; a grant received before an opt-out never outlives it by
naming a later effective time. A revocation *stands* unless a later grant at least as narrow in both
scopes (the same address if the revocation names one, the same purpose if it names one) supersedes
it: a medium opt-out beats every older grant, and neither a blanket grant nor a medium-wide grant
for one purpose undoes an address opt-out. When any revocation stands, revocation wins (P6) even if
some grant also stands. Email addresses match without regard to case, as mailboxes do in practice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from contracts.values import Channel, Purpose
from services.compliance.core import schema
from services.compliance.core.localtime import stamp, zone
from services.compliance.core.model import AttemptRecord, ConsentRecord, ContactIntent


@dataclass(frozen=True, slots=True)
class Ledger:
    revocation: ConsentRecord | None  # the latest standing revocation
    grants: tuple[ConsentRecord, ...]  # standing grants

    @property
    def written(self) -> bool:
        return any(g.written for g in self.grants)

    def summary(self, channel: Channel) -> str:
        """Evidence line without the address itself (P7); scope and timing are enough to audit."""
        if self.revocation is not None:
            r = self.revocation
            scope = "address" if r.address is not None else "medium"
            return _line(channel, "revoked", scope, *stamp(in_force_from(r)))
        if self.grants:
            grants = self.grants
            g = grants[0] if len(grants) == 1 else max(grants, key=_order)
            scope = "address" if g.address is not None else "medium"
            kind = "granted written" if self.written else "granted express"
            return _line(channel, kind, scope, *stamp(g.effective_at))
        return f"{channel.value}: no record"


@lru_cache(maxsize=4096)
def _line(
    channel: Channel, state: str, scope: str, _tz: int, _fold: int, effective: datetime
) -> str:
    # Keyed by ``stamp(effective)``: an equal key prints the same.
    return f"{channel.value}: {state} ({scope}, effective {effective.isoformat()})"


def forget() -> None:
    _line.cache_clear()


def in_force_from(record: ConsentRecord) -> datetime:
    """When a record starts to bind: a grant when it takes effect, a revocation when it takes
    effect or is processed, whichever comes first (P6)."""
    if record.granted or record.effective_at <= record.processed_at:
        return record.effective_at
    return record.processed_at


def _order(record: ConsentRecord) -> tuple[datetime, datetime]:
    # Nothing is received after Parley processed it: a received_at stamped later (another
    # system's clock running ahead, or a bad stamp) is read as the processing time. Taken as
    # stamped, a grant processed before a STOP would outrank it, for as long as the stamp is
    # ahead (session 14).
    return min(record.received_at, record.processed_at), record.processed_at


def _supersedes(grant: ConsentRecord, revocation: ConsentRecord) -> bool:
    """A later grant undoes a revocation only if it is as narrow in each scope."""
    return (
        (revocation.address is None or grant.address is not None)
        and (revocation.purpose is None or grant.purpose is not None)
        and _order(grant) > _order(revocation)
    )


def _same_address(recorded: str | None, to: str | None, channel: Channel) -> bool:
    if recorded is None or recorded == to:
        return True
    return channel is Channel.EMAIL and to is not None and recorded.casefold() == to.casefold()


def resolve(
    consents: tuple[ConsentRecord, ...],
    channel: Channel,
    to: str | None,
    purpose: Purpose,
    at: datetime,
) -> Ledger:
    purposes = (None, purpose)
    relevant = [
        c
        for c in consents
        if c.channel == channel
        and c.purpose in purposes
        and _same_address(c.address, to, channel)
        and in_force_from(c) <= at
    ]
    grants = [c for c in relevant if c.granted]
    revocations = [c for c in relevant if not c.granted]
    if not revocations:  # nothing to stand, nothing superseding a grant
        return Ledger(revocation=None, grants=tuple(grants))
    standing_revocations = [r for r in revocations if not any(_supersedes(g, r) for g in grants)]
    standing_grants = tuple(
        g for g in grants if not any(_order(r) > _order(g) for r in revocations)
    )
    latest = max(standing_revocations, key=_order, default=None)
    return Ledger(revocation=latest, grants=standing_grants)


def revoked_last(consents: tuple[ConsentRecord, ...], channel: Channel, to: str) -> bool:
    """Whether the person's latest word on ``channel`` at ``to`` is a revocation for every
    purpose: no grant that could cover that address, for any purpose and taking effect at any
    time, was given after it. A further opt-out there would only repeat it; after such a grant
    it would not (the grant outranks the older revocation for its purpose)."""
    relevant = [
        c for c in consents if c.channel == channel and _same_address(c.address, to, channel)
    ]
    revocations = [c for c in relevant if not c.granted and c.purpose is None]
    if not revocations:
        return False
    latest = _order(max(revocations, key=_order))
    return all(_order(g) < latest for g in relevant if g.granted)


def confirmation_allowed(
    rule: schema.ConfirmationRule,
    ledger: Ledger,
    intent: ContactIntent,
    attempts: tuple[AttemptRecord, ...],
) -> bool:
    """TC-4: one confirmation, on one of the rule's channels (a text), to the revoked address
    within N minutes of receiving the opt-out. A rule naming no channels is one recorded before
    rules named them, read back as it was (P5)."""
    revocation = ledger.revocation
    if intent.purpose != rule.purpose or revocation is None:
        return False
    if rule.channels is not None and intent.channel not in rule.channels:
        return False
    if intent.at > revocation.received_at + timedelta(minutes=rule.within_minutes):
        return False
    earlier = sum(
        1
        for a in attempts
        if a.purpose == rule.purpose
        and a.to == intent.to
        and a.channel == intent.channel
        and a.at >= revocation.received_at
        and a.attempt_id != intent.attempt_id
    )
    return earlier < rule.max


def opt_out_fires(rule: schema.OptOutRule, ledger: Ledger, channel: Channel) -> bool:
    revocation = ledger.revocation
    if channel not in rule.channels or revocation is None:
        return False
    if rule.scope == "address":
        return revocation.address is not None
    if rule.scope == "medium":
        return revocation.address is None
    return True


def revocation_across(
    consents: tuple[ConsentRecord, ...],
    channel: Channel,
    media: tuple[Channel, ...],
    to: str | None,
    purpose: Purpose,
    at: datetime,
) -> ConsentRecord | None:
    """TC-5: the revocation, given on any of ``media`` and for any purpose, that stands for a
    contact on ``channel`` at ``at``, as recorded; or None.

    A revocation in reply to one kind of message stops every robocall and robotext, on
    unrelated matters too: each revocation is read as this channel's, for every purpose, to
    its address (or every address). Only a later grant on *this* channel lifts it, by the same
    rules as this channel's own records: opting back into texts alone does not bring back the
    calls a STOP ended."""
    if not any(not c.granted and c.channel in media for c in consents):
        return None
    read: list[ConsentRecord] = []
    given: dict[int, ConsentRecord] = {}  # id of the revocation as read -> as recorded
    for c in consents:
        if not c.granted and c.channel in media:
            as_read = replace(c, channel=channel, purpose=None)
            given[id(as_read)] = c
            read.append(as_read)
        elif c.granted and c.channel is channel:
            read.append(c)
    found = resolve(tuple(read), channel, to, purpose, at).revocation
    return None if found is None else given[id(found)]


def standing_revocation(
    consents: tuple[ConsentRecord, ...],
    channel: Channel,
    to: str | None,
    purpose: Purpose,
    at: datetime,
    revoked_with: tuple[Channel, ...] = (),
) -> ConsentRecord | None:
    """The revocation that stops a task on ``channel`` at ``at``, as recorded: one of its own
    channel (``resolve``), else, where the task names other media (TC-5, ``revoked_with``), one
    given on any of them (``revocation_across``). What the channel worker's re-check and the
    audit's dispatch check both read, as the gate reads it."""
    found = resolve(consents, channel, to, purpose, at).revocation
    if found is None and revoked_with:
        media = (channel, *revoked_with)
        found = revocation_across(consents, channel, media, to, purpose, at)
    return found


def across_in_force(rule: schema.OptOutRule, zones: tuple[str, ...], at: datetime) -> bool:
    """Whether ``rule`` binds at ``at``: its start date has begun in the regulator's zone
    (``calendar_zone``) or in any of the person's, whichever is first (the strict reading);
    in UTC where neither is known."""
    start = rule.in_force_from
    if start is None:
        return True
    names = (*zones, *((rule.calendar_zone,) if rule.calendar_zone else ()))
    if not names:
        return at.astimezone(UTC).date() >= start
    return any(at.astimezone(zone(name)).date() >= start for name in names)
