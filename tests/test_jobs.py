from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from cdhelper import jobs
from cdhelper.backends import Source
from cdhelper.errors import ApiError
from cdhelper.inventory import Inventory, Service, Target
from cdhelper.plan import Mode
from cdhelper.reference import ImageRef
from cdhelper.registry import RegistryClient
from cdhelper.values import Lookup

from helpers import digest, push, service

NOW = datetime(2026, 11, 27, tzinfo=UTC)


@dataclass
class FakeRegistry(RegistryClient):
    answers: dict[str, Lookup] = field(default_factory=dict)
    asked: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def resolve(self, refs: object, parallel: int = 8) -> dict[ImageRef, Lookup]:
        wanted = sorted(refs, key=str)  # type: ignore[call-overload]
        self.asked.append([str(r) for r in wanted])
        return {ref: self.answers[str(ref)] for ref in wanted}


@dataclass
class Live:
    services: list[Service]
    kind: str = "docker"

    @property
    def target(self) -> Target:
        return Target(self.kind, "unix:///x", "c1")

    def inventory(self) -> Inventory:
        return Inventory(self.target, tuple(self.services))

    def redeploy(self, action: object) -> str:
        raise AssertionError("planning never redeploys")


def request(
    live: Live, registry: FakeRegistry, mode: Mode = Mode.WEBHOOK, **kw: object
) -> jobs.PlanRequest:
    return jobs.PlanRequest(mode=mode, source=Source(backend=live), registry=lambda: registry, **kw)  # type: ignore[arg-type]


def test_docker_targets_always_resolve_webhook_digests() -> None:
    registry = FakeRegistry(answers={"r.io/app:v1": Lookup(digest=digest("2"))})
    live = Live(
        [service("a", "r.io/app:v1", digest("1")), service("b", "r.io/app:v2", digest("1"))]
    )
    outcome = jobs.make_plan(request(live, registry, pushes=[push("r.io/app:v1")]), NOW)
    assert [a.target_digest for a in outcome.plan.actions] == [digest("2")]
    assert registry.asked == [["r.io/app:v1"]]  # only what a push moved and lacks a digest
    assert outcome.plan.target.cluster == "c1"


def test_swarmpit_targets_resolve_only_when_asked() -> None:
    registry = FakeRegistry()
    live = Live([service("a", "r.io/app:v1", digest("1"))], kind="swarmpit")
    outcome = jobs.make_plan(request(live, registry, pushes=[push("r.io/app:v1")]), NOW)
    assert outcome.registry is None and registry.asked == []
    assert outcome.plan.actions[0].target_digest is None


def test_nothing_checkable_is_an_error() -> None:
    registry = FakeRegistry(answers={"r.io/app:v1": Lookup(error="registry r.io: down")})
    live = Live([service("a", "r.io/app:v1", digest("1"))])
    with pytest.raises(ApiError, match="no image reference could be checked") as info:
        jobs.make_plan(request(live, registry, Mode.SMART), NOW)
    assert info.value.problems == ("registry r.io: down",)


def test_the_default_registry_client_is_made_only_when_called() -> None:
    request = jobs.PlanRequest(mode=Mode.WEBHOOK, source=Source(inventory_file="unused.json"))
    assert isinstance(request.registry(), RegistryClient)
