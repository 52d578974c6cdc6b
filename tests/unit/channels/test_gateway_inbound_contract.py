"""InboundMessageReceived's numbers: the sender is a person's E.164 number; the receiver is ours,
an E.164 long code, an SMS short code or a national service number (3 to 20 digits, China's 106
numbers among them), so a STOP to any of them is not lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts.outcomes import InboundMessageReceived

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def inbound(
    from_number: str = "+12125550147", to_number: str = "+18005550111"
) -> InboundMessageReceived:
    return InboundMessageReceived(
        from_number=from_number,
        to_number=to_number,
        body="STOP",
        vendor="twilio",
        external_id="SM1",
        received_at=NOW,
    )


@pytest.mark.parametrize(
    "to_number",
    [
        "+18005550111",
        "+447700900123",
        "123",  # the shortest short code
        "12345",
        "890123",
        "12345678",  # the longest short code
        "123456789",
        "1069012345678",  # a Chinese 106 service number (13 digits)
        "10690123456789012",  # ... and a 17-digit one
        "10690123456789012345",  # 20 digits, the most accepted
        "18005550111",  # a national number without its +
    ],
)
def test_to_number_accepts_e164_and_short_codes(to_number: str) -> None:
    assert inbound(to_number=to_number).to_number == to_number


@pytest.mark.parametrize(
    "to_number",
    [
        "",
        "12",  # too short to be any number
        "1" * 21,
        "+1",
        "18005550111x",
        "abc",
        "12 345",
        "+0123456789",
        "١٢٣٤٥",  # Arabic-Indic digits
        "1069O12345678",  # a letter O among the digits
        "1069-012345678",
        "\uff11\uff10\uff16\uff19\uff10\uff11\uff12\uff13",  # full-width digits
    ],
)
def test_to_number_rejects_anything_else(to_number: str) -> None:
    with pytest.raises(ValidationError):
        inbound(to_number=to_number)


@pytest.mark.parametrize("from_number", ["12345", "890123", "2125550147"])
def test_from_number_stays_strict_e164(from_number: str) -> None:
    with pytest.raises(ValidationError):
        inbound(from_number=from_number)
