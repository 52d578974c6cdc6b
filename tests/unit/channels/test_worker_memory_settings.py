"""The settings that bound a channel worker's memory and restore (ADR 0010): safe defaults, and
no value that would expire tasks inside the window the orchestrator gave them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.channels.app import Worker, create_app
from services.channels.engine import Horizon
from services.channels.settings import ChannelSettings
from services.orchestrator.core.decide import Context
from services.runtime.clock import SimClock, WallClock


def _dispatch_grace_s() -> float:
    [grace] = [f.default for f in dataclasses.fields(Context) if f.name == "dispatch_grace"]
    return float(grace.total_seconds())  # type: ignore[union-attr]


def test_the_defaults_are_an_hour_of_task_lifetime_and_ten_minutes_of_clock_skew() -> None:
    settings = ChannelSettings()

    assert (settings.task_lifetime_s, settings.clock_skew_margin_s) == (3600.0, 600.0)
    assert Horizon().task_lifetime.total_seconds() == settings.task_lifetime_s
    assert Horizon().clock_skew.total_seconds() == settings.clock_skew_margin_s


def test_the_task_lifetime_may_be_no_shorter_than_the_orchestrators_dispatch_grace() -> None:
    """Shorter, the worker would expire tasks still inside the window they were authorised for."""
    grace = _dispatch_grace_s()

    assert ChannelSettings(task_lifetime_s=grace).task_lifetime_s == grace
    with pytest.raises(ValidationError):
        ChannelSettings(task_lifetime_s=grace - 1)


def test_a_negative_clock_skew_margin_is_refused() -> None:
    with pytest.raises(ValidationError):
        ChannelSettings(clock_skew_margin_s=-1)


async def test_a_wall_clock_worker_bounds_its_restore_and_a_simulated_one_reads_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Record timestamps are wall time: a simulated clock's times cannot be compared with them."""
    made: list[Worker] = []

    class Noted(Worker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr("services.channels.app.Worker", Noted)
    for clock in ("wall", "topic"):
        settings = ChannelSettings.model_validate(
            {"clock": clock, "task_lifetime_s": 1800, "clock_skew_margin_s": 60}
        )
        create_app(settings, "127.0.0.1:9", {}, WallClock() if clock == "wall" else SimClock())

    wall, simulated = made
    assert wall.bound is not None
    assert wall.bound.group_id == "parley-channels"
    assert simulated.bound is None
    assert wall.dispatcher.horizon == Horizon(timedelta(minutes=30), timedelta(minutes=1))
