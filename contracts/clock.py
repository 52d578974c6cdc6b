"""Simulation clock ticks: advance event time on one partition (demo and tests only)."""

from __future__ import annotations

from pydantic import AwareDatetime

from contracts._base import Message


class ClockTicked(Message):
    TYPE = "clock.ticked"
    now: AwareDatetime
