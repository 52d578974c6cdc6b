"""Forked audit children do not outlive a parent that dies without stopping them (ADR 0009):
neither those still waiting for their share nor those folding one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# A parent that forks three children, as run_audit does before the ledger's size is known,
# gives the first a share whose fold never ends and the others nothing yet, and dies as by
# SIGKILL: no clean-up runs.
_PARENT = """
import asyncio, os
from services.audit import shards

async def endless(job):
    await asyncio.sleep(3600)

shards.fold = endless  # inherited by the forked children
children = [shards.Child("fork") for _ in range(3)]
children[0].give(shards.AuditJob("127.0.0.1:9", None, 4, None, None, frozenset({0}), False))
print(" ".join(str(c.pid) for c in children), flush=True)
os._exit(0)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; it waits only to be reaped


@pytest.mark.skipif(sys.platform != "linux", reason="children are forked only on Linux")
def test_children_exit_when_their_parent_dies(tmp_path: Path) -> None:
    out = tmp_path / "pids"
    with out.open("w") as sink:  # a file, not a pipe: the parent's exit is not the children's
        subprocess.run(
            [sys.executable, "-c", _PARENT],
            cwd=ROOT,
            stdout=sink,
            timeout=60,
            check=True,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    pids = [int(p) for p in out.read_text().split()]
    assert len(pids) == 3
    try:
        deadline = time.monotonic() + 30  # a bound on liveness, not a speed: they exit at once
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)

        assert [p for p in pids if _alive(p)] == []
    finally:
        for pid in pids:  # a regression must not leave them behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
