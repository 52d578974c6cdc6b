"""Twilio-style adapters against the real vendor simulator over HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest

from contracts.outcomes import OutcomeKind
from services.channels.adapters import FailoverAdapter, is_unavailable
from services.channels.retry import CircuitBreaker
from services.channels.simulator import Reply
from tests.integration.channels.channels_support import (
    PHONE,
    RecordingSleep,
    call,
    fast_retry,
    running_simulator,
    sms,
    twilio_sms,
    twilio_voice,
)


async def test_retries_through_503s_and_reaches_the_vendor_once() -> None:
    """Three 503s then success, at a vendor configured as honouring the idempotency token (the
    simulator does): the same token is resent, one message at the vendor, one ACCEPTED."""
    sleep = RecordingSleep()
    async with running_simulator(scripts={"messages": [503, 503, 503, 201]}) as (sim, url):
        adapter = twilio_sms(url, sleep, honours_idempotency=True)

        result = await adapter.send(sms("att-503"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED
    assert result.external_id.startswith("SM")
    stats = sim.stats()["messages"]
    assert stats["requests"] == 4
    assert stats["accepted"] == 1
    assert stats["by_token"] == {"att-503": 1}
    assert len(sleep.calls) == 3


@pytest.mark.parametrize("status", [504, 409])
async def test_5xx_or_409_without_vendor_idempotency_is_unknown_after_one_request(
    status: int,
) -> None:
    """A 504 (or a 409 "token in flight") may come after the vendor took the message. Unless
    the vendor is known to dedupe on the token, a retry could send it twice: one POST only,
    OUTCOME_UNKNOWN, not "unavailable"."""
    sleep = RecordingSleep()
    async with running_simulator(scripts={"messages": [status, 201]}) as (sim, url):
        adapter = twilio_sms(url, sleep, honours_idempotency=False)

        result = await adapter.send(sms(f"att-{status}-once"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert not is_unavailable(result)
    assert sim.stats()["messages"]["requests"] == 1
    assert sleep.calls == []


async def test_persistent_5xx_is_unknown_and_never_fails_over() -> None:
    """The primary answers 503 to every try (honoured token, so it is retried): the outcome
    is unknown and the backup vendor never sees the attempt (P2: one attempt, one vendor)."""
    sleep = RecordingSleep()
    async with (
        running_simulator(scripts={"messages": [503] * 5}) as (primary, primary_url),
        running_simulator() as (backup, backup_url),
    ):
        chain = FailoverAdapter(
            [
                twilio_sms(primary_url, sleep, vendor="primary", honours_idempotency=True),
                twilio_sms(backup_url, sleep, vendor="backup", honours_idempotency=True),
            ]
        )

        result = await chain.send(sms("att-5xx-stay"))
        await chain.aclose()

    assert (result.vendor, result.outcome) == ("primary", OutcomeKind.OUTCOME_UNKNOWN)
    assert primary.stats()["messages"]["requests"] == 5
    assert backup.stats()["messages"]["requests"] == 0


async def test_persistent_429_is_unavailable_and_fails_over_once() -> None:
    """429 is a refusal (nothing created): after the retries the attempt goes to the backup,
    even without vendor idempotency, and reaches it once."""
    sleep = RecordingSleep()
    async with (
        running_simulator(scripts={"messages": [429] * 5}) as (primary, primary_url),
        running_simulator() as (backup, backup_url),
    ):
        chain = FailoverAdapter(
            [
                twilio_sms(primary_url, sleep, vendor="primary"),
                twilio_sms(backup_url, sleep, vendor="backup"),
            ]
        )

        result = await chain.send(sms("att-429-move"))
        await chain.aclose()

    assert (result.vendor, result.outcome) == ("backup", OutcomeKind.ACCEPTED)
    assert primary.stats()["messages"]["accepted"] == 0
    assert backup.stats()["messages"]["by_token"] == {"att-429-move": 1}


async def test_permanent_400_fails_without_retry() -> None:
    """A 400 is permanent: FAILED, and the vendor saw exactly one request."""
    sleep = RecordingSleep()
    async with running_simulator(scripts={"messages": [400]}) as (sim, url):
        adapter = twilio_sms(url, sleep)

        result = await adapter.send(sms("att-400"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.FAILED
    assert result.detail.startswith("http_400")
    assert not is_unavailable(result)
    assert sim.stats()["messages"]["requests"] == 1
    assert sim.stats()["messages"]["accepted"] == 0
    assert sleep.calls == []


async def test_honours_retry_after_on_429_and_caps_it() -> None:
    """429 Retry-After is slept exactly (via the injected sleep), but never beyond the cap."""
    sleep = RecordingSleep()
    script: list[Reply | int] = [
        Reply(status=429, retry_after=7),
        Reply(status=429, retry_after=600),
    ]
    async with running_simulator(scripts={"messages": script}) as (sim, url):
        adapter = twilio_sms(
            url, sleep, retry=fast_retry(sleep, retry_after_cap_s=30.0, max_total_delay_s=60)
        )

        result = await adapter.send(sms("att-429"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED
    assert sleep.calls == [7.0, 30.0]
    assert sim.stats()["messages"]["accepted"] == 1


async def test_timeout_after_the_request_left_is_retried_safely_with_the_idempotency_token() -> (
    None
):
    """The vendor took the message but answered too late; with a vendor configured as
    honouring the token, the retry carries the same token, so the vendor returns the original
    message instead of sending a second one."""
    sleep = RecordingSleep()
    async with running_simulator(scripts={"messages": [Reply(hang=True)]}) as (sim, url):
        adapter = twilio_sms(url, sleep, timeout_s=0.3, honours_idempotency=True)

        result = await adapter.send(sms("att-hang"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED
    stats = sim.stats()["messages"]
    assert stats["accepted"] == 1
    assert stats["replayed"] == 1
    assert stats["by_token"] == {"att-hang": 1}


async def test_timeout_without_vendor_idempotency_is_unknown_and_not_retried() -> None:
    """If the vendor does not dedupe on the token, a timeout after sending ends as
    OUTCOME_UNKNOWN after one request: a retry could contact the person twice."""
    sleep = RecordingSleep()
    async with running_simulator(scripts={"messages": [Reply(hang=True)]}) as (sim, url):
        adapter = twilio_sms(url, sleep, timeout_s=0.3, honours_idempotency=False)

        result = await adapter.send(sms("att-unknown"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.OUTCOME_UNKNOWN
    assert sim.stats()["messages"]["requests"] == 1


async def test_same_attempt_sent_twice_is_counted_once_by_the_vendor() -> None:
    """A redelivered task reuses its attempt id, so a vendor that dedupes on the token (the
    simulator does; the adapter is configured to say so) counts it once."""
    sleep = RecordingSleep()
    async with running_simulator() as (sim, url):
        adapter = twilio_sms(url, sleep, honours_idempotency=True)

        first = await adapter.send(sms("att-twice"))
        second = await adapter.send(sms("att-twice"))
        await adapter.aclose()

    assert first.outcome is second.outcome is OutcomeKind.ACCEPTED
    assert first.external_id == second.external_id
    stats = sim.stats()["messages"]
    assert stats["accepted"] == 1
    assert stats["by_token"] == {"att-twice": 1}
    assert len(stats["by_to_hash"]) == 1


async def test_dead_primary_fails_over_to_the_secondary_vendor() -> None:
    """Connection refused at the primary: the same attempt goes to the secondary, once."""
    sleep = RecordingSleep()
    async with running_simulator() as (_dead, dead_url):
        pass  # stopped: its port now refuses connections
    async with running_simulator() as (backup, backup_url):
        chain = FailoverAdapter(
            [
                twilio_sms(dead_url, sleep, vendor="primary"),
                twilio_sms(backup_url, sleep, vendor="backup"),
            ]
        )

        result = await chain.send(sms("att-failover"))
        await chain.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED
    assert result.vendor == "backup"
    assert backup.stats()["messages"]["by_token"] == {"att-failover": 1}


async def test_circuit_opens_after_consecutive_failures_then_probes_again() -> None:
    """After N failures (503s: each attempt ends unknown, not unavailable) the breaker stops
    calling the vendor; after the reset time a single probe goes through and closes it."""
    sleep = RecordingSleep()
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=10.0, clock=lambda: now[0])
    async with running_simulator(scripts={"messages": [503, 503, 503]}) as (sim, url):
        adapter = twilio_sms(url, sleep, breaker=breaker, retry=fast_retry(sleep, max_attempts=1))

        failures = [await adapter.send(sms(f"att-cb-{i}")) for i in range(3)]
        blocked = await adapter.send(sms("att-cb-blocked"))
        requests_while_open = sim.stats()["messages"]["requests"]
        now[0] = 11.0
        probe = await adapter.send(sms("att-cb-probe"))
        await adapter.aclose()

    assert all(result.outcome is OutcomeKind.OUTCOME_UNKNOWN for result in failures)
    assert blocked.detail == "unavailable:circuit_open"
    assert requests_while_open == 3
    assert probe.outcome is OutcomeKind.ACCEPTED
    assert breaker.state == "closed"


async def test_wrong_credentials_are_refused_and_not_retried() -> None:
    """The vendor answers 401 to a wrong token; that is permanent, one request only."""
    sleep = RecordingSleep()
    async with running_simulator(auth_token="the-real-token") as (sim, url):
        adapter = twilio_sms(url, sleep)

        result = await adapter.send(sms("att-401"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.FAILED
    assert result.detail.startswith("http_401")
    assert sim.stats()["messages"]["requests"] == 1


async def test_simulator_is_configurable_over_http() -> None:
    """Faults can be scripted through POST /_sim/config and counts read from /_sim/stats."""
    sleep = RecordingSleep()
    async with running_simulator() as (sim, url), httpx.AsyncClient(base_url=url) as control:
        configured = await control.post("/_sim/config", json={"scripts": {"messages": [502]}})
        # A 502 is ambiguous: retried only because the adapter is told the vendor dedupes.
        adapter = twilio_sms(url, sleep, honours_idempotency=True)
        result = await adapter.send(sms("att-config"))
        await adapter.aclose()
        stats = (await control.get("/_sim/stats")).json()
        await sim.drain()

    assert configured.status_code == 200
    assert result.outcome is OutcomeKind.ACCEPTED
    assert stats["messages"]["requests"] == 2
    assert stats["messages"]["by_token"] == {"att-config": 1}


# A webhook that cannot be delivered: the STOP reaches the vendor and goes no further.
_NOWHERE = "http://127.0.0.1:9/webhooks/inbound"


async def test_a_text_to_someone_who_texted_stop_to_the_vendor_is_opted_out() -> None:
    """The person texted STOP to our number and the webhook never reached us: the vendor
    refuses our next text with 21610, and the adapter says why (TC-2), until they text START.
    The refusal is not "unavailable": no other vendor is tried for that text."""
    sleep = RecordingSleep()
    async with running_simulator(inbound_url=_NOWHERE) as (sim, url):
        adapter = twilio_sms(url, sleep)
        await sim.send_inbound(PHONE, "+15005550006", "STOP")

        refused = await adapter.send(sms("att-after-stop"))
        await sim.send_inbound(PHONE, "+15005550006", "START")
        accepted = await adapter.send(sms("att-after-start"))
        await adapter.aclose()

    assert (refused.outcome, refused.detail) == (OutcomeKind.OPTED_OUT, "http_400 code=21610")
    assert not is_unavailable(refused)
    assert accepted.outcome is OutcomeKind.ACCEPTED
    stats = sim.stats()["messages"]
    assert (stats["refused_opted_out"], stats["accepted"]) == (1, 1)


async def test_a_stop_to_another_of_our_numbers_blocks_only_that_one() -> None:
    sleep = RecordingSleep()
    async with running_simulator(inbound_url=_NOWHERE) as (sim, url):
        adapter = twilio_sms(url, sleep)
        await sim.send_inbound(PHONE, "+15005550009", "STOP")

        result = await adapter.send(sms("att-other-number"))
        await adapter.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED


async def test_a_text_the_vendor_took_before_the_stop_is_replayed_not_refused() -> None:
    """Resent with its token after the person texted STOP (a worker restarted mid-send), a
    text the vendor had already taken is the same message, sent: not an opt-out."""
    sleep = RecordingSleep()
    async with running_simulator(inbound_url=_NOWHERE) as (sim, url):
        adapter = twilio_sms(url, sleep, honours_idempotency=True)
        first = await adapter.send(sms("att-before-stop"))
        await sim.send_inbound(PHONE, "+15005550006", "STOP")

        again = await adapter.send(sms("att-before-stop"))
        await adapter.aclose()

    assert (first.outcome, again.outcome) == (OutcomeKind.ACCEPTED, OutcomeKind.ACCEPTED)
    assert again.external_id == first.external_id
    assert sim.stats()["messages"]["refused_opted_out"] == 0


async def test_a_call_to_someone_who_texted_stop_is_placed_and_not_counted_as_refused() -> None:
    """The vendor's STOP block is for texts: calls from the same number still go."""
    sleep = RecordingSleep()
    async with running_simulator(inbound_url=_NOWHERE) as (sim, url):
        voice = twilio_voice(url, sleep)
        await sim.send_inbound(PHONE, "+15005550006", "STOP")

        result = await voice.send(call("att-call-after-stop"))
        await voice.aclose()

    assert result.outcome is OutcomeKind.ACCEPTED
    assert sim.stats()["messages"]["refused_opted_out"] == 0
