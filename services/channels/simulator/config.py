"""What the vendor simulator does: credentials, faults, callback behaviour. Data only."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Route = Literal["messages", "calls"]
Disposition = Literal[
    "conversation_right_party",
    "conversation_wrong_party",
    "voicemail_left",
    "no_answer",
    "busy",
    "not_connected",
]


def _dispositions() -> dict[Disposition, int]:
    return {
        "conversation_right_party": 3,
        "conversation_wrong_party": 1,
        "voicemail_left": 3,
        "no_answer": 2,
        "busy": 1,
        "not_connected": 1,
    }


class Reply(BaseModel):
    """One scripted answer. ``hang`` accepts and counts the resource, then stalls ``hang_s``
    before answering: the "timeout after the request was received" case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: int = Field(default=201, ge=100, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    hang: bool = False


class SimConfig(BaseModel):
    """Simulator behaviour. Change it at run time with ``VendorSimulator.configure`` or
    ``POST /_sim/config`` (a JSON object of the fields to change)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    account_sid: str = "AC00000000000000000000000000000000"
    auth_token: str = "sim-auth-token"
    latency_ms: int = Field(default=0, ge=0)
    # Consumed front to back per route; an exhausted script answers normally.
    scripts: dict[Route, list[Reply | int]] = Field(default_factory=dict)
    hang_s: float = Field(default=2.0, ge=0)
    callbacks_enabled: bool = True
    callback_delay_s: float = Field(default=0.02, ge=0)
    duplicate_callbacks: bool = False
    reorder_callbacks: bool = False  # e.g. "delivered" before "sent"
    sms_undelivered_weight: int = Field(default=0, ge=0)
    sms_delivered_weight: int = Field(default=1, ge=0)
    disposition_weights: dict[Disposition, int] = Field(default_factory=_dispositions)
    inbound_url: str | None = None
    # As Twilio does by default: a person who texts an opt-out keyword to one of our numbers is
    # blocked from it (error 21610) until they text START; whether their text reached us or not.
    stop_blocks: bool = True


def next_reply(config: SimConfig, route: Route) -> Reply:
    """Pop the next scripted reply for ``route`` (a normal 201 once the script is exhausted)."""
    script = config.scripts.get(route)
    if not script:
        return Reply()
    step = script.pop(0)
    return Reply(status=step) if isinstance(step, int) else step
