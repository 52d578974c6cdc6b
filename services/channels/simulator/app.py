"""A Twilio-style SMS/voice vendor on real HTTP: faults, idempotency, signed callbacks, stats.

Routes: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``.../Calls.json`` (basic auth,
``I-Twilio-Idempotency-Token``), ``GET /_sim/stats``, ``POST /_sim/config``, ``POST /_sim/reset``,
``POST /_sim/inbound`` ({from, to, body}).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from services.channels.simulator import vendor_logic
from services.channels.simulator.callbacks import CallbackDispatcher
from services.channels.simulator.config import Route, SimConfig, next_reply
from services.channels.simulator.ledger import Ledger, Resource, to_hash

__all__ = ["VendorSimulator"]

log = structlog.get_logger()
_CONTENT_FIELD: dict[Route, str] = {"messages": "Body", "calls": "Twiml"}


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "message": message, "status": status, "more_info": ""}
    return JSONResponse(body, status_code=status, headers=headers)


class VendorSimulator:
    """The simulated vendor. ``app`` is the ASGI app; the rest is the test/demo control surface."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.ledger = Ledger()
        self.callbacks = CallbackDispatcher(lambda: self.config.auth_token, self._count_callback)
        self._released = asyncio.Event()
        self.app = Starlette(
            routes=[
                HttpRoute(
                    "/2010-04-01/Accounts/{account}/Messages.json",
                    self._messages,
                    methods=["POST"],
                ),
                HttpRoute(
                    "/2010-04-01/Accounts/{account}/Calls.json", self._calls, methods=["POST"]
                ),
                HttpRoute("/_sim/stats", self._stats, methods=["GET"]),
                HttpRoute("/_sim/config", self._configure, methods=["POST"]),
                HttpRoute("/_sim/reset", self._reset, methods=["POST"]),
                HttpRoute("/_sim/inbound", self._inbound, methods=["POST"]),
            ],
            lifespan=self._lifespan,
        )

    # -- control surface -------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Replace the given config fields (validated), e.g. ``configure(scripts={...})``."""
        self.config = SimConfig.model_validate({**self.config.model_dump(), **changes})

    def stats(self) -> dict[str, Any]:
        return self.ledger.stats()

    def release_hangs(self) -> None:
        """Let every request stalled by a ``hang`` reply finish now (used before shutdown)."""
        # Wake the current waiters, and arm a fresh event so a restarted simulator hangs again.
        self._released.set()
        self._released = asyncio.Event()

    async def drain(self) -> None:
        """Wait until all scheduled status callbacks have been posted."""
        await self.callbacks.drain()

    async def send_inbound(self, from_: str, to: str, body: str) -> int:
        """Post a signed inbound-SMS webhook to ``config.inbound_url``; returns its HTTP status."""
        if not self.config.inbound_url:
            raise RuntimeError("SimConfig.inbound_url is not set")
        self.ledger.inbound_sent += 1
        keyword = vendor_logic.opts_out(body) if self.config.stop_blocks else None
        if keyword is not None:  # the vendor acts on it whether or not the webhook gets through
            self.ledger.keyword(from_, to, keyword)
        sid = "SM" + vendor_logic.digest("inbound", str(self.ledger.inbound_sent), from_, body)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.config.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "ApiVersion": "2010-04-01",
        }
        return await self.callbacks.post(self.config.inbound_url, params)

    async def aclose(self) -> None:
        self.release_hangs()
        await self.callbacks.aclose()

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()

    def _count_callback(self) -> None:
        self.ledger.callbacks_sent += 1

    # -- vendor API ------------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        return await self._create(request, "messages")

    async def _calls(self, request: Request) -> Response:
        return await self._create(request, "calls")

    def _authorised(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.config.account_sid) and hmac.compare_digest(
            password, self.config.auth_token
        )

    async def _create(self, request: Request, route: Route) -> Response:
        self.ledger.saw_request(route)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        if request.path_params["account"] != self.config.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        content_field = _CONTENT_FIELD[route]
        if not form.get("To") or not form.get("From") or not form.get(content_field):
            return _error(400, 21604, f"'To', 'From' and '{content_field}' are required")

        reply = next_reply(self.config, route)
        if reply.status >= 300:
            log.info("sim.fault", route=route, status=reply.status)
            headers = (
                {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else None
            )
            return _error(
                reply.status, 20500 if reply.status >= 500 else 21000, "scripted", headers
            )

        token = request.headers.get("i-twilio-idempotency-token", "")
        resource = self.ledger.existing(route, token)
        if resource is not None:
            log.info("sim.replayed", route=route, sid=resource.sid)
            return JSONResponse(resource.as_json(self.config.account_sid), status_code=201)
        # After the replay: a message the vendor took before the person texted STOP was sent.
        if (
            route == "messages"
            and self.config.stop_blocks
            and self.ledger.refuses(form["To"], form["From"])
        ):
            log.info("sim.opted_out", to_hash=to_hash(form["To"]))
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")

        resource = self._accept(route, form, token)
        if reply.hang:
            # Accepted and counted, but the answer never arrives in time: the client sees a
            # read timeout after its request was received.
            with suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), timeout=self.config.hang_s)
        return JSONResponse(resource.as_json(self.config.account_sid), status_code=reply.status)

    def _accept(self, route: Route, form: dict[str, str], token: str) -> Resource:
        serial = str(len(self.ledger.resources))
        prefix = "SM" if route == "messages" else "CA"
        resource = Resource(
            route=route,
            sid=prefix + vendor_logic.digest(route, token or serial, self.config.account_sid),
            to=form["To"],
            from_=form["From"],
            token=token,
            status_callback=form.get("StatusCallback", ""),
            content=form[_CONTENT_FIELD[route]],
            created_at=datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        )
        self.ledger.accept(resource)
        log.info("sim.accepted", route=route, sid=resource.sid, to_hash=to_hash(resource.to))
        if resource.status_callback and self.config.callbacks_enabled:
            self._schedule_callbacks(resource)
        return resource

    def _schedule_callbacks(self, resource: Resource) -> None:
        key = resource.token or resource.sid
        if resource.route == "messages":
            batch = vendor_logic.sms_statuses(self.config, resource.to, key)
            sid_fields = {"MessageSid": resource.sid, "SmsSid": resource.sid}
        else:
            batch = vendor_logic.call_statuses(self.config, resource.to, key)
            sid_fields = {"CallSid": resource.sid}
        common = {
            **sid_fields,
            "AccountSid": self.config.account_sid,
            "From": resource.from_,
            "To": resource.to,
            "ApiVersion": "2010-04-01",
        }
        batch = vendor_logic.arrange(
            [{**common, **fields} for fields in batch],
            reorder=self.config.reorder_callbacks,
            duplicate=self.config.duplicate_callbacks,
        )
        self.callbacks.schedule(resource.status_callback, batch, self.config.callback_delay_s)

    # -- control API -----------------------------------------------------------------------

    async def _stats(self, _request: Request) -> Response:
        return JSONResponse(self.stats())

    async def _configure(self, request: Request) -> Response:
        try:
            self.configure(**(await request.json()))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.config.model_dump(mode="json"))

    async def _reset(self, _request: Request) -> Response:
        self.ledger.reset()
        return Response(status_code=204)

    async def _inbound(self, request: Request) -> Response:
        payload = await request.json()
        if not self.config.inbound_url:
            return JSONResponse({"error": "inbound_url not configured"}, status_code=409)
        status = await self.send_inbound(
            str(payload["from"]), str(payload["to"]), str(payload["body"])
        )
        return JSONResponse({"webhook_status": status})
