"""Run an ASGI app under uvicorn inside the current event loop, on a real loopback socket.

Used by tests, the demo and the all-in-one process. The socket is bound *before* uvicorn starts,
so the caller learns the real port even when it asked for port 0, and can even build the app
with its own public URL first (see :func:`bind_socket`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator

import uvicorn
from starlette.types import ASGIApp

__all__ = ["bind_socket", "serve_asgi"]


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class _EmbeddedServer(uvicorn.Server):
    # The host process owns signal handling; an embedded server must not steal SIGINT/SIGTERM.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    sock: socket.socket | None = None,
    graceful_shutdown_s: int = 1,
) -> AsyncIterator[str]:
    """Serve ``app`` until the block exits; yields its base URL, e.g. ``http://127.0.0.1:53211``.

    Pass ``sock`` (from :func:`bind_socket`) to serve on a socket bound earlier; otherwise one is
    bound to ``host:port``. Shutdown waits at most ``graceful_shutdown_s`` for open requests.
    """
    own_socket = sock is None
    sock = sock or bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        log_config=None,  # never reconfigure the host's logging
        access_log=False,  # access logs would carry query strings; keep PII out (P7)
        lifespan="auto",
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise the start-up failure
                raise RuntimeError("ASGI server stopped during start-up")
            await asyncio.sleep(0.005)
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        try:
            await task
        finally:
            if own_socket:
                sock.close()
