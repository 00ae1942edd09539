"""One environment's plan for a batch: the same planner as ``cdhelper plan``.

The environment's services are read from its file, Swarmpit or Docker Engine at planning
time; identical events (same registry, repository, tag and digest) count once, and
per-platform storms collapse to their index (:func:`cdhelper.sources.collapse`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cdhelper import backends, deadline, jobs, planner, sources
from cdhelper.credentials import CredentialStore
from cdhelper.events import PushEvent
from cdhelper.inbox.config import ADDRESS_KEYS, EnvironmentConfig
from cdhelper.plan import Mode, Plan
from cdhelper.registry import RegistryClient

PLAN_SECONDS = 300.0


def make_plan(
    env: EnvironmentConfig, mode: Mode, events: Iterable[PushEvent], now: datetime
) -> Plan:
    request = jobs.PlanRequest(
        mode=mode,
        source=services(env),
        pushes=sources.collapse(unique(events)) if mode is Mode.WEBHOOK else (),
        policy=planner.Policy(registry_aliases=dict(env.registry_aliases), min_age=env.min_age),
        filters=env.filters,
        resolve_digests=env.resolve_digests,
        registry=lambda: RegistryClient(
            CredentialStore.from_environment(), insecure=env.insecure_registries
        ),
        windows=env.windows,
        state=env.state if env.min_age is not None else None,
    )
    # as cdhelper plan --timeout: a Swarmpit or registry that trickles cannot hold the
    # environment's dispatches forever (a DeadlineError is retried like any planning error)
    with deadline.limit(PLAN_SECONDS):
        return jobs.make_plan(request, now).plan


def unique(events: Iterable[PushEvent]) -> list[PushEvent]:
    """The first of each (registry, repository, tag, digest), in order."""
    seen: set[tuple[str, str, str | None, str | None]] = set()
    kept = []
    for event in events:
        key = (event.image.registry, event.image.repository, event.image.tag, event.digest)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


def services(env: EnvironmentConfig) -> backends.Source:
    """Where the environment's services are read; connects only when read."""
    if "file" in env.services:
        return backends.Source(inventory_file=env.services["file"])
    addresses = {kind: env.services.get(key) for key, kind in ADDRESS_KEYS.items()}
    return backends.source(None, addresses, env.environ())
