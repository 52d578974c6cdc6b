from __future__ import annotations

from pydantic import Field

from services.runtime.settings import CommonSettings


class ChannelSettings(CommonSettings):
    group_id: str = "parley-channels"
    max_in_flight: int = Field(default=32, ge=1, description="Concurrent vendor sends per worker")
    recheck_max_age_s: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="P6: before a send, read the ledger's tail again if the last read is older",
    )
    # How long attempts are remembered and how far back a restore reads (ADR 0010).
    task_lifetime_s: float = Field(
        default=3600.0,
        ge=15 * 60,  # the orchestrator's dispatch grace: no shorter, or tasks expire in window
        le=7 * 86400,
        description="A task not sent within this long of its authorisation is expired unsent",
    )
    clock_skew_margin_s: float = Field(
        default=600.0,
        ge=0,
        le=86400,
        description="How far apart the clocks stamping one attempt may be: the orchestrator's "
        "decision time (up to its max_clock_skew_s ahead on future-dated input) and every "
        "host's wall clock, record timestamps included",
    )
    vendor_rate_per_s: float | None = Field(
        default=None, gt=0, description="Token bucket per vendor; unset: no limit"
    )
    vendor_burst: int = Field(default=10, ge=1)
    vendor_base_url: str = "http://127.0.0.1:8790"
    vendor_account_sid: str = "ACparley"
    vendor_auth_token: str = Field(default="parley-dev-token", repr=False)
    sms_from: str = "+18005550111"
    callback_base_url: str = "http://127.0.0.1:8791"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    email_from: str = "collections@parley.invalid"
    letters_path: str = Field(
        default="out/letters.jsonl",
        description="Letters for the print-and-mail vendor, one JSON line per attempt",
    )
