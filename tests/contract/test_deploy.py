"""deploy/ cannot run here (no Docker engine), so keep it consistent with the code instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.channels.settings import ChannelSettings
from services.gateway.settings import GatewaySettings
from services.orchestrator.settings import OrchestratorSettings
from services.stack import SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FIELDS = {
    name.upper()
    for cls in (OrchestratorSettings, ChannelSettings, GatewaySettings)
    for name in cls.model_fields
}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def test_every_service_runs_with_a_real_cli_command() -> None:
    """Each Parley service in compose is started with `run --service <known service>`."""
    services = _compose()["services"]

    commands = {name: s["command"] for name, s in services.items() if "command" in s}

    assert commands["topics"] == ["topics", "create"]
    assert {c[2] for n, c in commands.items() if n != "topics"} == set(SERVICES)


def test_every_parley_variable_in_compose_is_a_real_setting() -> None:
    """A typo in an env var name would be silently ignored by the service: not here."""
    for name, service in _compose()["services"].items():
        for var in service.get("environment", {}):
            if var.startswith("PARLEY_"):
                assert var.removeprefix("PARLEY_") in FIELDS, f"{name}: unknown setting {var}"


def test_the_image_installs_from_the_lock_file() -> None:
    """Production installs exactly what the tests ran against."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    assert "--require-hashes -r requirements.lock" in dockerfile
