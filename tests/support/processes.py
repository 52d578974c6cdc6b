"""Services as real OS processes, so tests can SIGKILL them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.pipeline import FAST


class ServiceProcess:
    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        self.service, self.env, self.log = service, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "run", "--service", self.service],
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no commits, no flushing."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def service_env(
    *,
    bootstrap: str,
    namespace: str,
    vendor_url: str,
    sid: str,
    token: str,
    gateway_url: str,
    smtp_host: str,
    smtp_port: int,
) -> dict[str, str]:
    """Environment for `parley run` subprocesses in simulated time, wired to the test's simulator,
    SMTP server and gateway."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PARLEY_NAMESPACE": namespace,
        "PARLEY_CLOCK": "topic",
        "PARLEY_LOG_FORMAT": "json",
        **{f"PARLEY_{k.upper()}": str(v) for k, v in FAST.items()},
        "PARLEY_VENDOR_BASE_URL": vendor_url,
        "PARLEY_VENDOR_ACCOUNT_SID": sid,
        "PARLEY_VENDOR_AUTH_TOKEN": token,
        "PARLEY_CALLBACK_BASE_URL": gateway_url,
        "PARLEY_SMTP_HOST": smtp_host,
        "PARLEY_SMTP_PORT": str(smtp_port),
    }
