"""Composition root for running services in one process (`parley run`, `parley demo`).

Each service keeps its own app factory and settings; this only starts them side by side.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from faststream import FastStream

from contracts.values import Channel
from events.topics import Topics
from services.channels.app import create_app as create_channels_app
from services.channels.ports import ChannelAdapter
from services.channels.ratelimit import RateLimited, TokenBucket
from services.channels.registry import AdapterSettings, build_for
from services.channels.settings import ChannelSettings
from services.gateway.app import create_gateway_app
from services.gateway.kafka import KafkaOutcomeSink, UpstreamDirectory
from services.gateway.settings import GatewaySettings
from services.orchestrator.app import create_app as create_orchestrator_app
from services.orchestrator.settings import OrchestratorSettings
from services.runtime.clock import Clock
from services.runtime.http import serve_asgi

SERVICES = ("orchestrator", "channels", "gateway")
# The adapters that send through the vendor account of the vendor_* settings, and share its
# rate limit (vendor_rate_per_s).
VENDOR_ACCOUNT_ADAPTERS = frozenset({"twilio-sms", "twilio-voice"})


def adapter_settings(settings: ChannelSettings, clock: Clock) -> AdapterSettings:
    """What the adapter factories read, from the channel service's settings."""
    password = settings.smtp_password
    return AdapterSettings(
        callback_base_url=settings.callback_base_url,
        twilio_base_url=settings.vendor_base_url,
        twilio_account_sid=settings.vendor_account_sid,
        twilio_auth_token=settings.vendor_auth_token,
        twilio_from_number=settings.sms_from,
        twilio_honours_idempotency=settings.vendor_honours_idempotency,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_from=settings.email_from,
        smtp_security=settings.smtp_security,
        smtp_username=settings.smtp_username,
        smtp_password=password.get_secret_value() if password is not None else None,
        smtp_ca_file=settings.smtp_ca_file,
        console_dir=settings.console_dir,
        letters_path=settings.letters_path,
        clock=clock.now,
        extra=settings.adapter_options,
    )


def build_adapters(settings: ChannelSettings, clock: Clock) -> dict[Channel, ChannelAdapter]:
    """One adapter (or failover chain) per channel, as the settings name them."""
    built = adapter_settings(settings, clock)
    rate = settings.vendor_rate_per_s
    # One bucket for the vendor account: its texts and calls share the account's cap. Only
    # the account's own adapters take from it, wherever they stand in a chain.
    bucket = TokenBucket(rate, settings.vendor_burst) if rate else None

    def limited(name: str, adapter: ChannelAdapter) -> ChannelAdapter:
        if bucket is not None and name in VENDOR_ACCOUNT_ADAPTERS:
            return RateLimited(adapter, bucket)
        return adapter

    return {
        channel: build_for(channel, spec, built, limited)
        for channel, spec in (
            (Channel.SMS, settings.sms_adapter),
            (Channel.CALL, settings.call_adapter),
            (Channel.EMAIL, settings.email_adapter),
            (Channel.LETTER, settings.letter_adapter),
        )
    }


@dataclass
class Running:
    orchestrator: FastStream | None = None
    channels: FastStream | None = None
    gateway_url: str | None = None
    directory: UpstreamDirectory | None = None


@contextlib.asynccontextmanager
async def run_services(
    bootstrap: str,
    services: tuple[str, ...],
    clock: Clock,
    *,
    orchestrator: OrchestratorSettings | None = None,
    channels: ChannelSettings | None = None,
    gateway: GatewaySettings | None = None,
    adapters: Callable[[ChannelSettings, Clock], dict[Channel, ChannelAdapter]] = build_adapters,
) -> AsyncIterator[Running]:
    running = Running()
    async with contextlib.AsyncExitStack() as stack:
        if "gateway" in services:
            assert gateway is not None
            topics = Topics(gateway.namespace)
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
            await producer.start()
            stack.push_async_callback(producer.stop)
            directory = UpstreamDirectory(bootstrap, topics, gateway.partitions)
            await directory.start()
            stack.push_async_callback(directory.stop)
            public = gateway.public_base_url or f"http://{gateway.host}:{gateway.port}"
            app = create_gateway_app(
                sink=KafkaOutcomeSink(producer, topics, gateway.partitions, clock.now),
                directory=directory,
                auth_tokens={gateway.vendor_name: gateway.vendor_auth_token},
                clock=clock.now,
                public_base_url=public,
            )
            running.gateway_url = await stack.enter_async_context(
                serve_asgi(app, host=gateway.host, port=gateway.port)
            )
            running.directory = directory
        if "orchestrator" in services:
            assert orchestrator is not None
            running.orchestrator = create_orchestrator_app(orchestrator, bootstrap)
            await running.orchestrator.start()
            stack.push_async_callback(running.orchestrator.stop)
        if "channels" in services:
            assert channels is not None
            running.channels = create_channels_app(
                channels, bootstrap, adapters(channels, clock), clock
            )
            await running.channels.start()
            stack.push_async_callback(running.channels.stop)
        yield running
