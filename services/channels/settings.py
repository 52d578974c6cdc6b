from __future__ import annotations

import ssl

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from services.channels.registry import SmtpSecurity, known_names
from services.runtime.settings import CommonSettings

_SPEC = "an adapter name, or a failover chain 'first>second' (the first that is up sends)"


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
    vendor_honours_idempotency: bool = Field(
        default=False,
        description="The SMS/voice vendor dedupes on I-Twilio-Idempotency-Token, so an "
        "ambiguous failure may be retried and a crashed send started again (ADR 0004)",
    )
    sms_from: str = "+18005550111"
    callback_base_url: str = "http://127.0.0.1:8791"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_security: SmtpSecurity = Field(
        default="none",
        description="none; starttls (submission, port 587); tls (TLS from the start, port 465)",
    )
    smtp_username: str | None = None
    # Checked even when unset, against the two fields above (_smtp_login_complete).
    smtp_password: SecretStr | None = Field(default=None, validate_default=True)
    smtp_ca_file: str | None = Field(
        default=None, description="CA certificates for a relay whose certificate is private"
    )
    email_from: str = "collections@parley.invalid"
    letters_path: str = Field(
        default="out/letters.jsonl",
        description="Letters for the print-and-mail vendor, one JSON line per attempt",
    )
    console_dir: str = Field(
        default="out/channels", description="Where the console-* adapters write, if chosen"
    )
    sms_adapter: str = Field(default="twilio-sms", description=f"Texts: {_SPEC}")
    call_adapter: str = Field(default="twilio-voice", description=f"Calls: {_SPEC}")
    email_adapter: str = Field(default="smtp", description=f"Email: {_SPEC}")
    letter_adapter: str = Field(default="letter-file", description=f"Letters: {_SPEC}")
    adapter_options: dict[str, str] = Field(
        default_factory=dict,
        repr=False,  # may hold a plugin's API key
        description="Settings for plugin adapters (AdapterSettings.extra): a JSON object of "
        'strings, e.g. {"acme_api_key": "..."}',
    )

    @field_validator("smtp_username", "smtp_password", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # A deployment passes every variable, set or not (compose's ${SMTP_USERNAME:-}): an
        # empty one means no login, not a login with an empty name.
        return None if value == "" else value

    @field_validator("smtp_ca_file")
    @classmethod
    def _loadable_ca_file(cls, path: str | None, info: ValidationInfo) -> str | None:
        # Found wrong at the first send, it would fail every email as the relay being down.
        if path is None:
            return None
        if info.data.get("smtp_security") == "none":
            raise ValueError("a CA file needs smtp_security starttls or tls")
        try:
            ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"{path}: no CA certificates load from it ({exc})") from None
        return path

    @field_validator("sms_adapter", "call_adapter", "email_adapter", "letter_adapter")
    @classmethod
    def _known_adapters(cls, spec: str) -> str:
        # Refused here, before anything starts: a name no adapter answers to (built-in or
        # installed plugin) would leave a channel without a way to send.
        known_names(spec)
        return spec

    @field_validator("smtp_password")
    @classmethod
    def _smtp_login_complete(
        cls, password: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        username = info.data.get("smtp_username")
        if (username is None) != (password is None):
            raise ValueError("smtp_username and smtp_password are set together, or neither")
        if password is not None and info.data.get("smtp_security") == "none":
            # A password would travel in clear: refuse the setting, not the first send.
            raise ValueError("a login needs smtp_security starttls or tls")
        return password
