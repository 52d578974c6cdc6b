"""The dispatcher when a send goes wrong: a vendor answer it cannot read, an id that does not
fit the contract, a revocation that arrives while the batch is being sent. Each attempt still
ends with exactly one recorded outcome, nothing is sent twice, and the batch goes on."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta

from contracts.outcomes import OutcomeKind
from contracts.tasks import SendSms
from contracts.upstream import ConsentRevoked
from contracts.values import Channel, PartyRole
from events.envelope import wrap
from events.records import Out, Record
from events.topics import Topics
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.engine import Dispatcher
from services.channels.ports import SendResult
from services.channels.ratelimit import RateLimited, TokenBucket
from services.orchestrator.core.evolve import evolve
from services.orchestrator.core.state import BorrowerState, Party
from services.runtime.clock import SimClock
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


def records(*tasks: SendSms) -> list[Record]:
    out = []
    for offset, task in enumerate(tasks):
        envelope = wrap(task, borrower_id=BORROWER, occurred_at=NOW, producer="test")
        out.append(
            Record(
                TOPICS.tasks[0], 0, offset, BORROWER.encode(), envelope.model_dump_json().encode()
            )
        )
    return out


def dispatcher(adapter: object) -> Dispatcher:
    d = Dispatcher(TOPICS, {Channel.SMS: adapter}, SimClock(NOW))  # type: ignore[dict-item]
    d.assign(0)
    return d


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

    await dispatcher(adapter).dispatch(records(sms("att-1"), sms("att-2")), published)

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

    await dispatcher(adapter).dispatch(records(sms("att-1"), sms("att-2")), published)

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
            state = BorrowerState(BORROWER)
            # The texts' party is known to the worker: the STOP, not an unknown party, is
            # what cancels the second.
            state.parties["party-1"] = Party(party_id="party-1", role=PartyRole.BORROWER)
            stop = ConsentRevoked(
                party_id="party-1", channel=Channel.SMS, address=PHONE, received_at=NOW
            )
            evolve(state, stop, NOW)
            d.states[0].borrowers[BORROWER] = state

    await d.dispatch(records(sms("att-1"), sms("att-2")), published, recheck)

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
        records(sms("att-1", not_after=closes), sms("att-2", not_after=closes)), published
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
            state = BorrowerState(BORROWER)
            state.parties["party-1"] = Party(party_id="party-1", role=PartyRole.BORROWER)
            stop = ConsentRevoked(
                party_id="party-1", channel=Channel.SMS, address=PHONE, received_at=NOW
            )
            evolve(state, stop, NOW)
            d.states[0].borrowers[BORROWER] = state

    await d.dispatch(records(sms("att-1"), sms("att-2")), published, recheck)

    assert stopped
    assert inner.attempt_ids == ["att-1"]
    assert published.outcomes()["att-2"][::2] == ("cancelled", "consent:revoked")
