"""`parley`: one CLI for running the services, the demo, provisioning and schema export.

Every failure a user can cause (a bad argument, a bad config or policy file, an unreachable
broker) ends in one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from events.topics import Topics
from services.runtime.logs import configure_logging
from services.runtime.settings import CommonSettings

app = typer.Typer(
    name="parley",
    help="Compliant debt-collection communications, event-sourced on Kafka.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
topics_app = typer.Typer(help="Topic provisioning.", no_args_is_help=True)
schemas_app = typer.Typer(help="Contract schemas.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
console = Console(stderr=False)


class UserError(Exception):
    """Something the user can fix; printed as one line."""


@app.command()
def demo(
    borrowers: Annotated[int, typer.Option(min=1, max=200_000, help="Portfolio size")] = 1000,
    days: Annotated[int, typer.Option(min=1, max=365, help="Days of event time to simulate")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed for the portfolio")] = 7,
    step_minutes: Annotated[
        int,
        typer.Option(
            min=5,
            max=1440,
            help="Simulated minutes per step; a timer fires at the first step at or after it is due "
            "(60 for hour-exact timers)",
        ),
    ] = 120,
    out: Annotated[Path, typer.Option(help="Directory for the HTML report and logs")] = Path(
        "reports"
    ),
) -> None:
    """Run a synthetic portfolio through the real broker, SMTP server and vendor simulator."""
    from services.audit.render import render_html as audit_html
    from services.audit.render import render_terminal as audit_terminal
    from services.simulation.driver import run_demo
    from services.simulation.report import render_html, render_terminal

    base = CommonSettings()
    out.mkdir(parents=True, exist_ok=True)
    configure_logging(level="warning", fmt="json")
    with Progress(
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("", total=1)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        async def go() -> None:
            run = await run_demo(
                borrowers=borrowers,
                days=days,
                seed=seed,
                step_minutes=step_minutes,
                out_dir=out,
                progress=progress,
                base=base,
            )
            stats = run.stats
            seconds = run.finished - run.started
            processed = stats.inputs_applied + run.ticks_published
            summary: dict[str, object] = {
                "borrowers": borrowers,
                "simulated days": days,
                "wall seconds": round(seconds, 1),
                "upstream events published": run.upstream_published,
                "ledger entries": stats.ledger_entries,
                "inputs applied (upstream + outcomes)": stats.inputs_applied,
                "duplicates recognised": stats.duplicates,
                "dead-lettered": stats.deadletters,
                "events/s (inputs + ticks processed / wall s)": round(processed / seconds, 1),
                "vendor SMS accepted (distinct attempts)": _accepted(run.vendor_stats, "messages"),
                "vendor calls accepted (distinct attempts)": _accepted(run.vendor_stats, "calls"),
                "max vendor sends for one attempt": max(
                    _max_per_token(run.vendor_stats, "messages"),
                    _max_per_token(run.vendor_stats, "calls"),
                ),
                "emails captured by SMTP server": run.emails_captured,
                "max emails for one attempt": run.emails_per_attempt_max,
                "max dispatch starts for one attempt": max(
                    stats.dispatch_started.values(), default=0
                ),
                "STOP replies sent": run.stops_sent,
                "policy versions": ", ".join(sorted(stats.policy_versions)),
            }
            render_terminal(console, stats, summary)
            html = out / "demo-report.html"
            render_html(html, stats, summary)
            audit_terminal(console, run.audit)
            audit_html(out / "audit-report.html", run.audit)
            console.print(f"HTML reports: {html}, {out / 'audit-report.html'}")

        asyncio.run(go())


def _accepted(stats: dict[str, object], route: str) -> int:
    book = stats.get(route)
    return int(book.get("accepted", 0)) if isinstance(book, dict) else 0


def _max_per_token(stats: dict[str, object], route: str) -> int:
    book = stats.get(route)
    tokens = book.get("by_token", {}) if isinstance(book, dict) else {}
    return max(tokens.values(), default=0) if isinstance(tokens, dict) else 0


@app.command()
def run(
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service", "-s", help="orchestrator, channels, gateway (repeat); default all"
        ),
    ] = None,
) -> None:
    """Run the services (all in one process by default) until interrupted."""
    from services.channels.registry import AdapterError
    from services.channels.settings import ChannelSettings
    from services.gateway.settings import GatewaySettings
    from services.orchestrator.settings import OrchestratorSettings
    from services.runtime.admin import ensure_topics
    from services.runtime.clock import SimClock, WallClock
    from services.simulation.driver import broker_for
    from services.stack import SERVICES, run_services

    chosen = chosen_services(service, SERVICES)
    base = CommonSettings()
    configure_logging(base.log_level, base.log_format)

    async def go() -> None:
        async with broker_for(base) as bootstrap:
            await ensure_topics(bootstrap, Topics(base.namespace), base.partitions)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            async with run_services(
                bootstrap,
                chosen,
                WallClock() if base.clock == "wall" else SimClock(),
                orchestrator=OrchestratorSettings() if "orchestrator" in chosen else None,
                channels=ChannelSettings() if "channels" in chosen else None,
                gateway=GatewaySettings() if "gateway" in chosen else None,
            ):
                console.print(f"parley: running {', '.join(chosen)} on {bootstrap}; Ctrl-C to stop")
                await stop.wait()

    try:
        asyncio.run(go())
    except AdapterError as exc:  # an adapter of another channel, or a plugin that cannot be built
        raise UserError(str(exc)) from None


@app.command()
def audit(
    namespace: Annotated[
        str | None, typer.Option(help="Topic namespace (default: PARLEY_NAMESPACE)")
    ] = None,
    policy: Annotated[
        str | None, typer.Option(help="Shadow replay: also re-run every decision under this policy")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the report as HTML")
    ] = None,
    rederive: Annotated[
        bool,
        typer.Option(
            "--rederive",
            help="Also run the whole decision core again on every entry (slower, stronger)",
        ),
    ] = False,
) -> None:
    """Replay the ledger read-only; re-prove every decision; check every dispatch. Exit 1 on findings."""
    from services.audit.render import render_html as audit_html
    from services.audit.render import render_terminal as audit_terminal
    from services.audit.run import run_audit, write_json
    from services.compliance.core import load_policy
    from services.orchestrator.settings import OrchestratorSettings
    from services.runtime.admin import existing_topics

    # A --namespace is checked as the setting is (a name Kafka topics can carry).
    settings = (
        OrchestratorSettings() if namespace is None else OrchestratorSettings(namespace=namespace)
    )
    if not settings.kafka_bootstrap_servers:
        raise UserError("KAFKA_BOOTSTRAP_SERVERS is not set (the log to audit lives on a broker)")
    _writable(json_out, html_out)
    shadow = load_policy(policy) if policy else None
    topics = Topics(settings.namespace)
    if topics.ledger not in asyncio.run(existing_topics(settings.kafka_bootstrap_servers)):
        # Nothing to audit is not a clean audit: a typo'd namespace would otherwise pass.
        raise UserError(
            f"no topic {topics.ledger} on {settings.kafka_bootstrap_servers}:"
            f" nothing to audit in namespace {settings.namespace!r}"
        )
    report = asyncio.run(
        run_audit(
            settings.kafka_bootstrap_servers,
            topics,
            settings.partitions,
            settings,
            shadow,
            rederive=rederive,
        )
    )
    # The files first: what the audit found is kept even if the terminal cannot show it.
    if json_out:
        write_json(report, json_out)
    if html_out:
        audit_html(html_out, report)
    audit_terminal(console, report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def evaluate(
    events: Annotated[
        Path,
        typer.Argument(help="JSON lines: upstream events and contact requests (docs/evaluate.md)"),
    ],
    policy: Annotated[str, typer.Option(help="Built-in policy name or policy file")] = "default",
    out: Annotated[Path | None, typer.Option(help="Write decisions here (default: stdout)")] = None,
    all_decisions: Annotated[
        bool, typer.Option("--all", help="Also the strategy's own decisions")
    ] = False,
) -> None:
    """Offline and deterministic: one decision per contact request, as JSON lines. No broker."""
    from services.audit.run import context_factory
    from services.compliance.core import load_policy
    from services.evaluate.offline import EventsFileError, evaluate_file
    from services.orchestrator.settings import OrchestratorSettings

    if events.is_dir():
        raise UserError(f"{events}: is a directory, not an events file")
    if not events.is_file():
        raise UserError(f"{events}: no such file")
    _writable(out)
    context_for, strategy_version = context_factory(OrchestratorSettings())
    ctx = context_for(load_policy(policy))
    try:
        result = evaluate_file(events, ctx, strategy_version, all_decisions=all_decisions)
    except EventsFileError as exc:
        raise UserError(str(exc)) from None
    lines = "".join(
        json.dumps(d, sort_keys=True, ensure_ascii=False) + "\n" for d in result.decisions
    )
    if out:
        out.write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    print(
        f"parley: {result.lines} lines, {result.requests} requests, {len(result.decisions)} decisions, "
        f"policy {ctx.policy.version}",
        file=sys.stderr,
    )


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the topic table (idempotent); checks co-partitioning."""
    from services.runtime.admin import ensure_topics

    base = CommonSettings()
    if not base.kafka_bootstrap_servers:
        raise UserError(
            "KAFKA_BOOTSTRAP_SERVERS is not set (the embedded broker lives only while parley runs)"
        )
    created = asyncio.run(
        ensure_topics(base.kafka_bootstrap_servers, Topics(base.namespace), base.partitions)
    )
    console.print(
        f"created {len(created)} topic(s); all {len(Topics(base.namespace).all())} present"
    )


