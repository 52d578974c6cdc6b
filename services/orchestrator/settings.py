from __future__ import annotations

from pydantic import Field

from services.runtime.settings import CommonSettings


class OrchestratorSettings(CommonSettings):
    group_id: str = "parley-orchestrator"
    policy: str = Field(default="default", description="Built-in policy name or a policy file path")
    playbook: str = "default"
    # RF-18: a limited-content voicemail names a business that does not show debt collection.
    business_name: str = "Parley Services"
    agent_name: str = "Alex Morgan"
    callback_number: str = "+18005550100"
    tick_interval_s: float = Field(
        default=1.0, gt=0, le=3600, description="Wall-clock timer resolution"
    )
    max_clock_skew_s: float = Field(
        default=300.0,
        ge=0,
        le=86400,
        description="Wall clock: an input dated further ahead than this is dead-lettered",
    )
