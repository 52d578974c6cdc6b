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
from services.channels.ports import SENDING_FOR, SendResult
from services.channels.retry import CircuitBreaker, RetryPolicy, TransientError, parse_retry_after

# 408 (request timeout) and 429 (rate limit) are rejections: the vendor refused the request and
# created nothing, so they are safe to retry and to fail over.
_REJECTED = {408, 429}
# 409 says a request with this idempotency token is still in flight, and a 5xx may come from a
# proxy or an API that had already taken the message: ambiguous, like a read timeout.
_IN_FLIGHT = 409
# Raised before any byte of the request left: always safe to retry, nothing reached the vendor.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# "Attempt to send to unsubscribed recipient": the person texted STOP to this sender and the
# vendor blocks it until they text START. A STOP whose webhook never reached us (or reached no
# borrower's file) still binds us (TC-2): the outcome says so, and the orchestrator revokes.
_OPTED_OUT_CODE = "21610"


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
        honours_idempotency: bool = False,
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
        # Off by default: whether Twilio's REST API dedupes on I-Twilio-Idempotency-Token is
        # unverified (Twilio documents that header on the webhooks it sends). See ADR 0004.
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
        """Where the vendor reports on this attempt; only opaque ids in the query (P7).

        The gateway keys the report by borrower id: the URL names the borrower the dispatcher is
        sending for (``SENDING_FOR``; the task does not carry it), and the debt, which has one
        borrower, for a gateway that must look it up. The vendor signs the whole URL, so the
        gateway can trust what the query says (services/gateway/routing.py).
        """
        fields = {"attempt": task.attempt_id, "party": task.party_id, "loan": task.loan_id}
        borrower = SENDING_FOR.get()
        query = urlencode(fields if borrower is None else {**fields, "borrower": borrower})
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
                # The request may have left: retried only if the vendor honours the token.
                detail = f"no_response:{type(exc).__name__}"
                raise TransientError(detail, ambiguous=True) from None
            return self._classify(response)

        return await deliver(
            vendor=self._vendor,
            attempt_id=task.attempt_id,
            not_after=task.not_after,
            clock=self._clock,
            policy=self._retry,
            breaker=self._breaker,
            once=once,
            honours_idempotency=self._honours_idempotency,
        )

    def _classify(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if status >= 500 or status == _IN_FLIGHT or status in _REJECTED:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            ambiguous = status not in _REJECTED
            raise TransientError(f"http_{status}", retry_after=retry_after, ambiguous=ambiguous)
        body = _json(response)
        if 200 <= status < 300:
            return SendResult(
                self._vendor, OutcomeKind.ACCEPTED, external_id=str(body.get("sid", ""))
            )
        # Only the vendor's numeric error code: its message text may quote the number (P7).
        code = body.get("code", "")
        kind = (
            OutcomeKind.OPTED_OUT
            if self._channel is Channel.SMS and str(code) == _OPTED_OUT_CODE
            else OutcomeKind.FAILED
        )
        return SendResult(self._vendor, kind, detail=f"http_{status} code={code}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
