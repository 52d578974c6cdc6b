"""`parley run` builds each channel's adapter from its settings: a production SMTP relay
(STARTTLS, login, a private CA), a failover chain, a plugin's options. Real servers on loopback:
aiosmtpd speaking STARTTLS with a certificate from a test CA, and the vendor simulator."""

from __future__ import annotations

import json
import ssl
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import trustme

from contracts.outcomes import OutcomeKind
from contracts.values import Channel
from services.channels import registry
from services.channels.adapters.failover import FailoverAdapter
from services.channels.ports import ChannelAdapter, SendResult
from services.channels.ratelimit import RateLimited
from services.channels.registry import AdapterError, AdapterSettings
from services.channels.settings import ChannelSettings
from services.channels.smtp_capture import SmtpCapture
from services.runtime.tansu import free_port
from services.stack import build_adapters
from tests.integration.channels.channels_support import NOW, email, sms

LOGIN = {"parley": "correct horse battery staple"}


class _Fixed:
    def now(self) -> datetime:
        return NOW


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def relay_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def settings(tmp_path: Path, **fields: Any) -> ChannelSettings:
    return ChannelSettings.model_validate(
        {
            "letters_path": str(tmp_path / "letters.jsonl"),
            "console_dir": str(tmp_path / "console"),
            **fields,
        }
    )


def failed_logins(capture: SmtpCapture) -> int:
    assert capture.logins is not None
    return capture.logins.failed


def relay(capture: SmtpCapture, **fields: Any) -> dict[str, Any]:
    return {"smtp_host": capture.hostname, "smtp_port": capture.port, **fields}


async def send_through_submission(
    capture: SmtpCapture, tmp_path: Path, attempt_id: str, **login: Any
) -> SendResult:
    """One email through the SMTP adapter `parley run` builds for STARTTLS and ``login``."""
    chosen = settings(
        tmp_path, **relay(capture, smtp_security="starttls", smtp_username="parley", **login)
    )
    return await build_adapters(chosen, _Fixed())[Channel.EMAIL].send(email(attempt_id))


async def test_email_reaches_a_submission_relay_over_starttls_with_a_login(
    relay_tls: ssl.SSLContext, ca_file: str, tmp_path: Path
) -> None:
    """STARTTLS, the relay's certificate checked against the configured CA, then AUTH: the
    message is accepted and arrives once."""
    async with SmtpCapture(tls_context=relay_tls, logins=LOGIN) as capture:
        result = await send_through_submission(
            capture,
            tmp_path,
            "att-relay-1",
            smtp_password=LOGIN["parley"],
            smtp_ca_file=ca_file,
        )

    assert result.outcome is OutcomeKind.ACCEPTED
    assert capture.count("att-relay-1") == 1
    assert failed_logins(capture) == 0


async def test_a_wrong_password_is_a_refusal_and_nothing_is_sent(
    relay_tls: ssl.SSLContext, ca_file: str, tmp_path: Path
) -> None:
    """The relay answers 535 to the login: nothing delivered, and the relay counts as unavailable
    (a chain's next adapter may send), without a retry that could lock the account."""
    async with SmtpCapture(tls_context=relay_tls, logins=LOGIN) as capture:
        result = await send_through_submission(
            capture,
            tmp_path,
            "att-relay-2",
            smtp_password="wrong",
            smtp_ca_file=ca_file,
        )

    assert result.outcome is OutcomeKind.FAILED
    assert result.detail == "unavailable:smtp_login_refused_535"
    assert capture.messages == []
    # Refused, not retried: one try per mechanism the relay offers (LOGIN and PLAIN), no more.
    assert failed_logins(capture) == 2


