"""Forked audit children never outlive their parent, whatever stops it (ADR 0009)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# A parent that forks three children, as run_audit does before the ledger's size is known,
# and dies (as by SIGKILL: no clean-up runs) before giving them anything to do.
_PARENT = """
import os
from services.audit.shards import Child

children = [Child("fork") for _ in range(3)]
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
def test_children_left_waiting_exit_when_their_parent_dies() -> None:
    parent = subprocess.run(
        [sys.executable, "-c", _PARENT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    pids = [int(p) for p in parent.stdout.split()]
    assert len(pids) == 3

    deadline = time.monotonic() + 30  # a liveness bound, not a speed: they exit at once
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not [p for p in pids if _alive(p)]
