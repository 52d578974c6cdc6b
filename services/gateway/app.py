"""The inbound gateway: signed vendor webhooks in, outcome messages out to an OutcomeSink.

    POST /webhooks/{vendor}/status?attempt=..&party=..[&loan=..][&borrower=..]
                                            delivery receipts, call dispositions (routing.py)
    POST /webhooks/{vendor}/inbound         texts from people (e.g. STOP)
    GET  /health                            liveness: the process serves requests
    GET  /ready                             readiness: 200 once the directory has caught up

Every webhook is authenticated (X-Twilio-Signature over ``public_base_url`` + path + query) before
anything in it is used; a bad or missing signature emits nothing. Opt-out words are *not*
interpreted here: that is policy data, applied by the orchestrator.

While the directory is still replaying (after a start or restart), a webhook it cannot route yet
is answered 503 + Retry-After, never acknowledged: the vendor redelivers it, so a STOP or a
receipt is not lost to the catch-up window (P3, P6). An inbound text waits for catch-up even when
some of its borrowers are known, since others sharing the number may not be read yet. A receipt
naming a debt the directory has not read is answered the same way after catch-up too (the
follower's live lag; routing.py explains why), logged as ``gateway.receipt_loan_not_read``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl

import structlog
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from contracts import Message
from contracts.outcomes import ContactOutcomeRecorded, InboundMessageReceived
from services.channels.ports import OutcomeSink
from services.gateway.dedupe import SeenKeys, report_key
from services.gateway.directory import Directory
from services.gateway.receipts import read_receipt
from services.gateway.routing import Unrouted, route_receipt
from services.gateway.signing import verify_signature

__all__ = ["MAX_BODY_BYTES", "RETRY_AFTER_SECONDS", "create_gateway_app"]

log = structlog.get_logger()

MAX_BODY_BYTES = 64 * 1024
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
RETRY_AFTER_SECONDS = 5  # the directory replays in seconds; ask the vendor to come back then


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Reject(413, "body too large")
    body = bytearray()
    async for chunk in request.stream():  # also bounds bodies that lie about their length
        body.extend(chunk)
        if len(body) > limit:
            raise _Reject(413, "body too large")
    return bytes(body)


def _retry_later(reason: str = "directory catching up; retry") -> Response:
    """Not acknowledged: the vendor keeps the webhook and posts it again."""
    return PlainTextResponse(
        reason,
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class _Gateway:
    def __init__(
        self,
        *,
        sink: OutcomeSink,
        directory: Directory,
        auth_tokens: dict[str, str],
        clock: Callable[[], datetime],
        public_base_url: str,
        max_body_bytes: int,
        dedupe_capacity: int,
    ) -> None:
        self._sink = sink
        self._directory = directory
        self._tokens = dict(auth_tokens)
        self._clock = clock
        self._base_url = public_base_url.rstrip("/")
        self._max_body = max_body_bytes
        self._seen = SeenKeys(dedupe_capacity)

    async def _authenticated_form(self, request: Request) -> tuple[str, dict[str, str]]:
        vendor = request.path_params["vendor"]
        token = self._tokens.get(vendor)
        if token is None:
            raise _Reject(404, "unknown vendor")
        body = await _read_body(request, self._max_body)
        try:
            text = body.decode("utf-8")
            params = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except (UnicodeDecodeError, ValueError):
            raise _Reject(400, "body is not form-encoded") from None
        # Vendors sign the URL they were given, so rebuild it from the public base, not Host.
        query = request.url.query
        url = f"{self._base_url}{request.url.path}" + (f"?{query}" if query else "")
        if not verify_signature(url, params, token, request.headers.get("x-twilio-signature")):
            raise _Reject(401, "bad signature")
        return vendor, dict(params)

    async def _emit_once(self, key: tuple[str, str, str], batch: list[tuple[Message, str]]) -> bool:
        if not self._seen.claim(key):
            return False
        try:
            for message, borrower_id in batch:
                await self._sink.emit(message, borrower_id=borrower_id)
        except BaseException:
            self._seen.release(key)  # the vendor will retry; let that retry through
            raise
        return True

    async def status(self, request: Request) -> Response:
        vendor, form = await self._authenticated_form(request)
        query = request.query_params
        attempt_id, party_id = query.get("attempt", ""), query.get("party", "")
        loan_id, named_borrower = query.get("loan", ""), query.get("borrower", "")
        if not (_OPAQUE_ID.match(attempt_id) and _OPAQUE_ID.match(party_id)):
            raise _Reject(400, "attempt and party query parameters required")
        if any(value and not _OPAQUE_ID.match(value) for value in (loan_id, named_borrower)):
            raise _Reject(400, "loan and borrower must be opaque ids")
        try:
            receipt = read_receipt(form)
        except ValueError as exc:
            raise _Reject(400, str(exc)) from None
        if receipt is None:
            return Response(status_code=204)  # an interim state: nothing to record
        borrower_id = route_receipt(
            self._directory, party_id=party_id, loan_id=loan_id, borrower_id=named_borrower
        )
        if borrower_id is Unrouted.NOT_READ_YET:
            # Maybe a debt or party the replay has not reached yet: do not let the vendor drop it.
            log.info("gateway.directory_not_ready", attempt_id=attempt_id, vendor=vendor)
            return _retry_later()
        if borrower_id is Unrouted.LOAN_NOT_READ_YET:
            # Caught up, yet the debt in the signed URL is not on file: almost always the
            # follower's live lag, so retry rather than guess by the party (routing.py). A
            # warning, as a debt that never turns up loses the receipt when the vendor gives up.
            log.warning(
                "gateway.receipt_loan_not_read",
                attempt_id=attempt_id,
                vendor=vendor,
                loan_id=loan_id,
                reason=borrower_id.value,
            )
            return _retry_later("debt not read yet; retry")
        if isinstance(borrower_id, Unrouted):
            # Known gap (ADR 0004): no borrower id, no partition key. Accept so the vendor stops
            # retrying, and leave a trace; the attempt keeps the outcome it had.
            log.warning(
                "gateway.unrouted_receipt",
                attempt_id=attempt_id,
                vendor=vendor,
                reason=borrower_id.value,
            )
            return Response(status_code=202)
        try:
            message = ContactOutcomeRecorded(
                attempt_id=attempt_id,
                channel=receipt.channel,
                outcome=receipt.outcome,
                vendor=vendor,
                external_id=receipt.external_id,
                reported_at=self._clock(),
                detail=receipt.detail,
            )
        except ValidationError:
            raise _Reject(400, "receipt does not fit ContactOutcomeRecorded") from None
        fresh = await self._emit_once(report_key(message), [(message, borrower_id)])
        event = "gateway.receipt" if fresh else "gateway.duplicate_receipt"
        log.info(event, attempt_id=attempt_id, vendor=vendor, outcome=receipt.outcome.value)
        return Response(status_code=204)

    async def inbound(self, request: Request) -> Response:
        vendor, form = await self._authenticated_form(request)
        external_id = form.get("MessageSid", "")
        if not external_id:
            raise _Reject(400, "MessageSid required")
        try:
            message = InboundMessageReceived(
                from_number=form.get("From", ""),
                to_number=form.get("To", ""),
                body=form.get("Body", ""),
                vendor=vendor,
                external_id=external_id,
                received_at=self._clock(),
            )
        except ValidationError:
            raise _Reject(400, "inbound message is malformed") from None
        if not self._directory.ready():
            # Not even a partial emit: a guarantor sharing the number may not be read yet, and
            # a retry of a half-emitted text would be dropped as a duplicate (P6).
            log.info("gateway.directory_not_ready", vendor=vendor, external_id=external_id)
            return _retry_later()
        routed = {
            borrower_id: message
            for borrower_id, _party_id in self._directory.parties_for_number(message.from_number)
        }
        if not routed:
            log.warning("gateway.unrouted_inbound", vendor=vendor, external_id=external_id)
        else:
            # Every borrower's copy revokes the number; one confirms it (TC-4): the least id of
            # those with a debt on file (a borrower with none has nothing to confirm it about),
            # not the first learned, so that a retry after a restart marks the same one.
            confirming = min(
                (b for b in routed if self._directory.has_debt(b)), default=min(routed)
            )
            batch: list[tuple[Message, str]] = [
                (m.model_copy(update={"confirms_opt_out": b == confirming}), b)
                for b, m in routed.items()
            ]
            fresh = await self._emit_once(report_key(batch[0][0]), batch)
            event = "gateway.inbound" if fresh else "gateway.duplicate_inbound"
            log.info(event, vendor=vendor, external_id=external_id, borrowers=len(routed))
        return Response(_EMPTY_TWIML, media_type="text/xml")

    async def readiness(self, _request: Request) -> Response:
        """503 until the directory has caught up (again, after its follower restarted), then 200.

        Kept apart from ``/health`` on purpose: an orchestrator restarts a process that fails
        liveness, and a restart begins the replay again, so a liveness check on the directory
        would keep a gateway over a large topic restarting for ever. Readiness only holds
        traffic back, which is right while webhooks would be answered "retry later" anyway.
        """
        if self._directory.ready():
            return JSONResponse({"status": "ready"})
        return JSONResponse(
            {"status": "catching_up"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


async def _health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _rejected(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Reject)
    return PlainTextResponse(exc.reason, status_code=exc.status)


def create_gateway_app(
    *,
    sink: OutcomeSink,
    directory: Directory,
    auth_tokens: dict[str, str],
    clock: Callable[[], datetime],
    public_base_url: str,
    max_body_bytes: int = MAX_BODY_BYTES,
    dedupe_capacity: int = 100_000,
) -> Starlette:
    """Build the gateway. ``auth_tokens`` maps vendor name (the path segment) to the token that
    signs its webhooks; ``public_base_url`` is the base URL vendors call, exactly as they sign it."""
    gateway = _Gateway(
        sink=sink,
        directory=directory,
        auth_tokens=auth_tokens,
        clock=clock,
        public_base_url=public_base_url,
        max_body_bytes=max_body_bytes,
        dedupe_capacity=dedupe_capacity,
    )
    return Starlette(
        routes=[
            Route("/webhooks/{vendor}/status", gateway.status, methods=["POST"]),
            Route("/webhooks/{vendor}/inbound", gateway.inbound, methods=["POST"]),
            Route("/health", _health, methods=["GET"]),
            Route("/ready", gateway.readiness, methods=["GET"]),
        ],
        exception_handlers={_Reject: _rejected},
    )
