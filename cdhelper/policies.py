"""The release policies that may hold back what the planner planned: minimum age and the
platform check. Pure, as the planner is: the time and what jobs read from the registries
and the Swarm (push times, index platforms, nodes) come in as :class:`Facts`.

Every action a policy holds back becomes a skip naming its rule (:class:`~cdhelper.plan.Rule`)
and why; a semver range, which changes what a service follows, is the planner's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from cdhelper import platforms
from cdhelper.events import PushEvent
from cdhelper.inventory import Service
from cdhelper.plan import Action, Rule, Skip
from cdhelper.planner import PlanBody, Policy
from cdhelper.reference import short_digest
from cdhelper.values import Node, Platform, PushTime, format_duration, format_time


@dataclass(frozen=True)
class Facts:
    """What the release policies need beyond the plan: the time, and what jobs read."""

    now: datetime
    push_times: Mapping[str, PushTime] = field(default_factory=dict)  # by target digest
    index_platforms: Mapping[str, tuple[Platform, ...]] = field(default_factory=dict)
    nodes: Sequence[Node] | None = None  # None: not a Docker Engine target (not checked)


def event_push_time(action: Action, events: Sequence[PushEvent]) -> PushTime | None:
    """When the action's target was pushed, by its events: the earliest of those that
    pushed that digest (or, when they carry none, of those that moved the tag)."""
    times = [
        events[i].timestamp
        for i in action.events
        if events[i].digest in (None, action.target_digest)
    ]
    known = [t for t in times if t is not None]
    return PushTime(min(known), "event") if known else None


def check_min_age(
    body: PlanBody,
    policy: Policy,
    facts: Facts,
    events: Sequence[PushEvent] = (),
) -> PlanBody:
    """Skip every action whose target digest was pushed less than ``min_age`` ago."""
    if policy.min_age is None:
        return body
    kept: list[Action] = []
    skipped = list(body.skipped)
    for action in body.actions:
        pushed = event_push_time(action, events)
        if pushed is None and action.target_digest is not None:
            pushed = facts.push_times.get(action.target_digest)
        if pushed is None:
            hint = "" if action.target_digest else " (--resolve-digests gives it a digest to read)"
            skipped.append(
                _policy_skip(
                    action,
                    f"too new? its push time is unknown, so it cannot be shown to be older "
                    f"than {format_duration(policy.min_age)}{hint}",
                    Rule.MIN_AGE,
                )
            )
            continue
        age = facts.now - pushed.at
        eligible = pushed.at + policy.min_age
        if age < policy.min_age:
            reason = (
                f"too new: {pushed.describe()} {format_time(pushed.at)}, "
                f"{format_duration(age)} ago; the minimum age is "
                f"{format_duration(policy.min_age)}: eligible from {format_time(eligible)}"
            )
            skipped.append(_policy_skip(action, reason, Rule.MIN_AGE, eligible))
        else:
            note = f"; {pushed.describe()} {format_time(pushed.at)} ({format_duration(age)} ago)"
            kept.append(replace(action, reason=action.reason + note))
    return replace(body, actions=tuple(kept), skipped=_sorted(skipped))


def check_platforms(body: PlanBody, services: Sequence[Service], facts: Facts) -> PlanBody:
    """Skip every action whose target index lacks a platform of a node the service may use."""
    if facts.nodes is None:
        return body
    by_id = {service.id: service for service in services}
    kept: list[Action] = []
    skipped = list(body.skipped)
    for action in body.actions:
        image = facts.index_platforms.get(action.target_digest or "")
        service = by_id.get(action.service.id)
        if image is None or service is None:  # not an index: nothing to compare
            kept.append(action)
            continue
        nodes = platforms.eligible(facts.nodes, service.constraints, service.platforms)
        lacking = platforms.missing(nodes, image)
        if lacking:
            names = ", ".join(str(p) for p in lacking)
            hosts = ", ".join(sorted(n.hostname for n in nodes if n.platform in lacking))
            offered = ", ".join(str(p) for p in sorted(set(image))) or "none"
            reason = (
                f"platform: {short_digest(action.target_digest or '')} has no image for "
                f"{names} (node(s) {hosts} may run it); the index offers {offered}"
            )
            skipped.append(_policy_skip(action, reason, Rule.PLATFORM))
        else:
            kept.append(action)
    return replace(body, actions=tuple(kept), skipped=_sorted(skipped))


def _sorted(skips: Sequence[Skip]) -> tuple[Skip, ...]:
    return tuple(sorted(skips, key=lambda s: (s.service.name, s.service.id)))


def _policy_skip(action: Action, reason: str, rule: Rule, eligible: datetime | None = None) -> Skip:
    return Skip(action.service, action.image, reason, rule, eligible)
