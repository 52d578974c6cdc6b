"""The audit report for people: a terminal summary and an HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.audit.core.replay import AuditReport


def render_terminal(console: Console, report: AuditReport) -> None:
    table = Table(title="Audit: the ledger replayed under the policy versions recorded in it")
    table.add_column("measure")
    table.add_column("value", justify="right")
    d = report.as_dict()
    for key in (
        "entries",
        "entries_rederived",
        "decisions_reproved",
        "dispatches_checked",
        "mismatches",
        "violations",
    ):
        table.add_row(key.replace("_", " "), str(d[key]))
    depth = "every entry re-derived" if report.rederive else "every decision re-proved"
    table.add_row("depth", depth)
    table.add_row("policy versions", Text(", ".join(d["policy_versions"])))
    table.add_row("result", "[green]OK[/]" if report.ok else "[red]FINDINGS[/]")
    console.print(table)
    console.print(_revocations_table(d["revocations"]))
    if report.findings:
        findings = Table(title="Findings (first 20)")
        for col in ("kind", "code", "borrower", "attempt", "detail"):
            findings.add_column(col)
        for f in report.findings[:20]:
            # As plain text: details quote what vendors and the log said (an external id, a
            # key), and rich would read "[...]" in them as markup, restyling or crashing.
            findings.add_row(
                *(Text(c) for c in (f.kind, f.code, f.borrower_id, f.attempt_id or "", f.detail))
            )
        console.print(findings)
    if d["shadow"]:
        shadow = Table(
            title=Text(
                f"Shadow replay under policy {d['shadow']['policy']}: decisions that would change"
            )
        )
        shadow.add_column("change")
        shadow.add_column("decisions", justify="right")
        for change, n in d["shadow"]["changes"].items():
            shadow.add_row(Text(change), str(n))
        for rule, n in d["shadow"]["rules"].items():
            shadow.add_row(Text(f"  by rule {rule}"), str(n))
        console.print(shadow)


def lag(seconds: float | None) -> str:
    """A lag as people read it: minutes under an hour, hours under two days, then days."""
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _revocations_table(r: dict[str, Any]) -> Table:
    table = Table(
        title="Consent revocations: receipt to processing (TC-3: within 10 business days)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("revocations", str(r["count"]))
    table.add_row("median lag", lag(r["median_lag_seconds"]))
    table.add_row("longest lag", lag(r["max_lag_seconds"]))
    table.add_row("late (TC-3 violations)", f"[red]{r['late']}[/]" if r["late"] else "0")
    dispatched = r["dispatched_after"]
    table.add_row("followed by a dispatch", f"[red]{dispatched}[/]" if dispatched else "0")
    return table


_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Parley audit</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px}
.ok{color:#080}.bad{color:#b00}</style></head><body>
<h1>Parley audit: <span class="{{ 'ok' if r.ok else 'bad' }}">{{ 'OK' if r.ok else 'FINDINGS' }}</span></h1>
<table>{% for k in ['entries','entries_rederived','decisions_reproved','dispatches_checked','mismatches','violations'] %}
<tr><th>{{ k.replace('_',' ') }}</th><td>{{ r[k] }}</td></tr>{% endfor %}
<tr><th>depth</th><td>{{ 'every entry re-derived' if r.rederive else 'every decision re-proved' }}</td></tr>
<tr><th>policy versions</th><td>{{ r.policy_versions|join(', ') }}</td></tr></table>
{% set v = r.revocations %}<h2>Consent revocations: receipt to processing (TC-3: within 10 business days)</h2>
<table><tr><th>revocations</th><td>{{ v.count }}</td></tr>
<tr><th>median lag</th><td>{{ lag(v.median_lag_seconds) }}</td></tr>
<tr><th>longest lag</th><td>{{ lag(v.max_lag_seconds) }}</td></tr>
<tr><th>late (TC-3 violations)</th><td class="{{ 'bad' if v.late else 'ok' }}">{{ v.late }}</td></tr>
<tr><th>followed by a dispatch</th><td class="{{ 'bad' if v.dispatched_after else 'ok' }}">{{ v.dispatched_after }}</td></tr></table>
{% if v.records %}<details><summary>Every revocation ({{ v.count }})</summary><table>
<tr><th>borrower</th><th>party</th><th>channel</th><th>scope</th><th>source</th><th>received</th><th>processed</th><th>deadline</th><th>lag</th><th>on time</th><th>dispatches after</th></tr>
{% for x in v.records %}<tr><td>{{ x.borrower_id }}</td><td>{{ x.party_id }}</td><td>{{ x.channel }}</td><td>{{ x.scope }}</td><td>{{ x.source }}</td><td>{{ x.received_at }}</td><td>{{ x.processed_at }}</td><td>{{ x.deadline or 'n/a' }}</td><td>{{ lag(x.lag_seconds) }}</td><td>{{ 'n/a' if x.on_time is none else ('yes' if x.on_time else 'NO') }}</td><td>{{ x.dispatches_after }}</td></tr>{% endfor %}</table></details>{% endif %}
{% if r.findings %}<h2>Findings</h2><table><tr><th>kind</th><th>code</th><th>borrower</th><th>attempt</th><th>detail</th></tr>
{% for f in r.findings %}<tr><td>{{ f.kind }}</td><td>{{ f.code }}</td><td>{{ f.borrower_id }}</td><td>{{ f.attempt_id or '' }}</td><td>{{ f.detail }}</td></tr>{% endfor %}</table>{% endif %}
{% if r.shadow %}<h2>Shadow replay under {{ r.shadow.policy }}</h2><table>
{% for k, n in r.shadow.changes.items() %}<tr><td>{{ k }}</td><td>{{ n }}</td></tr>{% endfor %}
{% for k, n in r.shadow.rules.items() %}<tr><td>by rule {{ k }}</td><td>{{ n }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>"""


def render_html(path: Path, report: AuditReport) -> None:
    html = (
        Environment(autoescape=select_autoescape(default=True))
        .from_string(_HTML)
        .render(r=report.as_dict(), lag=lag)
    )
    path.write_text(html, encoding="utf-8")
