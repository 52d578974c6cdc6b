"""Our number a person's text was sent to (InboundMessageReceived.to_number): E.164, or 3 to 20
ASCII digits as vendors report short codes, Chinese 106 service numbers and national numbers.
A vendor does not retry a text the gateway refuses with a 4xx, so a STOP sent to a number in a
form the contract refused would be lost (P6)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from contracts import Message
from contracts.outcomes import InboundMessageReceived
from services.gateway import InMemoryDirectory, create_gateway_app
from services.gateway.signing import compute_signature

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
PHONE = "+8613800138000"
BASE, TOKEN = "http://gateway.test", "gw-token"


def inbound(to_number: str) -> InboundMessageReceived:
    return InboundMessageReceived(
        from_number=PHONE,
        to_number=to_number,
        body="退订",
        vendor="twilio",
        external_id="SM1",
        received_at=NOW,
    )


@pytest.mark.parametrize(
    "to_number",
    [
        "+18005550111",  # E.164, as before
        "123",  # the shortest short code
        "12345678",  # the longest short code
        "1069012345678",  # a Chinese 106 service number (13 digits)
        "10690123456789012",  # ... and a 17-digit one
        "10690123456789012345",  # 20 digits, the most accepted
        "18005550111",  # a national number without its +
    ],
)
def test_our_number_may_be_e164_or_3_to_20_ascii_digits(to_number: str) -> None:
    assert inbound(to_number).to_number == to_number


@pytest.mark.parametrize(
    "to_number",
    [
        "",
        "12",  # too short to be any number
        "106901234567890123456",  # 21 digits
        "1069O12345678",  # a letter O among the digits
        "abc",
        "+1",
        "12 345",
        "1069-012345678",
        "\uff11\uff10\uff16\uff19\uff10\uff11\uff12\uff13",  # full-width digits
        "\u0661\u0662\u0663\u0664\u0665",  # Arabic-Indic digits
    ],
)
def test_anything_that_is_not_such_a_number_is_refused(to_number: str) -> None:
    with pytest.raises(ValidationError):
        inbound(to_number)


class _Sink:
    def __init__(self) -> None:
        self.emitted: list[tuple[Message, str]] = []

    async def emit(self, message: Message, *, borrower_id: str) -> None:
        self.emitted.append((message, borrower_id))


@pytest.mark.parametrize("to_number", ["1069012345678", "10690123456789012", "18005550111"])
async def test_the_gateway_accepts_a_stop_sent_to_a_106_or_national_number(to_number: str) -> None:
    """The webhook as the vendor posts it (no broker: an in-memory sink and directory)."""
    directory = InMemoryDirectory()
    directory.add("borrower-1", "party-1", [PHONE])
    sink = _Sink()
    app = create_gateway_app(
        sink=sink,
        directory=directory,
        auth_tokens={"twilio": TOKEN},
        clock=lambda: NOW,
        public_base_url=BASE,
    )
    path = "/webhooks/twilio/inbound"
    form = {"MessageSid": "SMcn1", "From": PHONE, "To": to_number, "Body": "退订"}
    signature = compute_signature(BASE + path, list(form.items()), TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 200
    assert [(m.to_number, b) for m, b in sink.emitted if isinstance(m, InboundMessageReceived)] == [
        (to_number, "borrower-1")
    ]
