"""Find and build channel adapters by name.

Built-ins are known here; third-party adapters register a factory under the entry-point group
``parley.channel_adapters``: ``my-vendor = "my_pkg.module:factory"`` where ``factory`` takes an
:class:`AdapterSettings` and returns a :class:`ChannelAdapter`. A spec may name a failover chain,
``"twilio-sms>console-sms"``: the first adapter that is up gets each attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

from contracts.values import Channel
from services.channels.adapters._twilio import TwilioRestAdapter
from services.channels.adapters.console import ConsoleAdapter, LetterSink
from services.channels.adapters.failover import FailoverAdapter
from services.channels.adapters.smtp_email import SmtpEmail
from services.channels.adapters.twilio_sms import TwilioSms
from services.channels.adapters.twilio_voice import TwilioVoice
from services.channels.ports import ChannelAdapter
from services.channels.retry import CircuitBreaker, RetryPolicy

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterError",
    "AdapterFactory",
    "AdapterSettings",
    "available_adapters",
    "build_adapter",
    "build_for",
    "known_names",
    "spec_names",
]

ENTRY_POINT_GROUP = "parley.channel_adapters"

SmtpSecurity = Literal["none", "starttls", "tls"]


class AdapterError(ValueError):
    """An adapter spec that names no adapter, a plugin that cannot be built, or an adapter
    that serves another channel: a configuration error, reported in one line at start-up."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AdapterSettings:
    """What adapter factories may read. The channel service's settings build one of these;
    ``extra`` carries settings for third-party adapters."""

    callback_base_url: str = "http://127.0.0.1:8080"
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""
    # Off unless the vendor is known to dedupe on I-Twilio-Idempotency-Token (ADR 0004).
    twilio_honours_idempotency: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "collections@example.invalid"
    # "starttls" upgrades a plain connection (submission, port 587); "tls" is TLS from the first
    # byte (port 465). Either checks the relay's certificate against the system's CAs, or
    # against smtp_ca_file when the relay's certificate comes from a private CA.
    smtp_security: SmtpSecurity = "none"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_ca_file: str | None = None
    console_dir: str = "out/channels"
    letters_path: str = "out/channels/letters.jsonl"
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failure_threshold: int = 5
    breaker_reset_after_s: float = 30.0
    # What the adapters read the time from: the wall clock, or a simulated one (the demo).
    clock: Callable[[], datetime] = _utc_now
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold API keys

    def breaker(self) -> CircuitBreaker:
        return CircuitBreaker(
            failure_threshold=self.breaker_failure_threshold,
            reset_after_s=self.breaker_reset_after_s,
        )


AdapterFactory = Callable[[AdapterSettings], ChannelAdapter]


def twilio_sms(settings: AdapterSettings) -> ChannelAdapter:
    return _twilio(TwilioSms, settings)


def twilio_voice(settings: AdapterSettings) -> ChannelAdapter:
    return _twilio(TwilioVoice, settings)


def _twilio(cls: type[TwilioRestAdapter], settings: AdapterSettings) -> ChannelAdapter:
    return cls(
        base_url=settings.twilio_base_url,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=settings.twilio_from_number,
        callback_base_url=settings.callback_base_url,
        timeout_s=settings.timeout_s,
        retry=settings.retry,
        breaker=settings.breaker(),
        honours_idempotency=settings.twilio_honours_idempotency,
        clock=settings.clock,
    )


def smtp(settings: AdapterSettings) -> ChannelAdapter:
    return SmtpEmail(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        from_address=settings.smtp_from,
        timeout_s=settings.timeout_s,
        retry=settings.retry,
        breaker=settings.breaker(),
        use_tls=settings.smtp_security == "tls",
        start_tls=settings.smtp_security == "starttls",
        username=settings.smtp_username,
        password=settings.smtp_password,
        cert_bundle=settings.smtp_ca_file,
        clock=settings.clock,
    )


def _console(channel: Channel) -> AdapterFactory:
    def factory(settings: AdapterSettings) -> ChannelAdapter:
        return ConsoleAdapter(channel=channel, path=Path(settings.console_dir) / f"{channel}.jsonl")

    return factory


console_sms = _console(Channel.SMS)
console_email = _console(Channel.EMAIL)
console_call = _console(Channel.CALL)


def letter_file(settings: AdapterSettings) -> ChannelAdapter:
    return LetterSink(settings.letters_path)


BUILT_INS: dict[str, AdapterFactory] = {
    "twilio-sms": twilio_sms,
    "twilio-voice": twilio_voice,
    "smtp": smtp,
    "console-sms": console_sms,
    "console-email": console_email,
    "console-call": console_call,
    "letter-file": letter_file,
}


def available_adapters() -> list[str]:
    """Every adapter name ``build_adapter`` accepts: built-ins plus installed plugins."""
    return sorted({*BUILT_INS, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def _factory(name: str) -> AdapterFactory:
    if name in BUILT_INS:  # built-ins win: an installed plugin cannot shadow them
        return BUILT_INS[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        factory = ep.load()
        if not callable(factory):
            raise TypeError(f"entry point {name!r} is not callable")
        return factory  # type: ignore[no-any-return]
    raise LookupError(f"unknown channel adapter {name!r}; known: {', '.join(available_adapters())}")


def spec_names(spec: str) -> list[str]:
    """The adapter names in ``spec``, in failover order ("a>b>c")."""
    names = [name.strip() for name in spec.split(">")]
    if not all(names):
        raise AdapterError(f"adapter spec {spec!r} has an empty name; expected 'name' or 'a>b'")
    return names


def known_names(spec: str, what: str = "adapter") -> list[str]:
    """``spec_names``, each one a built-in or an installed plugin; else an AdapterError naming
    the first unknown ``what`` and every known name."""
    names = spec_names(spec)
    known = available_adapters()  # one scan of the installed entry points
    unknown = [name for name in names if name not in known]
    if unknown:
        raise AdapterError(f"unknown {what} {unknown[0]!r}; known: {', '.join(known)}")
    return names


def build_adapter(spec: str, settings: AdapterSettings | None = None) -> ChannelAdapter:
    """Build the adapter named by ``spec`` (``"name"`` or a failover chain ``"a>b>c"``)."""
    settings = settings or AdapterSettings()
    adapters = [_factory(name)(settings) for name in spec_names(spec)]
    return adapters[0] if len(adapters) == 1 else FailoverAdapter(adapters)


Wrap = Callable[[str, ChannelAdapter], ChannelAdapter]


def build_for(
    channel: Channel, spec: str, settings: AdapterSettings, wrap: Wrap | None = None
) -> ChannelAdapter:
    """The adapter for ``channel`` that ``spec`` names, each adapter of a chain passed through
    ``wrap(name, adapter)`` (a vendor's rate limit, say) before the chain is made. An
    AdapterError when a name is unknown, when a plugin cannot be loaded or built, or when an
    adapter anywhere in a chain serves another channel: a worker would otherwise hand it
    tasks it cannot send, and fail every attempt on that channel."""
    names = known_names(spec, f"{channel} adapter")
    adapters: list[ChannelAdapter] = []
    for name in names:
        try:
            adapter = _factory(name)(settings)
            served = adapter.channel
        except Exception as exc:  # a plugin's import, a missing option, a broken factory
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise AdapterError(f"adapter {name!r} could not be built: {reason}") from None
        if served is not channel:
            raise AdapterError(f"adapter {name!r} serves {served}, not {channel}")
        adapters.append(wrap(name, adapter) if wrap is not None else adapter)
    return adapters[0] if len(adapters) == 1 else FailoverAdapter(adapters)
