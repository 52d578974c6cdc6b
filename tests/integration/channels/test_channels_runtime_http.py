"""serve_asgi: real port reported, clean start and stop."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.runtime.http import serve_asgi


async def _hello(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def test_serve_asgi_reports_the_bound_port_and_stops_cleanly() -> None:
    """Port 0 yields a real port that answers while open and refuses once stopped."""
    app = Starlette(routes=[Route("/", _hello)])

    async with serve_asgi(app, host="127.0.0.1", port=0) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        async with httpx.AsyncClient() as client:
            answer = await client.get(base_url)

    assert port > 0
    assert answer.text == "hello"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(base_url)
