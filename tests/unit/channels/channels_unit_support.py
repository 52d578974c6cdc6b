"""Task builders for the channel unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.tasks import SendEmail, SendSms
from contracts.values import Purpose

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
PHONE = "+14155550123"


def _common(attempt_id: str, not_after: datetime | None) -> dict[str, Any]:
    return {
        "attempt_id": attempt_id,
        "party_id": "party-1",
        "loan_id": "loan-1",
        "purpose": Purpose.COLLECTION,
        "authorised_at": NOW,
        "not_after": not_after or NOW + timedelta(hours=1),
    }


def sms(attempt_id: str = "att-1", *, not_after: datetime | None = None) -> SendSms:
    return SendSms(
        **_common(attempt_id, not_after), to=PHONE, body="A payment is due. Reply STOP to opt out."
    )


def email(attempt_id: str = "att-email-1", *, not_after: datetime | None = None) -> SendEmail:
    return SendEmail(
        **_common(attempt_id, not_after),
        to="someone@example.com",
        subject="About your account",
        body="A payment is due.\n\nReply UNSUBSCRIBE to stop.",
    )


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
