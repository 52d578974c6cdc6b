"""The embedded broker does not outlive the process that started it: a CLI or test run that is
SIGKILLed never runs its clean-up, and a memory-only broker left behind only burns a core."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from services.runtime.tansu import EmbeddedBroker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")

_STARTER = """
import sys, time
from services.runtime.tansu import EmbeddedBroker
broker = EmbeddedBroker()
broker.start()
print(broker.port, broker.pid, flush=True)
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
    port, pid = (int(word) for word in starter.stdout.readline().split())
    try:
        assert _accepts(port)

        os.kill(starter.pid, signal.SIGKILL)
        starter.wait(10)
        deadline = time.monotonic() + 10
        while _accepts(port) and time.monotonic() < deadline:
            time.sleep(0.1)

        assert not _accepts(port)
    finally:  # if the broker did outlive its starter, do not leave it running
        starter.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_broker_started_from_a_thread_that_ends_keeps_running() -> None:
    """The parent-death signal follows the thread that forked: armed from a worker thread, the
    broker would die when that thread ends while the process still needs it."""
    started: list[EmbeddedBroker] = []
    worker = threading.Thread(target=lambda: started.append(_started()))
    worker.start()
    worker.join()
    broker = started[0]
    try:
        time.sleep(0.5)  # a signal on the thread's exit would have landed by now

        assert _accepts(broker.port)
    finally:
        broker.stop()


def _started() -> EmbeddedBroker:
    broker = EmbeddedBroker()
    broker.start()
    return broker
