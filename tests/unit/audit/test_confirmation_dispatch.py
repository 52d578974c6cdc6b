"""TC-4 at the dispatch check: only a text confirming an opt-out goes after it. A call or email
for that purpose after an opt-out is a dispatch after revocation like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.values import Channel, Purpose
from services.audit.core.dispatches import Authorisations, Authorised
from services.audit.core.report import AuditReport
from services.audit.core.revocations import Recorded
from services.compliance.core.model import ConsentRecord

AT = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
ADDRESS = {Channel.SMS: "+15185550147", Channel.CALL: "+15185550147", Channel.EMAIL: "a@b.example"}


@pytest.mark.parametrize(
    ("channel", "findings"),
    [
        (Channel.SMS, []),
        (Channel.CALL, ["dispatch_after_revocation"]),
        (Channel.EMAIL, ["dispatch_after_revocation"]),
    ],
)
def test_only_a_confirmation_text_is_dispatched_after_the_opt_out(
    channel: Channel, findings: list[str]
) -> None:
    seen = Authorisations()
    to = ADDRESS[channel]
    revoked = ConsentRecord(channel, to, None, False, AT, AT, AT)
    seen.file("b1", "b1", Recorded(revoked, None))
    seen.attempts["att-1"] = Authorised(
        AT,
        AT + timedelta(minutes=15),
        channel,
        to,
        Purpose.OPT_OUT_CONFIRMATION,
        "b1",
        "b1",
        "L1",
        tasked=True,
    )
    report = AuditReport(shadow_policy=None, rederive=False)

    seen.check(report, "b1", "att-1", AT + timedelta(minutes=1), channel)

    assert [f.code for f in report.findings] == findings
