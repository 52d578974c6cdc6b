from __future__ import annotations

from pydantic import Field

from services.runtime.settings import CommonSettings


class GatewaySettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8791, ge=0, le=65535)
    public_base_url: str | None = Field(
        default=None, description="URL vendors sign; default http://host:port"
    )
    vendor_name: str = "twilio"
    vendor_auth_token: str = Field(default="parley-dev-token", repr=False)
