"""Shared fixtures. One real broker per test session (never restarted mid-run, see
shared/reference/broker.md); every test gets its own topic namespace and group names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.topics import Topics
from services.runtime.admin import ensure_topics
from services.runtime.settings import CommonSettings
from services.runtime.tansu import EmbeddedBroker

PARTITIONS = 4


@pytest.fixture(autouse=True)
def _fail_stop_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services run in the test's process would end the whole run through fail_stop's
    os._exit, with no report: here it raises instead, and the test fails with the error."""

    def refuse(code: int) -> None:
        raise RuntimeError(f"fail_stop: the service would have exited with status {code}")

    monkeypatch.setattr("services.runtime.failstop._exit", refuse)


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set, else a tansu broker on a free loopback port."""
    configured = CommonSettings().kafka_bootstrap_servers
    if configured:
        yield configured
        return
    log = Path(tmp_path_factory.mktemp("broker")) / "tansu.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap_servers


@pytest.fixture
async def topics(bootstrap: str) -> Topics:
    """A fresh, provisioned topic namespace for one test."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    t = Topics(namespace)
    await ensure_topics(bootstrap, t, PARTITIONS)
    return t
