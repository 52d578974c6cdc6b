"""Email through any SMTP relay (aiosmtplib).

SMTP has no idempotency key, so only failures *before* the DATA phase, and definite 4xx
refusals, are retried. Once the message body has started to travel, a timeout, dropped
connection or unintelligible reply is OUTCOME_UNKNOWN and the message is never resent (P2).
The body already carries the opt-out text; nothing is rendered.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import structlog

from contracts.outcomes import OutcomeKind
from contracts.tasks import SendEmail, Task
from contracts.values import Channel
from events.envelope import derive_id
from services.channels.adapters._delivery import UNAVAILABLE, deliver
from services.channels.ports import SendResult
from services.channels.retry import CircuitBreaker, RetryPolicy, TransientError

__all__ = ["ATTEMPT_HEADER", "SmtpEmail", "build_message", "message_id_for"]

ATTEMPT_HEADER = "X-Parley-Attempt"

log = structlog.get_logger()


def _now() -> datetime:
    return datetime.now(UTC)


def message_id_for(attempt_id: str, domain: str) -> str:
    """Deterministic Message-ID: a resend of the same attempt would be recognisable downstream."""
    return f"<{derive_id('email', attempt_id)}@{domain}>"


def build_message(
    task: SendEmail, *, from_address: str, domain: str, now: datetime
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = task.to
    message["Subject"] = task.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id_for(task.attempt_id, domain)
    message[ATTEMPT_HEADER] = task.attempt_id
    message.set_content(task.body)
    return message


class SmtpEmail:
    """Sends :class:`SendEmail` tasks to one SMTP server."""

    def __init__(
        self,
        *,
        hostname: str,
        port: int,
        from_address: str,
        vendor: str = "smtp",
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        message_id_domain: str = "parley.invalid",
        use_tls: bool = False,
        start_tls: bool | None = False,
        username: str | None = None,
        password: str | None = None,
        cert_bundle: str | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._vendor = vendor
        self._from = from_address
        self._domain = message_id_domain
        self._retry = retry or RetryPolicy()
        self._breaker = breaker
        self._clock = clock
        self._password = password  # kept out of the partial below, whose repr shows its arguments
        self._new_session = functools.partial(
            aiosmtplib.SMTP,
            hostname=hostname,
            port=port,
            timeout=timeout_s,
            use_tls=use_tls,
            start_tls=start_tls,
            username=username,
            cert_bundle=cert_bundle,  # a private CA's certificates; None: the system's
        )

    @property
    def channel(self) -> Channel:
        return Channel.EMAIL

    @property
    def vendor(self) -> str:
        return self._vendor

    async def aclose(self) -> None:
        """Nothing to close: each send uses its own short SMTP session."""

    async def send(self, task: Task) -> SendResult:
        if not isinstance(task, SendEmail):
            return SendResult(
                self._vendor, OutcomeKind.FAILED, detail=f"unsupported task {task.TYPE}"
            )
        message = build_message(
            task, from_address=self._from, domain=self._domain, now=self._clock()
        )
        return await deliver(
            vendor=self._vendor,
            attempt_id=task.attempt_id,
            not_after=task.not_after,
            clock=self._clock,
            policy=self._retry,
            breaker=self._breaker,
            once=lambda: self._once(task.to, message),
        )

    async def _once(self, to: str, message: EmailMessage) -> SendResult:
        smtp = self._new_session(password=self._password)
        in_data = False
        try:
            await smtp.connect()  # with a username, logs in too
            await smtp.mail(self._from)
            await smtp.rcpt(to)
            in_data = True
            await smtp.data(message.as_bytes())
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()  # accepted already; a failed goodbye changes nothing
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The relay refused the login, before any mail: nothing was sent, so another vendor
            # may take the attempt. Not retried: a wrong password stays wrong, and repeated
            # tries can lock the account. Every email fails until the setting is mended: say so.
            log.warning("channel.smtp_login_refused", vendor=self._vendor, code=exc.code)
            detail = f"{UNAVAILABLE}smtp_login_refused_{exc.code}"
            return SendResult(self._vendor, OutcomeKind.FAILED, detail=detail)
        except aiosmtplib.SMTPResponseException as exc:
            # A definite reply, even to DATA: 4xx is "not accepted, try later", 5xx is "never".
            detail = f"smtp_{exc.code}"
            if 400 <= exc.code < 500:
                raise TransientError(detail) from None
            if 500 <= exc.code < 600:
                return SendResult(self._vendor, OutcomeKind.FAILED, detail=detail)
            # Anything else (a malformed or over-long reply, code -1, or an unexpected 2xx/3xx)
            # is no refusal. During DATA the server may have queued the message: unknown, and
            # never resent. Before DATA nothing was sent, so it is a plain transient failure.
            if in_data:
                return SendResult(self._vendor, OutcomeKind.OUTCOME_UNKNOWN, detail=detail)
            raise TransientError(detail) from None
        except aiosmtplib.SMTPRecipientsRefused:
            return SendResult(self._vendor, OutcomeKind.FAILED, detail="smtp_recipients_refused")
        except (aiosmtplib.SMTPException, OSError) as exc:
            detail = f"smtp:{type(exc).__name__}"
            if in_data:
                # The server may have queued the message; SMTP cannot dedupe a resend.
                return SendResult(self._vendor, OutcomeKind.OUTCOME_UNKNOWN, detail=detail)
            raise TransientError(detail) from None
        finally:
            smtp.close()
        return SendResult(self._vendor, OutcomeKind.ACCEPTED, external_id=message["Message-ID"])
