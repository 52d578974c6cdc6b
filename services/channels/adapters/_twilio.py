"""The HTTP half shared by Twilio-style SMS and voice adapters: auth, idempotency token,
status-callback URL, and how HTTP answers are classified."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from contracts.outcomes import OutcomeKind
from contracts.tasks import Task
from contracts.values import Channel
from services.channels.adapters._delivery import deliver
from services.channels.ports import SendResult
from services.channels.retry import CircuitBreaker, RetryPolicy, TransientError, parse_retry_after

# 408/409/429 are "try again": timeout, idempotent request still in flight, rate limit.
_RETRYABLE_4XX = {408, 409, 429}
# Raised before any byte of the request left: always safe to retry, nothing reached the vendor.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _now() -> datetime:
    return datetime.now(UTC)


class TwilioRestAdapter:
    """Base for :class:`TwilioSms` and :class:`TwilioVoice`; subclasses supply the form."""

    _channel: Channel
    _collection: str  # "Messages" or "Calls"

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        callback_base_url: str,
        vendor: str = "twilio",
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        honours_idempotency: bool = True,
        clock: Callable[[], datetime] = _now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._vendor = vendor
        self._account_sid = account_sid
        self._from = from_number
        self._callback_base = callback_base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._breaker = breaker
        # Only a vendor that dedupes on the idempotency token makes retrying an ambiguous
        # failure safe; otherwise the first ambiguous failure ends the attempt as unknown.
        self._honours_idempotency = honours_idempotency
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=(account_sid, auth_token),
            timeout=timeout_s,
            transport=transport,
        )

    @property
    def honours_idempotency(self) -> bool:
        """True when resending with the same attempt id cannot create a second message."""
        return self._honours_idempotency

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def vendor(self) -> str:
        return self._vendor

    async def aclose(self) -> None:
        await self._client.aclose()

    def status_callback(self, task: Task) -> str:
        """Where the vendor reports on this attempt; only opaque ids in the query (P7)."""
        query = urlencode({"attempt": task.attempt_id, "party": task.party_id})
        return f"{self._callback_base}/webhooks/{self._vendor}/status?{query}"

    def _form(self, task: Task) -> dict[str, str] | None:
        """The vendor form for ``task``, or None if this adapter cannot send that task type."""
        raise NotImplementedError

    async def send(self, task: Task) -> SendResult:
        form = self._form(task)
        if form is None:
            return SendResult(
                self._vendor, OutcomeKind.FAILED, detail=f"unsupported task {task.TYPE}"
            )
        url = f"/2010-04-01/Accounts/{self._account_sid}/{self._collection}.json"
        headers = {"I-Twilio-Idempotency-Token": task.attempt_id}

        async def once() -> SendResult:
            try:
                response = await self._client.post(url, data=form, headers=headers)
            except _NOT_SENT as exc:
                raise TransientError(f"connect:{type(exc).__name__}") from None
            except httpx.TransportError as exc:
                detail = f"no_response:{type(exc).__name__}"
                if self._honours_idempotency:
                    raise TransientError(detail, ambiguous=True) from None
                return SendResult(self._vendor, OutcomeKind.OUTCOME_UNKNOWN, detail=detail)
            return self._classify(response)

        return await deliver(
            vendor=self._vendor,
            attempt_id=task.attempt_id,
            not_after=task.not_after,
            clock=self._clock,
            policy=self._retry,
            breaker=self._breaker,
            once=once,
        )

    def _classify(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if status >= 500 or status in _RETRYABLE_4XX:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise TransientError(f"http_{status}", retry_after=retry_after)
        body = _json(response)
        if 200 <= status < 300:
            return SendResult(
                self._vendor, OutcomeKind.ACCEPTED, external_id=str(body.get("sid", ""))
            )
        # Only the vendor's numeric error code: its message text may quote the number (P7).
        code = body.get("code", "")
        return SendResult(self._vendor, OutcomeKind.FAILED, detail=f"http_{status} code={code}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
