"""Delivers the simulator's signed webhooks (status callbacks, inbound SMS) over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import structlog

from services.channels.simulator.vendor_logic import sign

log = structlog.get_logger()


class CallbackDispatcher:
    """Posts form-encoded, ``X-Twilio-Signature``-signed webhooks; keeps track of pending ones so
    tests can ``drain()`` and shutdown can cancel them."""

    def __init__(self, auth_token: Callable[[], str], on_sent: Callable[[], None]) -> None:
        self._auth_token = auth_token
        self._on_sent = on_sent
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _http(self) -> httpx.AsyncClient:
        # Created lazily so it binds to the loop that serves the simulator.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        return self._client

    async def post(self, url: str, params: dict[str, str]) -> int:
        """Sign and post one webhook now; returns the receiver's status (0 if unreachable)."""
        items = list(params.items())
        headers = {"X-Twilio-Signature": sign(url, items, self._auth_token())}
        try:
            response = await self._http().post(url, data=params, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("sim.callback_failed", error=type(exc).__name__)
            return 0
        self._on_sent()
        return response.status_code

    def schedule(self, url: str, batch: list[dict[str, str]], delay_s: float) -> None:
        """Post ``batch`` in order, ``delay_s`` before each one, in the background."""

        async def run() -> None:
            for params in batch:
                await asyncio.sleep(delay_s)
                await self.post(url, params)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every scheduled callback has been posted."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
