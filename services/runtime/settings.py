"""Typed settings shared by every service. The only place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Read by deploy/docker-compose.yml itself (interpolated into the services' settings), never by
# a service: not a typo when it is set where parley runs.
_COMPOSE_ONLY = frozenset({"PARLEY_PUBLIC_URL"})


def unknown_variables(classes: Iterable[type[BaseSettings]]) -> list[str]:
    """The PARLEY_* environment variables no settings class has a field for. pydantic-settings
    ignores an unknown variable even with extra="forbid", so a typo (PARLEY_POLCY) would go
    unnoticed and the default be used in its place: a policy other than the one meant."""
    known = set(_COMPOSE_ONLY)
    for cls in classes:
        for name, field in cls.model_fields.items():
            known.add(f"PARLEY_{name}".upper())
            if isinstance(field.validation_alias, AliasChoices):
                known.update(str(choice).upper() for choice in field.validation_alias.choices)
    return sorted(name for name in parley_variables() if name.upper() not in known)


def parley_variables() -> list[str]:
    """The PARLEY_* variables set in the environment."""
    return [name for name in os.environ if name.upper().startswith("PARLEY_")]


class CommonSettings(BaseSettings):
    """Settings every service has. Env vars are ``PARLEY_<FIELD>``, plus ``KAFKA_BOOTSTRAP_SERVERS``."""

    # No inf or nan: every duration becomes a timedelta or a timer, which they overflow.
    model_config = SettingsConfigDict(
        env_prefix="PARLEY_", extra="forbid", frozen=True, allow_inf_nan=False
    )

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "PARLEY_KAFKA_BOOTSTRAP_SERVERS"),
        description="Unset: start the embedded tansu broker on a free loopback port",
    )
    namespace: str = Field(default="parley", pattern=r"^[a-z0-9][a-z0-9._-]{0,60}$")
    partitions: int = Field(default=4, ge=1, le=1024)
    # Tansu holds a JoinGroup for session_timeout/2 (shared/reference/broker.md): keep it short.
    session_timeout_ms: int = Field(default=6000, ge=1000)
    heartbeat_interval_ms: int = Field(default=1000, ge=100)
    # Upper bound on how long the broker holds a fetch open when there is nothing new: the
    # latency of each hop of the pipeline when it is idle (the demo's barrier pays it per step).
    fetch_max_wait_ms: int = Field(default=100, ge=0, le=5000)
    batch_timeout_ms: int = Field(
        default=200, ge=1, le=10000, description="Wait for a fuller batch"
    )
    broker_max_message_bytes: int = Field(
        default=1_048_588,
        ge=64 * 1024,
        description="The largest record the broker accepts (message.max.bytes; Kafka's default)",
    )
    max_record_bytes: int = Field(default=256 * 1024, ge=1024)
    batch_max_records: int = Field(default=500, ge=1)
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    clock: Literal["wall", "topic"] = Field(
        default="wall", description="wall: real time drives timers; topic: simulation ticks do"
    )

    @field_validator("max_record_bytes")
    @classmethod
    def _dead_letters_fit(cls, value: int, info: ValidationInfo) -> int:
        # A dead letter carries an input of up to twice this size, base64'd: it must fit the
        # broker's own limit, or the dead letter would be refused and the service stop on it
        # (P3). Apache Kafka's default limit allows up to about 380 KiB.
        # Imported here: it brings the contracts, which `parley --help` need not load.
        from events.deadletter import largest_dead_letter, largest_record_limit  # noqa: PLC0415

        limit = info.data.get("broker_max_message_bytes")
        if limit is not None and largest_dead_letter(value) > limit:
            raise ValueError(
                f"a dead letter of a {value}-byte record would exceed the broker's limit of"
                f" {limit} bytes (PARLEY_BROKER_MAX_MESSAGE_BYTES); at most"
                f" {largest_record_limit(limit)} bytes"
            )
        return value
