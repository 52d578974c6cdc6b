"""Builders and running servers shared by the channel integration tests (not a conftest, so
module names stay unique for mypy and pytest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from contracts import Message
from contracts.tasks import PlaceCall, SendEmail, SendSms
from contracts.values import Purpose
from services.channels.adapters._twilio import TwilioRestAdapter
from services.channels.adapters.twilio_sms import TwilioSms
from services.channels.adapters.twilio_voice import TwilioVoice
from services.channels.retry import CircuitBreaker, RetryPolicy
from services.channels.simulator import SimConfig, VendorSimulator, serve_simulator
from services.gateway import InMemoryDirectory, create_gateway_app
from services.gateway.signing import compute_signature
from services.runtime.http import bind_socket, serve_asgi

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
PHONE = "+14155550123"
EMAIL = "dana.debtor@example.com"
SID = "AC" + "1" * 32
TOKEN = "test-auth-token"


def clock() -> datetime:
    return NOW


def _common(attempt_id: str, party_id: str = "party-1", loan_id: str = "loan-1") -> dict[str, Any]:
    return {
        "attempt_id": attempt_id,
        "party_id": party_id,
        "loan_id": loan_id,
        "purpose": Purpose.COLLECTION,
        "authorised_at": NOW,
        "not_after": NOW + timedelta(hours=2),
    }


def sms(
    attempt_id: str = "att-sms-1",
    to: str = PHONE,
    *,
    party_id: str = "party-1",
    loan_id: str = "loan-1",
) -> SendSms:
    return SendSms(
        **_common(attempt_id, party_id, loan_id),
        to=to,
        body="A payment is due. Reply STOP to opt out.",
    )


def email(attempt_id: str = "att-email-1") -> SendEmail:
    return SendEmail(
        **_common(attempt_id),
        to=EMAIL,
        subject="About your account",
        body="A payment is due.\n\nTo stop these emails, reply UNSUBSCRIBE.",
    )


def call(attempt_id: str = "att-call-1") -> PlaceCall:
    return PlaceCall(**_common(attempt_id), to=PHONE, voicemail="Please call us back. <Ref & 1>")


@dataclass
class RecordingSleep:
    """An injected sleep: records what the retry policy asked for and returns at once."""

    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def fast_retry(sleep: RecordingSleep, **overrides: Any) -> RetryPolicy:
    return replace(RetryPolicy(max_attempts=5, sleep=sleep), **overrides)


def twilio_sms(
    base_url: str,
    sleep: RecordingSleep,
    *,
    callback_base_url: str = "http://gateway.test",
    breaker: CircuitBreaker | None = None,
    retry: RetryPolicy | None = None,
    **kwargs: Any,
) -> TwilioSms:
    return _twilio(TwilioSms, base_url, sleep, callback_base_url, breaker, retry, **kwargs)


A = TypeVar("A", bound=TwilioRestAdapter)


def twilio_voice(base_url: str, sleep: RecordingSleep) -> TwilioVoice:
    return _twilio(TwilioVoice, base_url, sleep, "http://gateway.test", None, None)


def _twilio(
    kind: type[A],
    base_url: str,
    sleep: RecordingSleep,
    callback_base_url: str,
    breaker: CircuitBreaker | None,
    retry: RetryPolicy | None,
    **kwargs: Any,
) -> A:
    return kind(
        base_url=base_url,
        account_sid=SID,
        auth_token=TOKEN,
        from_number="+15005550006",
        callback_base_url=callback_base_url,
        retry=retry or fast_retry(sleep),
        breaker=breaker,
        clock=clock,
        **kwargs,
    )


@asynccontextmanager
async def running_simulator(**config: Any) -> AsyncIterator[tuple[VendorSimulator, str]]:
    """A simulator on a loopback port, with our test credentials and fast callbacks."""
    settings = {"account_sid": SID, "auth_token": TOKEN, "callback_delay_s": 0.005, "hang_s": 1.0}
    simulator = VendorSimulator(SimConfig.model_validate({**settings, **config}))
    async with serve_simulator(simulator) as url:
        yield simulator, url


@dataclass
class ListSink:
    """An OutcomeSink that keeps what it is given."""

    emitted: list[tuple[Message, str]] = field(default_factory=list)

    async def emit(self, message: Message, *, borrower_id: str) -> None:
        self.emitted.append((message, borrower_id))

    @property
    def messages(self) -> list[Message]:
        return [message for message, _ in self.emitted]


GATEWAY_BASE = "http://gateway.test"
GATEWAY_TOKEN = "gw-token"


@asynccontextmanager
async def gateway_over(
    directory: InMemoryDirectory,
) -> AsyncIterator[tuple[httpx.AsyncClient, ListSink]]:
    """The gateway as an ASGI app over ``directory``, with a client and the sink it emits to."""
    sink = ListSink()
    app = create_gateway_app(
        sink=sink,
        directory=directory,
        auth_tokens={"twilio": GATEWAY_TOKEN},
        clock=clock,
        public_base_url=GATEWAY_BASE,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=GATEWAY_BASE) as client:
        yield client, sink


@asynccontextmanager
async def gateway_serving(directory: InMemoryDirectory) -> AsyncIterator[tuple[str, ListSink]]:
    """The gateway over ``directory`` on a real loopback port (its URL is the one vendors sign),
    with the sink it emits to."""
    sink = ListSink()
    sock = bind_socket()  # bound first, so the app knows the public URL vendors will sign
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_gateway_app(
        sink=sink,
        directory=directory,
        auth_tokens={"twilio": TOKEN},
        clock=clock,
        public_base_url=url,
    )
    try:
        async with serve_asgi(app, sock=sock):
            yield url, sink
    finally:
        sock.close()


def status_path(**query: str) -> str:
    """The status-callback path with ``query`` (attempt, party, loan, borrower) encoded."""
    return "/webhooks/twilio/status?" + urlencode(query)


async def post_signed(
    client: httpx.AsyncClient, path: str, params: dict[str, str], *, token: str = GATEWAY_TOKEN
) -> httpx.Response:
    signature = compute_signature(GATEWAY_BASE + path, list(params.items()), token)
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
