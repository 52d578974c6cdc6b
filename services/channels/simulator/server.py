"""Run the vendor simulator on a loopback port: ``async with serve_simulator(sim) as url``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.channels.simulator.app import VendorSimulator
from services.runtime.http import serve_asgi

__all__ = ["serve_simulator"]


@asynccontextmanager
async def serve_simulator(
    simulator: VendorSimulator, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve ``simulator`` until the block exits; yields its base URL. Stopping it is how a test
    makes the vendor "dead" (connection refused)."""
    async with serve_asgi(simulator.app, host=host, port=port) as base_url:
        try:
            yield base_url
        finally:
            # Stalled "hang" requests would otherwise hold up the server's graceful shutdown.
            simulator.release_hangs()
