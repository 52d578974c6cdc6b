"""The dispatcher when a send goes wrong: a vendor answer it cannot read, an id that does not
fit the contract, a revocation that arrives while the batch is being sent. Each attempt still
ends with exactly one recorded outcome, nothing is sent twice, and the batch goes on."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest

from contracts.outcomes import DispatchStarted, OutcomeKind
from contracts.tasks import SendSms
from contracts.upstream import ConsentRevoked
from contracts.values import Channel, PartyRole, Phone, PhoneType
from events.envelope import wrap
from events.records import Out, Record
from events.topics import Topics
from services.channels.adapters.failover import FailoverAdapter
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.engine import PRODUCER, Dispatcher
from services.channels.ports import SendResult
from services.channels.ratelimit import RateLimited, TokenBucket
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.state import BorrowerState, Party
from services.runtime.clock import SimClock
from tests.support.authorised import authorise
from tests.unit.channels.channels_unit_support import NOW, PHONE, sms

TOPICS = Topics("unit")
BORROWER = "b-1"


class Published:
    def __init__(self) -> None:
        self.records: list[Out] = []

    async def __call__(self, records: Sequence[Out]) -> None:
        self.records += records

    def outcomes(self) -> dict[str, tuple[str, str, str]]:
        found = {}
        for r in self.records:
            envelope = json.loads(r.value)
            if envelope["type"] == "contact.outcome":
                p = envelope["payload"]
                found[p["attempt_id"]] = (p["outcome"], p["external_id"], p["detail"])
        return found


def records(d: Dispatcher, *tasks: SendSms) -> list[Record]:
    """The tasks' records, after the ledger entry authorising them, as the orchestrator writes
    them: first the entries, then the tasks (``tests.support.authorised``)."""
    authorise(d, *tasks, borrower_id=BORROWER)
    out = []
    for offset, task in enumerate(tasks):
        envelope = wrap(task, borrower_id=BORROWER, occurred_at=NOW, producer="test")
        out.append(
            Record(
                TOPICS.tasks[0], 0, offset, BORROWER.encode(), envelope.model_dump_json().encode()
            )
        )
    return out


def unauthorised(*tasks: SendSms) -> list[Record]:
    """The tasks' records, with no ledger entry authorising them."""
    out = []
    for offset, task in enumerate(tasks):
        envelope = wrap(task, borrower_id=BORROWER, occurred_at=NOW, producer="test")
        value = envelope.model_dump_json().encode()
        out.append(Record(TOPICS.tasks[0], 0, 100 + offset, BORROWER.encode(), value))
    return out


def dispatcher(adapter: object) -> Dispatcher:
    d = Dispatcher(TOPICS, {Channel.SMS: adapter}, SimClock(NOW))  # type: ignore[dict-item]
    d.assign(0)
    return d


def read_stop(d: Dispatcher) -> None:
    """What a re-check of the ledger brings once the orchestrator has processed a STOP from the
    texts' number. The party is known to the worker, so the STOP, not an unknown party, is what
    cancels a text."""
    state = BorrowerState(BORROWER)
    state.parties["party-1"] = Party(
        party_id="party-1",
        role=PartyRole.BORROWER,
        phones=(Phone(number=PHONE, type=PhoneType.MOBILE),),  # the texts' number is theirs
    )
    stop = ConsentRevoked(party_id="party-1", channel=Channel.SMS, address=PHONE, received_at=NOW)
    evolve(state, stop, NOW)
    d.states[0].borrowers[BORROWER] = state


class Unreadable(FakeChannelAdapter):
    """Accepts the first text, then fails to read the vendor's answer (a broken gzip body)."""

    async def send(self, task: object) -> SendResult:
        result = await super().send(task)  # type: ignore[arg-type]
        if len(self.sent) == 1:
            raise ValueError("Error -3 while decompressing data")
        return result


async def test_an_answer_the_adapter_cannot_read_is_an_unknown_outcome_and_the_batch_goes_on() -> (
    None
):
    adapter = Unreadable()
    published = Published()

    d = dispatcher(adapter)
    await d.dispatch(records(d, sms("att-1"), sms("att-2")), published)

    assert adapter.attempt_ids == ["att-1", "att-2"]
    outcomes = published.outcomes()
    assert outcomes["att-1"][0] == "outcome_unknown"  # it may have gone out: never resent
    assert outcomes["att-1"][2] == "adapter_error:ValueError"
    assert outcomes["att-2"][0] == "accepted"


async def test_a_vendor_id_that_does_not_fit_the_contract_still_records_the_outcome() -> None:
    adapter = FakeChannelAdapter(
        results=[SendResult("fake", OutcomeKind.ACCEPTED, external_id="S" * 129)]
    )
    published = Published()

    d = dispatcher(adapter)
    await d.dispatch(records(d, sms("att-1"), sms("att-2")), published)

    outcomes = published.outcomes()
    assert outcomes["att-1"][:2] == ("accepted", "")
    assert outcomes["att-1"][2].startswith("vendor reply unusable")
    assert outcomes["att-2"][0] == "accepted"


