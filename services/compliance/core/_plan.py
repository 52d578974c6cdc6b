"""A policy compiled once per (jurisdictions, channel, purpose): the rules ``evaluate`` runs.

Which packs apply, which rules cannot concern the channel or purpose (their outcome is then a
constant, shared object), the windows and holidays of each pack and the counter kinds are pack
data, so they are worked out the first time a plan is needed. Evaluating then runs only the steps
whose outcome depends on the person, the history or the instant: the same rules in the same order,
with the same outcomes, counts and clear-time functions as reading the packs every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.decisions import RuleOutcome
from contracts.values import Channel, Purpose
from services.compliance.core import _steps, counters, localtime, schema
from services.compliance.core._local_steps import SCHEDULES_SIZE, local_time
from services.compliance.core._run import Step, outcome
from services.compliance.core.policy import ELSEWHERE, Policy


@dataclass(frozen=True, slots=True)
class Plan:
    """Steps in rule order: a tuple of constant outcomes is appended whole, a callable runs."""

    steps: tuple[tuple[RuleOutcome, ...] | Step, ...]
    confirmations: tuple[schema.ConfirmationRule, ...]  # TC-4 rules for this purpose
    # Every local-time constraint the steps add when the person states no inconvenient times.
    local: tuple[localtime.Constraint, ...]
    _schedules: dict[tuple[str, ...], localtime.Schedule] = field(default_factory=dict)

    def schedule(self, zones: tuple[str, ...]) -> localtime.Schedule:
        """``localtime.schedule(zones, self.local)``, kept per set of zones."""
        found = self._schedules.get(zones)
        if found is None:
            if len(self._schedules) >= SCHEDULES_SIZE:
                self._schedules.clear()
            found = self._schedules[zones] = localtime.schedule(zones, self.local)
        return found


# (id(policy), jurisdictions, channel, purpose) -> (policy, its plan). The policy is kept in the
# entry so its id cannot be reused while the entry lives; bounded by clearing.
_PLANS: dict[tuple[int, tuple[str, ...], Channel, Purpose], tuple[Policy, Plan]] = {}
_PLANS_SIZE = 4096


def forget() -> None:
    _PLANS.clear()


def plan_for(
    policy: Policy, jurisdictions: tuple[str, ...], channel: Channel, purpose: Purpose
) -> Plan:
    """The plan of ``policy`` for a person in ``jurisdictions`` and an intent's channel and
    purpose, compiled the first time it is asked for."""
    key = (id(policy), jurisdictions, channel, purpose)
    entry = _PLANS.get(key)
    if entry is not None and entry[0] is policy:
        return entry[1]
    plan = _compile(policy, policy.packs_for(jurisdictions), channel, purpose)
    if len(_PLANS) >= _PLANS_SIZE:
        _PLANS.clear()
    _PLANS[key] = (policy, plan)
    return plan


def _compile(
    policy: Policy, packs: tuple[schema.Pack, ...], channel: Channel, purpose: Purpose
) -> Plan:
    """Every rule of every pack, in a fixed order per pack: holds, opt-outs, consent,
    confirmation, location, local time, caps, cooldowns."""
    out = _steps.Builder()
    local: list[localtime.Constraint] = []
    # Parley's own hours ("elsewhere") only where no pack that applies sets hours for the channel.
    hours_set = any(
        channel in window.channels
        for pack in packs
        if pack.jurisdiction not in ("*", ELSEWHERE)
        for window in pack.windows
    )
    for pack in packs:
        if pack.jurisdiction == ELSEWHERE and hours_set:
            continue
        _steps.add_holds(out, pack, channel)
        if pack.opt_outs:
            out.step(_steps.opt_outs(pack.opt_outs, channel))
        for need in pack.consent_required:
            if channel not in need.channels:
                out.constant(outcome(need.id, "pass", "not required"))
            else:
                out.step(_steps.consent_required(need))
        confirmation = pack.confirmation
        if confirmation is not None and purpose == confirmation.purpose:
            out.step(_steps.confirmation(confirmation))
        if pack.location is not None:
            out.step(_steps.location(pack.location))
        time_step = local_time(pack, channel, local)
        if time_step is not None:
            out.step(time_step)
        for counter in pack.counters:
            if channel not in counter.gates:
                out.constant(
                    outcome(counter.id, "pass", f"{counter.key}: does not limit this contact")
                )
            else:
                kind = policy.kinds[counter.counts]
                out.step(_steps.counter(counter, counters.kind_sets(kind)))
        for cooldown in pack.cooldowns:
            if channel not in cooldown.gates:
                out.constant(outcome(cooldown.id, "pass", "does not limit this contact"))
            else:
                kind = policy.kinds[cooldown.after]
                out.step(_steps.cooldown(cooldown, counters.kind_sets(kind)))
    confirmations = tuple(
        p.confirmation
        for p in packs
        if p.confirmation is not None and p.confirmation.purpose == purpose
    )
    return Plan(out.build(), confirmations, tuple(local))
