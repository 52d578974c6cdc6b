"""The directory's follower is supervised: when following the upstream topic fails, the failure
is logged (no PII, P7), the directory says it is not ready, and following resumes after a
bounded backoff without missing a record. The gateway's ``/ready`` tells an orchestrator the
same, so traffic is held back until the directory has caught up again.

Failures are injected where the broker would raise them, in the consumer's fetch; the broker
itself is real."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from structlog.testing import capture_logs

from events.topics import Topics
from services.gateway import create_gateway_app
from services.gateway.kafka import Backoff, UpstreamDirectory
from tests.integration.channels.channels_support import ListSink, clock
from tests.integration.channels.test_channels_gateway_directory import number, publish_profiles
from tests.support.pipeline import PARTITIONS, producer

pytestmark = pytest.mark.broker

QUICK = Backoff(initial_s=0.01, max_s=0.05)


class FlakyFetches:
    """Hands the directory real consumers whose fetches fail on cue, as a broker error would.
    The error's text quotes a phone number, which must not reach a log line (P7)."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.fail_on: set[int] = set()  # fetch numbers, counted over every consumer
        self.fetches = 0
        self.consumers = 0

    def fail_next(self) -> int:
        """Make the next fetch fail; returns its number."""
        self.fail_on.add(self.fetches + 1)
        return self.fetches + 1

    def new_consumer(self) -> _FlakyConsumer:
        self.consumers += 1
        inner = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
        )
        return _FlakyConsumer(inner, self)


class _FlakyConsumer:
    def __init__(self, inner: AIOKafkaConsumer, faults: FlakyFetches) -> None:
        self._inner = inner
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def getmany(self, *partitions: Any, **options: Any) -> Any:
        self._faults.fetches += 1
        if self._faults.fetches in self._faults.fail_on:
            raise KafkaConnectionError(f"connection lost while fetching for {number(7)}")
        return await self._inner.getmany(*partitions, **options)


class HeldSleep:
    """The directory's backoff sleep, held until the test lets it go."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.released = asyncio.Event()
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.asked.set()
        await self.released.wait()


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def waited(awaitable: Awaitable[object], what: str, timeout_s: float = 30.0) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout_s)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


async def test_a_follower_that_fails_before_catching_up_restarts_and_still_catches_up(
    bootstrap: str, topics: Topics
) -> None:
    """The second fetch of the replay fails. The failure is logged by type, without the
    number its text quotes; following resumes on a new consumer, and the directory becomes
    ready knowing every profile, instead of answering 503 for ever."""
    profiles = 5000  # more than one fetch (max_records=2000): the failure lands mid-replay
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, profiles)
    faults = FlakyFetches(bootstrap)
    faults.fail_on.add(2)
    directory = UpstreamDirectory(
        bootstrap, topics, PARTITIONS, backoff=QUICK, new_consumer=faults.new_consumer
    )

    with capture_logs() as logs:
        await directory.start()
        try:
            await eventually(directory.ready, "ready after the failed fetch")
            known = sum(
                directory.borrower_for_party(f"party-{i}") is not None for i in range(profiles)
            )
        finally:
            await directory.stop()

    assert known == profiles
    assert faults.consumers == 2
    [failure] = [e for e in logs if e["event"] == "gateway.directory_follow_failed"]
    assert failure["error"] == "KafkaConnectionError"
    assert failure["log_level"] == "warning"
    assert number(7) not in repr(logs)
    assert number(7).lstrip("+") not in repr(logs)


async def test_a_follower_that_fails_after_catching_up_keeps_learning_new_parties(
    bootstrap: str, topics: Topics
) -> None:
    """After catch-up a fetch fails; a borrower published afterwards is still learned, so a
    webhook about them is routed instead of being acknowledged as unknown and dropped."""
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, 10)
    faults = FlakyFetches(bootstrap)
    directory = UpstreamDirectory(
        bootstrap, topics, PARTITIONS, backoff=QUICK, new_consumer=faults.new_consumer
    )
    await directory.start()
    try:
        await eventually(directory.ready, "ready")
        failing = faults.fail_next()
        await eventually(lambda: faults.fetches >= failing, "the failing fetch")
        async with producer(bootstrap) as p:
            await publish_profiles(p, topics, 12)  # party-10 and party-11 are new
        await eventually(lambda: directory.borrower_for_party("party-11") is not None, "learned")
        await eventually(directory.ready, "ready again")
    finally:
        await directory.stop()

    assert directory.borrower_for_party("party-10") == "b-10"
    assert faults.consumers == 2  # the failed one, and the one that took over


async def test_readiness_is_withdrawn_during_a_restart_and_given_back_once_caught_up(
    bootstrap: str, topics: Topics
) -> None:
    """While the follower waits out its backoff the directory is not ready and ``/ready`` is
    503 (``/health`` stays 200: restarting the process would only start the replay over). Once
    ready again it knows what was published during the outage."""
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, 10)
    faults = FlakyFetches(bootstrap)
    sleep = HeldSleep()
    directory = UpstreamDirectory(
        bootstrap, topics, PARTITIONS, new_consumer=faults.new_consumer, sleep=sleep
    )
    app = create_gateway_app(
        sink=ListSink(),
        directory=directory,
        auth_tokens={"twilio": "token"},
        clock=clock,
        public_base_url="http://gateway.test",
    )
    await directory.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client:
            await eventually(directory.ready, "ready")
            before = (await client.get("/ready")).status_code
            faults.fail_next()
            await waited(sleep.asked.wait(), "a backoff after the failed fetch")
            during = (await client.get("/ready")).status_code
            alive = (await client.get("/health")).status_code
            assert not directory.ready()
            async with producer(bootstrap) as p:
                await publish_profiles(p, topics, 11)  # party-10 arrives during the outage
            sleep.released.set()
            await eventually(directory.ready, "ready again")
            knows_late_party = directory.borrower_for_party("party-10") is not None
            after = (await client.get("/ready")).status_code
    finally:
        await directory.stop()

    assert (before, during, alive, after) == (200, 503, 200, 200)
    assert knows_late_party
    assert 0 < sleep.delays[0] <= Backoff().max_s