async def test_a_stop_read_between_two_sends_of_one_batch_cancels_the_second() -> None:
    """P6: the ledger is read again before each send, not only once per batch."""
    adapter = FakeChannelAdapter()
    d = dispatcher(adapter)
    published = Published()

    async def recheck() -> None:
        if adapter.sent:  # after the first send, the orchestrator has processed a STOP
            read_stop(d)

    await d.dispatch(records(d, sms("att-1"), sms("att-2")), published, recheck)

    assert adapter.attempt_ids == ["att-1"]
    assert published.outcomes()["att-2"][::2] == ("cancelled", "consent:revoked")


class VendorPace:
    """A vendor rate of one send per ``interval``, on the dispatcher's simulated clock: waiting
    for a token moves the clock on, and ``during_wait`` runs while a sender waits."""

    def __init__(self, clock: SimClock, interval: timedelta) -> None:
        self.clock = clock
        self.during_wait: Callable[[], None] = lambda: None
        self.bucket = TokenBucket(
            1 / interval.total_seconds(), 1, clock=self.elapsed, sleep=self.sleep
        )

    def elapsed(self) -> float:
        return (self.clock.now() - NOW).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.during_wait()
        self.clock.advance_to(self.clock.now() + timedelta(seconds=seconds))


def paced(interval: timedelta) -> tuple[Dispatcher, FakeChannelAdapter, VendorPace]:
    inner = FakeChannelAdapter()
    d = dispatcher(inner)
    assert isinstance(d.clock, SimClock)
    pace = VendorPace(d.clock, interval)
    d.adapters[Channel.SMS] = RateLimited(inner, pace.bucket)
    return d, inner, pace


async def test_a_task_that_waits_for_the_vendor_rate_past_its_window_is_expired_not_sent() -> None:
    """A burst behind a rate limit: the second text's turn comes after its window has closed
    (say 21:00), so it is not sent. The window is checked after the wait, not before it."""
    d, inner, _ = paced(timedelta(minutes=20))
    published = Published()
    closes = NOW + timedelta(minutes=15)

    await d.dispatch(
        records(d, sms("att-1", not_after=closes), sms("att-2", not_after=closes)), published
    )

    assert inner.attempt_ids == ["att-1"]
    assert published.outcomes()["att-2"][::2] == ("expired", "window closed before dispatch")


async def test_a_stop_processed_while_a_task_waits_for_the_vendor_rate_cancels_it() -> None:
    """P6: the ledger is re-read after the wait for the vendor's rate, right before the send."""
    d, inner, pace = paced(timedelta(seconds=30))
    published = Published()
    stopped: list[bool] = []
    pace.during_wait = lambda: stopped.append(True)  # the orchestrator processes a STOP

    async def recheck() -> None:
        if stopped:
            read_stop(d)

    await d.dispatch(records(d, sms("att-1"), sms("att-2")), published, recheck)

    assert stopped
    assert inner.attempt_ids == ["att-1"]
    assert published.outcomes()["att-2"][::2] == ("cancelled", "consent:revoked")


async def test_expired_tasks_ahead_of_a_live_one_take_no_vendor_tokens() -> None:
    """After an outage a backlog of expired tasks is recorded without waiting for the vendor's
    rate, so the live text behind it still goes out inside its window."""
    d, inner, _ = paced(timedelta(seconds=1))
    published = Published()
    stale = [sms(f"old-{n}", not_after=NOW - timedelta(minutes=1)) for n in range(300)]

    await d.dispatch(
        records(d, *stale, sms("live", not_after=NOW + timedelta(minutes=5))), published
    )

    assert inner.attempt_ids == ["live"]
    assert published.outcomes()["old-0"][0] == "expired"
    assert d.clock.now() == NOW  # nobody waited


async def test_a_token_reserved_for_a_task_then_refused_goes_back_to_the_bucket() -> None:
    """The rate still limits sends, and a refused task does not leave a token banked for a send
    that never waited for it."""
    t = VendorPace(SimClock(NOW), timedelta(seconds=1))
    limited = RateLimited(FakeChannelAdapter(), t.bucket)

    await limited.reserve()  # the burst's one token
    limited.release()  # refused after the re-check
    await limited.reserve()
    await limited.send(sms("att-1"))
    await limited.send(sms("att-2"))  # not reserved: waits for its own token

    assert t.clock.now() == NOW + timedelta(seconds=1)


class Idempotent(FakeChannelAdapter):
    honours_idempotency = True


