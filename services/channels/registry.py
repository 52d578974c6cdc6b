"""Find and build channel adapters by name.

Built-ins are known here; third-party adapters register a factory under the entry-point group
``parley.channel_adapters``: ``my-vendor = "my_pkg.module:factory"`` where ``factory`` takes an
:class:`AdapterSettings` and returns a :class:`ChannelAdapter`. A spec may name a failover chain,
``"twilio-sms>console-sms"``: the first adapter that is up gets each attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

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
    "AdapterFactory",
    "AdapterSettings",
    "available_adapters",
    "build_adapter",
]

ENTRY_POINT_GROUP = "parley.channel_adapters"


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
    console_dir: str = "out/channels"
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failure_threshold: int = 5
    breaker_reset_after_s: float = 30.0
    extra: Mapping[str, str] = field(default_factory=dict)

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
    )


def smtp(settings: AdapterSettings) -> ChannelAdapter:
    return SmtpEmail(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        from_address=settings.smtp_from,
        timeout_s=settings.timeout_s,
        retry=settings.retry,
        breaker=settings.breaker(),
    )


def _console(channel: Channel) -> AdapterFactory:
    def factory(settings: AdapterSettings) -> ChannelAdapter:
        return ConsoleAdapter(channel=channel, path=Path(settings.console_dir) / f"{channel}.jsonl")

    return factory


console_sms = _console(Channel.SMS)
console_email = _console(Channel.EMAIL)
console_call = _console(Channel.CALL)


def letter_file(settings: AdapterSettings) -> ChannelAdapter:
    return LetterSink(Path(settings.console_dir) / "letters.jsonl")


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


def build_adapter(spec: str, settings: AdapterSettings | None = None) -> ChannelAdapter:
    """Build the adapter named by ``spec`` (``"name"`` or a failover chain ``"a>b>c"``)."""
    settings = settings or AdapterSettings()
    names = [name.strip() for name in spec.split(">") if name.strip()]
    if not names:
        raise ValueError("empty adapter spec")
    adapters = [_factory(name)(settings) for name in names]
    return adapters[0] if len(adapters) == 1 else FailoverAdapter(adapters)
