"""An attempt started before a crash, with no outcome, when its task comes again (P2).

The first request may have reached the person. It is started again only where a second request
cannot reach them twice: at the vendor it was started at, where that start was marked as
de-duplicated on the attempt id, through an adapter that still honours the attempt id as an
idempotency key. Anywhere else it is recorded as outcome unknown and nothing is sent. The audit
holds a repeated start to the same rule (dispatch_repeated)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.outcomes import DispatchStarted
from contracts.values import Channel
from services.channels.adapters.failover import FailoverAdapter
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.engine import Dispatcher
from services.runtime.clock import SimClock
from tests.unit.channels.channels_unit_support import NOW
from tests.unit.channels.test_worker_memory import (
    HORIZON,
    TOPICS,
    Published,
    authorised,
    dispatcher,
    records,
    written,
)


class Deduplicating(FakeChannelAdapter):
    """A vendor that de-duplicates requests on the attempt id."""

    honours_idempotency = True


class DeduplicatingChain(FailoverAdapter):
    """A failover chain claiming de-duplication (FailoverAdapter itself claims none): each of
    its vendors may de-duplicate, but not on requests another of them received."""

    honours_idempotency = True


def start_before_crash(vendor: str, *, deduplicates: bool) -> bytes:
    return written(
        DispatchStarted(
            attempt_id="att-1",
            channel=Channel.SMS,
            vendor=vendor,
            started_at=NOW,
            vendor_deduplicates=deduplicates,
        ),
        NOW,
    )


def starts(published: Published) -> list[dict[str, Any]]:
    envelopes = (json.loads(r.value) for r in published.records)
    return [e["payload"] for e in envelopes if e["type"] == "dispatch.started"]


def outcome(published: Published) -> str:
    [recorded] = published.outcomes("att-1")
    return str(recorded["payload"]["outcome"])


async def test_a_start_at_a_deduplicating_vendor_is_started_again_at_that_vendor() -> None:
    """The vendor drops the second request if it has the first: the attempt gets a real
    outcome, and the new start is marked as de-duplicated at that vendor like the first."""
    twilio, published = Deduplicating(vendor="twilio"), Published()
    d = dispatcher(twilio, SimClock(NOW))
    d.restore_outcome(0, start_before_crash("twilio", deduplicates=True))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert twilio.attempt_ids == ["att-1"]
    assert outcome(published) == "accepted"
    [again] = starts(published)
    assert (again["vendor"], again.get("vendor_deduplicates")) == ("twilio", True)


async def test_a_start_at_one_vendor_is_not_sent_to_another_after_a_switch() -> None:
    """The operator switched vendors between the crash and the restart: the new vendor never
    saw the first request, so its de-duplication cannot stop a second text."""
    acme, published = Deduplicating(vendor="acme"), Published()
    d = dispatcher(acme, SimClock(NOW))
    d.restore_outcome(0, start_before_crash("twilio", deduplicates=True))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert acme.sent == []
    assert starts(published) == []
    assert outcome(published) == "outcome_unknown"


async def test_a_start_not_marked_deduplicated_is_never_sent_again() -> None:
    """The first request carried no key the vendor honoured (it did not de-duplicate then, or
    the record predates the mark and reads as unmarked): that the vendor de-duplicates now
    does not make a second request safe."""
    twilio, published = Deduplicating(vendor="twilio"), Published()
    d = dispatcher(twilio, SimClock(NOW))
    d.restore_outcome(0, start_before_crash("twilio", deduplicates=False))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert twilio.sent == []
    assert outcome(published) == "outcome_unknown"


@pytest.mark.parametrize(
    ("started_at", "marked", "now_at", "honours", "sent_again"),
    [
        pytest.param("twilio", True, "twilio", True, True, id="same-vendor-marked-honoured"),
        pytest.param("twilio", True, "acme", True, False, id="another-vendor"),
        pytest.param("twilio", False, "twilio", True, False, id="first-start-unmarked"),
        pytest.param("twilio", True, "twilio", False, False, id="no-longer-honoured"),
        pytest.param("twilio", False, "twilio", False, False, id="neither"),
    ],
)
async def test_a_start_is_repeated_only_where_the_audit_accepts_the_repeat(
    started_at: str, marked: bool, now_at: str, honours: bool, sent_again: bool
) -> None:
    """The worker's rule and the audit's (dispatch_repeated) are one: same vendor, both
    starts marked as de-duplicated."""
    adapter = (Deduplicating if honours else FakeChannelAdapter)(vendor=now_at)
    published = Published()
    d = dispatcher(adapter, SimClock(NOW))
    d.restore_outcome(0, start_before_crash(started_at, deduplicates=marked))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert adapter.attempt_ids == (["att-1"] if sent_again else [])
    assert outcome(published) == ("accepted" if sent_again else "outcome_unknown")


async def test_the_last_start_of_an_attempt_decides() -> None:
    """Started at a de-duplicating vendor, then again unmarked (de-duplication switched off in
    between), then a crash: the last request carried no honoured key, so none may follow."""
    twilio, published = Deduplicating(vendor="twilio"), Published()
    d = dispatcher(twilio, SimClock(NOW))
    d.restore_outcome(0, start_before_crash("twilio", deduplicates=True))
    d.restore_outcome(0, start_before_crash("twilio", deduplicates=False))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert twilio.sent == []
    assert outcome(published) == "outcome_unknown"


async def test_a_failover_chain_never_starts_an_attempt_again() -> None:
    """Which vendor of a chain a request reaches depends on which is up at the time: the first
    may have reached twilio and the second, twilio down, acme. Even the same chain, each of
    its vendors de-duplicating, is not one vendor that saw both."""
    twilio, acme = Deduplicating(vendor="twilio"), Deduplicating(vendor="acme")
    chain, published = DeduplicatingChain([twilio, acme]), Published()
    d = Dispatcher(TOPICS, {Channel.SMS: chain}, SimClock(NOW), horizon=HORIZON)
    d.assign(0)
    d.restore_outcome(0, start_before_crash(chain.vendor, deduplicates=True))

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    assert twilio.sent == acme.sent == []
    assert outcome(published) == "outcome_unknown"


async def test_a_start_through_a_failover_chain_is_not_marked_deduplicated() -> None:
    """So that neither the worker nor the audit takes a repeat of it as safe."""
    twilio, acme = Deduplicating(vendor="twilio"), Deduplicating(vendor="acme")
    chain, published = DeduplicatingChain([twilio, acme]), Published()
    d = Dispatcher(TOPICS, {Channel.SMS: chain}, SimClock(NOW), horizon=HORIZON)
    d.assign(0)

    await d.dispatch(records(d, authorised("att-1", NOW)), published)

    [first] = starts(published)
    assert (first["vendor"], first.get("vendor_deduplicates", False)) == ("twilio>acme", False)
