"""The terminal report shows what the log said as text: a vendor's id or a Kafka key is data,
never formatting, and cannot stop the report from being shown."""

from __future__ import annotations

from rich.console import Console

from services.audit.core.report import AuditReport, Finding
from services.audit.render import render_terminal

HOSTILE = ("SM[/]", "[white on white]hidden[/]", "[link=https://evil.example]click[/link]")


def test_markup_in_a_finding_is_shown_as_written() -> None:
    report = AuditReport(
        findings=[
            Finding("violation", "opt_out_not_honoured", "b1", f"reply {text} carried STOP")
            for text in HOSTILE
        ]
    )
    console = Console(record=True, width=400)

    render_terminal(console, report)

    shown = console.export_text()
    for text in HOSTILE:
        assert f"reply {text} carried STOP" in shown