async def test_a_start_without_an_outcome_not_resent_is_unknown_even_at_an_idempotent_vendor() -> (
    None
):
    """P2: the request before the crash may have reached the person. If the task is refused
    when it comes again (its window closed meanwhile) the attempt is unknown, not expired: an
    expired attempt would stop counting towards the caps."""
    d = Dispatcher(TOPICS, {Channel.SMS: Idempotent()}, SimClock(NOW + timedelta(hours=2)))
    d.assign(0)
    started = DispatchStarted(
        attempt_id="att-1",
        channel=Channel.SMS,
        vendor="fake",
        started_at=NOW,
        vendor_deduplicates=True,  # as the worker marks a start at this vendor: resendable
    )
    d.restore_outcome(
        0,
        wrap(started, borrower_id=BORROWER, occurred_at=NOW, producer=PRODUCER)
        .model_dump_json()
        .encode(),
    )
    published = Published()

    await d.dispatch(records(d, sms("att-1")), published)

    outcome, _, detail = published.outcomes()["att-1"]
    assert outcome == "outcome_unknown"
    assert detail == "started before a crash; window closed before dispatch"


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class SleepingClock(FixedClock):
    """A wall clock that a sleep moves on."""

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.mark.parametrize("ahead", [timedelta(minutes=1), timedelta(minutes=11)])
async def test_a_task_authorised_further_ahead_of_the_workers_clock_than_a_short_wait_is_not_sent(
    ahead: timedelta,
) -> None:
    """Sent now it would go out before the instant the gate proved; waited for, it would hold
    the whole batch (its lock, rebalances, the poll interval) for minutes; and beyond the skew
    margin its records would outlive what a restore keeps of them (ADR 0010). It is not sent,
    at once."""
    adapter = FakeChannelAdapter()
    clock = SleepingClock(NOW - ahead)
    d = Dispatcher(TOPICS, {Channel.SMS: adapter}, clock, sleep=clock.sleep)
    d.assign(0)
    published = Published()

    await d.dispatch(records(d, sms("att-1")), published)

    assert adapter.attempt_ids == []
    assert clock.at == NOW - ahead  # nobody waited
    assert published.outcomes()["att-1"][::2] == (
        "failed",
        "authorised ahead of this worker's clock",
    )


async def test_a_failover_chain_waits_for_its_first_vendors_rate_before_the_last_checks() -> None:
    """The chain passes the first vendor's reservation on, so a chain behind a rate limit also
    checks the window after the wait, not before it."""
    inner = FakeChannelAdapter()
    d = dispatcher(inner)
    assert isinstance(d.clock, SimClock)
    pace = VendorPace(d.clock, timedelta(minutes=20))
    d.adapters[Channel.SMS] = FailoverAdapter([RateLimited(inner, pace.bucket)])
    published = Published()
    closes = NOW + timedelta(minutes=15)

    await d.dispatch(
        records(d, sms("att-1", not_after=closes), sms("att-2", not_after=closes)), published
    )

    assert inner.attempt_ids == ["att-1"]
    assert published.outcomes()["att-2"][0] == "expired"


async def test_a_task_authorised_a_little_ahead_of_the_workers_clock_waits_for_that_instant() -> (
    None
):
    """Hosts' clocks differ by a little: the task is sent, but not before the instant the gate
    proved (a text authorised for 08:00:00 does not leave at 07:59:57)."""
    adapter = FakeChannelAdapter()
    clock = SleepingClock(NOW - timedelta(seconds=3))
    d = Dispatcher(TOPICS, {Channel.SMS: adapter}, clock, sleep=clock.sleep)
    d.assign(0)
    published = Published()

    await d.dispatch(records(d, sms("att-1")), published)

    assert adapter.attempt_ids == ["att-1"]
    [started] = [
        json.loads(r.value)["payload"]
        for r in published.records
        if json.loads(r.value)["type"] == "dispatch.started"
    ]
    assert started["started_at"] == NOW.isoformat().replace("+00:00", "Z")


# -- only what the ledger authorised is sent (P1) ---------------------------------------------


async def test_a_task_with_no_authorising_decision_in_the_ledger_is_not_sent() -> None:
    """A task on the topic that the orchestrator never authorised (written by another producer,
    or its entry lost) is refused, even for a person the worker knows."""
    adapter = FakeChannelAdapter()
    d = dispatcher(adapter)
    published = Published()
    records(d, sms("att-1"))  # the person and their number are on file, one text authorised

    await d.dispatch([*records(d, sms("att-1")), *unauthorised(sms("att-2"))], published)

    assert adapter.attempt_ids == ["att-1"]
    assert published.outcomes()["att-2"][::2] == (
        "cancelled",
        "no authorisation in the ledger for this task",
    )


async def test_a_task_changed_after_its_authorisation_is_not_sent() -> None:
    """The attempt was authorised, but for another number and text: only the task the ledger
    holds goes out, as it was authorised."""
    adapter = FakeChannelAdapter()
    d = dispatcher(adapter)
    published = Published()
    records(d, sms("att-1"))
    changed = sms("att-1").model_copy(update={"body": "Pay now or else. Reply STOP to opt out."})

    await d.dispatch(unauthorised(changed), published)

    assert adapter.sent == []
    assert published.outcomes()["att-1"][0] == "cancelled"


async def test_a_task_for_a_borrower_the_worker_has_read_nothing_of_is_not_sent() -> None:
    adapter = FakeChannelAdapter()
    d = dispatcher(adapter)
    published = Published()

    await d.dispatch(unauthorised(sms("att-1")), published)

    assert adapter.sent == []
    assert published.outcomes()["att-1"][::2] == (
        "cancelled",
        "no authorisation in the ledger for this task",
    )
