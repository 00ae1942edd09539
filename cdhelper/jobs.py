"""The main jobs, orchestrated: read inputs, ask the registry, call the pure planner.

This is where I/O meets the pure core; the CLI calls one function here per command. The
release policies run as the planner's later steps: each reads from the registries and
the Swarm only what the step before left planned (tag lists for semver services, push
times only for digests that would otherwise be planned, index platforms only for the
actions still standing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from cdhelper import planner, policies, seen, windows
from cdhelper.backends import NodeReader, Source, by_kind
from cdhelper.errors import ApiError
from cdhelper.events import PushEvent
from cdhelper.filters import Filter, in_scope
from cdhelper.inventory import Service
from cdhelper.plan import Mode, Plan, Policies
from cdhelper.planner import Key, PlanBody, Policy
from cdhelper.reference import ImageRef
from cdhelper.values import Lookup, Node, Platform, PushTime, format_duration

if TYPE_CHECKING:
    # requests loads with the registry client, made only by a plan that asks a registry
    from cdhelper.registry import RegistryClient

DEFAULT_PARALLEL = 8


def _default_registry() -> RegistryClient:
    from cdhelper.registry import RegistryClient  # noqa: PLC0415 (see TYPE_CHECKING above)

    return RegistryClient()


@dataclass(frozen=True)
class PlanRequest:
    mode: Mode
    source: Source
    pushes: Sequence[PushEvent] = ()  # webhook mode: read and validated before any call
    policy: Policy = field(default_factory=Policy)
    filters: Sequence[Filter] = ()
    resolve_digests: bool = False
    registry: Callable[[], RegistryClient] = _default_registry
    parallel: int = DEFAULT_PARALLEL
    windows: Sequence[windows.Window] = ()  # recorded in the plan, with whether open now
    state: str | None = None  # a folder for first-seen push times (smart mode)


@dataclass
class PlanOutcome:
    plan: Plan
    registry: RegistryClient | None = None


class _Registry:
    """The registry client, made on first use (a plan that needs none makes none)."""

    def __init__(self, make: Callable[[], RegistryClient]) -> None:
        self._make = make
        self.client: RegistryClient | None = None

    def __call__(self) -> RegistryClient:
        if self.client is None:
            self.client = self._make()
        return self.client


def make_plan(request: PlanRequest, now: datetime) -> PlanOutcome:
    webhook = request.mode is Mode.WEBHOOK
    pushes = list(request.pushes) if webhook else []
    # a webhook plan needs only the services of the pushed repositories
    live = request.source.read(
        planner.pushed_repository(pushes, request.policy) if webhook else None
    )
    services = [s for s in live.services if in_scope(s, request.filters)]
    registry = _Registry(request.registry)
    first_seen: dict[str, PushTime] = {}
    if request.mode is Mode.SMART:
        body, published = _smart(request, services, registry)
        if request.state is not None:
            digests = {found.digest for found in published.values() if found.digest}
            recorded = seen.record(request.state, digests, now)
            first_seen = {d: PushTime(t, "first-seen") for d, t in recorded.items()}
    else:
        body = planner.plan_webhook(pushes, services, request.policy)
        # The Docker backend deploys exactly target_digest: its plans always resolve it here,
        # never silently at apply time.
        if request.resolve_digests or by_kind(live.target.kind).deploys_exact_digest:
            wanted = _unresolved(body, request.policy)
            if wanted:
                published = lookup(registry(), wanted, request.parallel)
                body = planner.plan_webhook(pushes, services, request.policy, published)
    if request.mode is Mode.WEBHOOK and request.state is not None:
        _record_pushes(request.state, body, pushes, now)
    facts = policies.Facts(now=now, push_times=first_seen)
    if request.policy.min_age is not None and body.actions:
        facts = _with_created(body, pushes, facts, registry, request.parallel)
        body = policies.check_min_age(body, request.policy, facts, pushes)
    backend = request.source.backend
    if isinstance(backend, NodeReader) and body.actions:
        facts, unread = _with_platforms(body, facts, backend.nodes(), registry, request.parallel)
        body = policies.check_platforms(body, services, facts)
        body = replace(body, warnings=(*body.warnings, *unread))
    plan = Plan(
        mode=request.mode,
        target=live.target,
        events=tuple(pushes),
        actions=body.actions,
        skipped=body.skipped,
        warnings=body.warnings,
        created_at=now,
        policies=_policies(request, now),
    )
    return PlanOutcome(plan, registry.client)


def _smart(
    request: PlanRequest, services: Sequence[Service], registry: _Registry
) -> tuple[PlanBody, dict[Key, Lookup]]:
    client = registry()
    follows = None
    unlisted: list[str] = []
    repositories = planner.semver_repositories(services, request.policy)
    if repositories:
        listed = client.list_tags(repositories.values(), request.parallel)
        tag_lists = {key: listed[ref] for key, ref in repositories.items()}
        follows = planner.follow(services, request.policy, tag_lists)
        unlisted = [
            f"{ref.registry}/{ref.repository}: tags not listed: {listed[ref].error}"
            for ref in repositories.values()
            if listed[ref].error
        ]
    wanted = planner.lookup_keys(services, request.policy, follows)
    published = lookup(client, wanted, request.parallel)
    body = planner.plan_smart(services, published, request.policy, follows)
    return replace(body, warnings=(*body.warnings, *unlisted)), published


def _record_pushes(state: str, body: PlanBody, events: Sequence[PushEvent], now: datetime) -> None:
    """Webhook mode: the planned digests, first seen when their events pushed them."""
    pushed = {}
    for action in body.actions:
        time = policies.event_push_time(action, events)
        if action.target_digest is not None:
            pushed[action.target_digest] = time.at if time else now
    if pushed:
        seen.record(state, pushed, now, pushed)


def _unresolved(body: PlanBody, policy: Policy) -> dict[Key, ImageRef]:
    """The references of the actions without a target digest (the tag each will run)."""
    wanted: dict[Key, ImageRef] = {}
    for action in body.actions:
        if action.target_digest is None:
            ref = ImageRef.parse(action.image)
            key = policy.key(ref)
            if key is not None:
                wanted.setdefault(key, ref)
    return wanted


def _with_created(
    body: PlanBody,
    events: Sequence[PushEvent],
    facts: policies.Facts,
    registry: _Registry,
    parallel: int,
) -> policies.Facts:
    """Push times from the image configs' ``created``, only for the planned digests whose
    events (or first sighting) say nothing."""
    refs = {
        action.target_digest: _pinned(action.image, action.target_digest)
        for action in body.actions
        if action.target_digest is not None
        and policies.event_push_time(action, events) is None
        and action.target_digest not in facts.push_times
    }
    if not refs:
        return facts
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 (only to ask registries)

    client = registry()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        found = dict(zip(refs, pool.map(_created(client), refs.values()), strict=True))
    times = dict(facts.push_times)
    times.update((digest, PushTime(at, "created")) for digest, at in found.items() if at)
    return policies.Facts(facts.now, times, facts.index_platforms, facts.nodes)


def _created(client: RegistryClient) -> Callable[[ImageRef], datetime | None]:
    def read(ref: ImageRef) -> datetime | None:
        try:
            return client.created(ref)
        except ApiError:
            return None  # unknown: the min-age check skips it and says why

    return read


def _with_platforms(
    body: PlanBody,
    facts: policies.Facts,
    nodes: Sequence[Node],
    registry: _Registry,
    parallel: int,
) -> tuple[policies.Facts, list[str]]:
    """The platforms of each planned target that is an index (one manifest GET each), and
    a warning for each that could not be read (its services are planned unchecked)."""
    refs = {
        action.target_digest: _pinned(action.image, action.target_digest)
        for action in body.actions
        if action.target_digest is not None
    }
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 (only to ask registries)

    client = registry()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        found = dict(zip(refs, pool.map(_platforms(client), refs.values()), strict=True))
    indexes = {d: p for d, p in found.items() if p is not None and not isinstance(p, str)}
    unread = [
        f"{refs[d].tagged}@{d}: platforms not checked: {p}"
        for d, p in found.items()
        if isinstance(p, str)
    ]
    return policies.Facts(facts.now, facts.push_times, indexes, tuple(nodes)), unread


def _platforms(
    client: RegistryClient,
) -> Callable[[ImageRef], tuple[Platform, ...] | str | None]:
    def read(ref: ImageRef) -> tuple[Platform, ...] | str | None:
        try:
            return client.index_platforms(ref)
        except ApiError as exc:
            return exc.message  # cannot tell: planned, with a warning

    return read


def _pinned(image: str, digest: str) -> ImageRef:
    ref = ImageRef.parse(image)
    return ImageRef(ref.registry, ref.repository, ref.tag, digest)


def _policies(request: PlanRequest, now: datetime) -> Policies:
    state = windows.status(request.windows, now)
    min_age = request.policy.min_age
    return Policies(
        min_age=format_duration(min_age) if min_age is not None else None,
        windows=tuple(w.text for w in request.windows),
        window_open=state.open,
        next_window=state.next_open,
    )


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
