"""The embedded broker does not outlive the process that started it: a CLI or test run that is
SIGKILLed never runs its clean-up, and a memory-only broker left behind only burns a core."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")

_STARTER = """
import sys, time
from services.runtime.tansu import EmbeddedBroker
broker = EmbeddedBroker()
broker.start()
print(broker.port, flush=True)
time.sleep(600)
"""


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


def test_a_killed_starter_takes_its_broker_with_it() -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert starter.stdout is not None
    port = int(starter.stdout.readline())
    assert _accepts(port)

    os.kill(starter.pid, signal.SIGKILL)
    starter.wait(10)
    deadline = time.monotonic() + 10
    while _accepts(port) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not _accepts(port)
