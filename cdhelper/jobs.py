"""The main jobs, orchestrated: read inputs, ask the registry, call the pure planner.

This is where I/O meets the pure core; the CLI calls one function here per command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cdhelper import planner
from cdhelper.backends import Source, by_kind
from cdhelper.errors import ApiError
from cdhelper.events import PushEvent
from cdhelper.filters import Filter, in_scope
from cdhelper.plan import Mode, Plan
from cdhelper.planner import Key, Policy
from cdhelper.reference import ImageRef
from cdhelper.registry import RegistryClient
from cdhelper.values import Lookup

DEFAULT_PARALLEL = 8


@dataclass(frozen=True)
class PlanRequest:
    mode: Mode
    source: Source
    pushes: Sequence[PushEvent] = ()  # webhook mode: read and validated before any call
    policy: Policy = field(default_factory=Policy)
    filters: Sequence[Filter] = ()
    resolve_digests: bool = False
    registry: Callable[[], RegistryClient] = RegistryClient
    parallel: int = DEFAULT_PARALLEL


@dataclass
class PlanOutcome:
    plan: Plan
    registry: RegistryClient | None = None


def make_plan(request: PlanRequest, now: datetime) -> PlanOutcome:
    pushes = list(request.pushes) if request.mode is Mode.WEBHOOK else []
    live = request.source.read()
    services = [s for s in live.services if in_scope(s, request.filters)]
    client: RegistryClient | None = None
    if request.mode is Mode.SMART:
        client = request.registry()
        published = lookup(client, planner.lookup_keys(services, request.policy), request.parallel)
        body = planner.plan_smart(services, published, request.policy)
    else:
        body = planner.plan_webhook(pushes, services, request.policy)
        # The Docker backend deploys exactly target_digest: its plans always resolve it here,
        # never silently at apply time.
        if request.resolve_digests or by_kind(live.target.kind).deploys_exact_digest:
            unresolved = {a.service.id for a in body.actions if a.target_digest is None}
            scope = [s for s in services if s.id in unresolved]
            wanted = planner.lookup_keys(scope, request.policy)
            if wanted:
                client = request.registry()
                published = lookup(client, wanted, request.parallel)
                body = planner.plan_webhook(pushes, services, request.policy, published)
    plan = Plan(
        mode=request.mode,
        target=live.target,
        events=tuple(pushes),
        actions=body.actions,
        skipped=body.skipped,
        warnings=body.warnings,
        created_at=now,
    )
    return PlanOutcome(plan, client)


def lookup(
    client: RegistryClient, wanted: Mapping[Key, ImageRef], parallel: int
) -> dict[Key, Lookup]:
    """Ask the registries once per reference; fail only when nothing at all could be checked."""
    answers = client.resolve(wanted.values(), parallel)
    published = {key: answers[ref] for key, ref in wanted.items()}
    if published and all(found.error for found in published.values()):
        problems = sorted({found.error or "" for found in published.values()})
        raise ApiError(
            "no image reference could be checked against its registry, no plan written",
            problems=problems,
        )
    return published