@schemas_app.command("export")
def schemas_export(
    out: Annotated[Path | None, typer.Option(help="Directory (default: contracts/schemas)")] = None,
) -> None:
    """Write the JSON Schema of every message type."""
    from services.cli.schemas import SCHEMA_DIR, export

    written = export(out or SCHEMA_DIR)
    console.print(f"wrote {len(written)} schema files to {out or SCHEMA_DIR}")


def chosen_services(asked: list[str] | None, known: tuple[str, ...]) -> tuple[str, ...]:
    """The services to run: those asked for, each once, in the order asked (all if none)."""
    chosen = tuple(dict.fromkeys(asked or known))
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise UserError(f"unknown service {unknown[0]!r}; choose from {', '.join(known)}")
    return chosen


def _unknown_settings() -> list[str]:
    # Most runs set no PARLEY_* variable: the settings classes (and the gateway's app, which its
    # package imports) are not loaded for nothing.
    from services.runtime.settings import parley_variables, unknown_variables

    if not parley_variables():
        return []
    from services.channels.settings import ChannelSettings
    from services.gateway.settings import GatewaySettings
    from services.orchestrator.settings import OrchestratorSettings

    return unknown_variables((OrchestratorSettings, ChannelSettings, GatewaySettings))


def _kafka_error() -> type[Exception]:
    # Evaluated only when an exception reaches that clause: aiokafka is not imported by the
    # commands that never touch a broker (evaluate, schemas, --help).
    from aiokafka.errors import KafkaError

    error: type[Exception] = KafkaError
    return error


