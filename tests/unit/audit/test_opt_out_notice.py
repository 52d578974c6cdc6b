"""RF-16 in the audit: every text and email names a way to opt out, except the one plain text
confirming an opt-out (TC-4), by the same rule the strategy renders by (needs_opt_out_notice)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from contracts.values import Channel, Purpose
from services.strategy.core.playbook import needs_opt_out_notice
from tests.unit.audit.ledgers import NOON_NY, audit, edited, ny_borrower
from tests.unit.audit.test_revocations import _reply


def _tasks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [d["payload"] for d in doc["derived"] if d["type"].startswith("task.")]


def test_the_opt_out_confirmation_text_is_not_an_rf16_finding() -> None:
    """A STOP reply is confirmed once, in plain words; the audit accepts it as it was sent."""
    ledger = ny_borrower()
    _reply(ledger, "STOP", NOON_NY - timedelta(minutes=1), NOON_NY)

    report = audit(ledger).report

    [task] = _tasks(json.loads(ledger.entries[-1].value))
    assert task["purpose"] == "opt_out_confirmation"
    assert "STOP" not in task["body"]
    assert report.ok, report.findings


def test_any_other_text_without_an_opt_out_notice_still_is() -> None:
    """The exemption is the purpose's: the same plain words sent for collection are a finding."""
    ledger = ny_borrower()
    _reply(ledger, "STOP", NOON_NY - timedelta(minutes=1), NOON_NY)

    def as_collection(doc: dict[str, Any]) -> None:
        for task in _tasks(doc):
            task["purpose"] = "collection"

    report = audit(ledger, [*ledger.entries[:-1], edited(ledger.entries[-1], as_collection)])

    assert "opt_out_notice_missing" in {f.code for f in report.report.findings}


@pytest.mark.parametrize(
    ("channel", "purpose", "needed"),
    [
        (Channel.SMS, Purpose.OPT_OUT_CONFIRMATION, False),
        (Channel.EMAIL, Purpose.OPT_OUT_CONFIRMATION, True),  # TC-4 is about one text
        (Channel.SMS, Purpose.COLLECTION, True),
        (Channel.SMS, Purpose.PAYMENT_CONFIRMATION, True),
        (Channel.EMAIL, Purpose.REMINDER, True),
        (Channel.CALL, Purpose.COLLECTION, False),  # a voicemail is limited content (RF-18)
        (Channel.LETTER, Purpose.VALIDATION_NOTICE, False),
    ],
)
def test_only_the_opt_out_confirmation_text_goes_without_a_notice(
    channel: Channel, purpose: Purpose, needed: bool
) -> None:
    assert needs_opt_out_notice(channel, purpose) is needed