async def test_a_relay_whose_certificate_is_not_trusted_gets_no_password(
    relay_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    """Without the private CA the certificate does not verify: the connection stops before AUTH,
    so the password never travels, and the attempt fails as the relay being unavailable."""
    async with SmtpCapture(tls_context=relay_tls, logins=LOGIN) as capture:
        result = await send_through_submission(
            capture,
            tmp_path,
            "att-relay-3",
            smtp_password=LOGIN["parley"],
        )

    assert result.outcome is OutcomeKind.FAILED
    assert result.detail.startswith("unavailable:")
    assert capture.messages == []
    assert failed_logins(capture) == 0


async def test_plain_smtp_to_a_relay_that_requires_starttls_is_refused(
    relay_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    """The default (no TLS) against a submission relay: refused before any mail, not sent in
    clear."""
    async with SmtpCapture(tls_context=relay_tls) as capture:
        chosen = settings(tmp_path, **relay(capture))
        result = await build_adapters(chosen, _Fixed())[Channel.EMAIL].send(email("att-relay-4"))

    assert result.outcome is OutcomeKind.FAILED
    assert capture.messages == []


async def test_a_failover_chain_from_settings_sends_through_the_next_when_the_first_is_down(
    tmp_path: Path,
) -> None:
    """`sms_adapter = "twilio-sms>console-sms"`: nothing listens at the vendor's address, so
    the text goes to the console adapter, which records it once."""
    chosen = settings(
        tmp_path,
        vendor_base_url=f"http://127.0.0.1:{free_port()}",
        sms_adapter="twilio-sms>console-sms",
    )
    adapter = build_adapters(chosen, _Fixed())[Channel.SMS]

    result = await adapter.send(sms("att-chain-1"))

    assert isinstance(adapter, FailoverAdapter)
    assert result.outcome is OutcomeKind.ACCEPTED
    assert result.vendor == "console"
    written = (tmp_path / "console" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["attempt_id"] for line in written] == ["att-chain-1"]


def test_the_default_settings_build_the_vendors_the_deployment_expects(tmp_path: Path) -> None:
    """Unset, each channel keeps the adapter `parley run` always used."""
    built = build_adapters(settings(tmp_path), _Fixed())

    assert {channel: adapter.vendor for channel, adapter in built.items()} == {
        Channel.SMS: "twilio",
        Channel.CALL: "twilio",
        Channel.EMAIL: "smtp",
        Channel.LETTER: "letter-file",
    }


def test_an_adapter_for_another_channel_is_refused_at_start(tmp_path: Path) -> None:
    """An email adapter named for texts, even second in a chain, would fail every text."""
    with pytest.raises(AdapterError, match="'console-email' serves email, not sms"):
        build_adapters(settings(tmp_path, sms_adapter="twilio-sms>console-email"), _Fixed())


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"sms_adapter": "twilio-smss"}, "unknown adapter 'twilio-smss'"),
        ({"email_adapter": "smtp>"}, "has an empty name"),
        ({"smtp_username": "parley"}, "set together, or neither"),
        (
            {"smtp_username": "parley", "smtp_password": "x"},
            "a login needs smtp_security starttls or tls",
        ),
        ({"smtp_security": "ssl"}, "smtp_security"),
        ({"smtp_security": "starttls", "smtp_ca_file": "/no/such/ca.pem"}, "no CA certificates"),
        ({"smtp_ca_file": "/no/such/ca.pem"}, "a CA file needs smtp_security starttls or tls"),
    ],
)
def test_settings_that_cannot_send_are_refused(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        ChannelSettings.model_validate(fields)


def test_the_smtp_password_is_kept_out_of_the_settings_repr() -> None:
    chosen = ChannelSettings.model_validate(
        {"smtp_username": "parley", "smtp_password": "hunter2", "smtp_security": "tls"}
    )

    assert "hunter2" not in repr(chosen)
    assert "hunter2" not in str(chosen.model_dump())


def test_a_private_ca_file_that_is_not_certificates_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")

    with pytest.raises(ValueError, match="no CA certificates load from it"):
        ChannelSettings.model_validate({"smtp_security": "tls", "smtp_ca_file": str(junk)})


def test_the_vendor_rate_limit_binds_the_vendor_accounts_adapters_only(tmp_path: Path) -> None:
    """The bucket is the vendor account's: its texts and calls share it, a fallback elsewhere
    in a chain does not take from it, and neither does an adapter of another vendor."""
    chosen = settings(
        tmp_path,
        vendor_rate_per_s=1,
        sms_adapter="twilio-sms>console-sms",
        call_adapter="console-call",
    )

    built = build_adapters(chosen, _Fixed())

    sms_chain = built[Channel.SMS]
    assert isinstance(sms_chain, FailoverAdapter)
    first, fallback = sms_chain.adapters
    assert isinstance(first, RateLimited)
    assert not isinstance(fallback, RateLimited)
    assert not isinstance(built[Channel.CALL], RateLimited)
    assert not isinstance(built[Channel.EMAIL], RateLimited)


def test_texts_and_calls_at_the_vendor_account_share_one_bucket(tmp_path: Path) -> None:
    built = build_adapters(settings(tmp_path, vendor_rate_per_s=1), _Fixed())

    texts, calls = built[Channel.SMS], built[Channel.CALL]
    assert isinstance(texts, RateLimited)
    assert isinstance(calls, RateLimited)
    assert texts.bucket is calls.bucket


def test_a_plugin_that_cannot_be_built_is_one_reason_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose factory needs an option nobody set: refused at start, naming the reason."""

    def needs_key(options: AdapterSettings) -> ChannelAdapter:
        raise KeyError("acme_api_key")

    monkeypatch.setitem(registry.BUILT_INS, "acme-sms", needs_key)

    with pytest.raises(AdapterError, match="'acme-sms' could not be built: 'acme_api_key'"):
        build_adapters(settings(tmp_path, sms_adapter="acme-sms"), _Fixed())