def _settings_error() -> type[Exception]:
    from pydantic_settings import SettingsError

    error: type[Exception] = SettingsError
    return error


def _writable(*paths: Path | None) -> None:
    """Refuse an output path that cannot be written before the work, not after it."""
    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise UserError(f"{path}: is a directory; give a file name")
        if not path.parent.is_dir():
            raise UserError(f"{path}: no such directory {path.parent}")


def main() -> None:
    from services.compliance.core import PolicyError
    from services.strategy.core.playbook import PlaybookError

    started = time.monotonic()
    # The Kafka client logs each failed connection; where nothing set up logging (every command
    # but run and demo) Python would print those on stderr beside the one-line error below.
    # Handled here, they still reach any handler configured later (they propagate to the root).
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    unknown = _unknown_settings()
    if unknown:
        print(
            f"parley: error: unknown setting {unknown[0]} (no service reads it: a typo?)",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        # Without standalone mode click returns (not raises) the code of typer.Exit.
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # bad arguments: typer's (vendored) click usage errors
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            # A group named without a command: its help, as written, is the answer.
            print(ctx.get_help(), file=sys.stderr)
            sys.exit(2)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"parley: error: {' '.join(message.split())}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    except (UserError, PolicyError, PlaybookError) as exc:
        print(f"parley: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except _settings_error() as exc:  # a setting that is not even parsed (JSON of a dict)
        print(f"parley: error: invalid setting: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or exc.title
        print(f"parley: error: invalid setting {where}: {first['msg']}", file=sys.stderr)
        sys.exit(2)
    except _kafka_error() as exc:  # the broker cannot be reached, or refused what was asked
        print(f"parley: error: Kafka: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:
        what = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else exc
        print(
            f"parley: error: {what} ({time.monotonic() - started:.1f}s)",
            file=sys.stderr,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
