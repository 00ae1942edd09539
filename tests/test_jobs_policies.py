"""The policy steps of make_plan: what is read from the registry and the Swarm, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cdhelper import jobs, windows
from cdhelper.backends import Source
from cdhelper.errors import ApiError
from cdhelper.inventory import Inventory, Service, Target
from cdhelper.plan import Mode, Rule
from cdhelper.planner import Policy
from cdhelper.reference import ImageRef
from cdhelper.registry import RegistryClient
from cdhelper.values import Lookup, Node, Platform, TagList

from helpers import digest, push, service

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
OLD, NEW = digest("1"), digest("2")


@dataclass
class Registry(RegistryClient):
    tags_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    created_at: dict[str, datetime | None] = field(default_factory=dict)
    platforms_of: dict[str, tuple[Platform, ...] | None] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def resolve(self, refs: object, parallel: int = 8) -> dict[ImageRef, Lookup]:
        return {ref: Lookup(digest=NEW) for ref in refs}  # type: ignore[attr-defined]

    def list_tags(self, refs: object, parallel: int = 8) -> dict[ImageRef, TagList]:
        found = {}
        for ref in refs:  # type: ignore[attr-defined]
            self.asked.append(f"tags {ref}")
            tags = self.tags_of.get(ref.repository)
            found[ref] = TagList(tags) if tags is not None else TagList(error="HTTP 503")
        return found

    def created(self, ref: ImageRef) -> datetime | None:
        self.asked.append(f"created {ref.digest}")
        value = self.created_at.get(ref.digest or "")
        if value is None:
            raise ApiError("HTTP 500")
        return value

    def index_platforms(self, ref: ImageRef) -> tuple[Platform, ...] | None:
        self.asked.append(f"platforms {ref.digest}")
        found = self.platforms_of.get(ref.digest or "")
        if found == ():
            raise ApiError("HTTP 500")
        return found


@dataclass
class Swarm:
    services: list[Service]
    nodes_read: int = 0

    @property
    def target(self) -> Target:
        return Target("docker", "unix:///x", "c1")

    def inventory(self) -> Inventory:
        return Inventory(self.target, tuple(self.services))

    def nodes(self) -> tuple[Node, ...]:
        self.nodes_read += 1
        return (Node("n1", "arm-1", "worker", Platform("linux", "arm64")),)


def plan(
    swarm: Swarm, registry: Registry, mode: Mode = Mode.SMART, **kw: object
) -> jobs.PlanOutcome:
    request = jobs.PlanRequest(
        mode=mode,
        source=Source(backend=swarm),  # type: ignore[arg-type]
        registry=lambda: registry,
        **kw,  # type: ignore[arg-type]
    )
    return jobs.make_plan(request, NOW)


def test_smart_semver_lists_tags_once_and_checks_platforms_of_planned_targets() -> None:
    labels = {"cdhelper.policy": "semver:^1"}
    swarm = Swarm(
        [service("a", "r.io/app:v1.0.0", OLD, labels=labels), service("b", "r.io/app:v1.0.0", OLD)]
    )
    registry = Registry(
        tags_of={"app": ("v1.0.0", "v1.2.0")}, platforms_of={NEW: (Platform("linux", "amd64"),)}
    )
    made = plan(swarm, registry).plan
    assert registry.asked == ["tags r.io/app", f"platforms {NEW}"]
    assert made.actions == ()
    assert [(s.service.name, s.rule) for s in made.skipped] == [
        ("a", Rule.PLATFORM),
        ("b", Rule.PLATFORM),
    ]
    assert swarm.nodes_read == 1


def test_min_age_reads_created_only_without_a_better_time(tmp_path: Path) -> None:
    swarm = Swarm([service("a", "r.io/app:v1", OLD)])
    policy = Policy(min_age=timedelta(days=1))
    registry = Registry(created_at={NEW: NOW - timedelta(days=3)}, platforms_of={NEW: None})
    made = plan(swarm, registry, policy=policy).plan
    assert registry.asked == [f"created {NEW}", f"platforms {NEW}"]
    assert "created (the image config says so" in made.actions[0].reason
    # with a state folder, first sight counts instead, and no config is read
    registry.asked.clear()
    made = plan(swarm, registry, policy=policy, state=str(tmp_path)).plan
    assert registry.asked == []
    assert made.skipped[0].reason.startswith("too new: first seen by cdhelper")
    # events carry their push time: nothing else is read for it
    registry.asked.clear()
    event = push("r.io/app:v1", NEW, at=int((NOW - timedelta(hours=2)).timestamp()))
    made = plan(swarm, registry, Mode.WEBHOOK, policy=policy, pushes=[event]).plan
    assert registry.asked == []
    assert made.skipped[0].rule is Rule.MIN_AGE


def test_unreadable_config_or_index_is_said_not_hidden() -> None:
    swarm = Swarm([service("a", "r.io/app:v1", OLD)])
    registry = Registry(platforms_of={NEW: ()})
    made = plan(swarm, registry, policy=Policy(min_age=timedelta(hours=1))).plan
    assert made.skipped[0].reason.startswith("too new? its push time is unknown")
    made = plan(swarm, registry).plan  # the index cannot be read: not checked, planned
    assert [a.service.name for a in made.actions] == ["a"]
    assert made.warnings == (f"r.io/app:v1@{NEW}: platforms not checked: HTTP 500",)


def test_the_plan_records_its_windows() -> None:
    swarm = Swarm([])
    deploy = windows.parse_all(["Sat 10:00-11:00"])
    made = plan(swarm, Registry(), windows=deploy).plan
    assert made.policies.windows == ("Sat 10:00-11:00",)
    assert made.policies.next_window == datetime(2026, 12, 5, 10, tzinfo=UTC)
    assert not made.policies.window_open


def test_a_repository_whose_tags_cannot_be_listed_warns() -> None:
    swarm = Swarm([service("a", "r.io/app:v1.0.0", OLD, labels={"cdhelper.policy": "semver:^1"})])
    made = plan(swarm, Registry()).plan
    assert made.warnings == ("r.io/app: tags not listed: HTTP 503",)
    assert made.skipped[0].reason == "semver: tags not listed: HTTP 503"


def test_a_webhook_plan_records_push_times_a_later_smart_plan_counts_from(
    tmp_path: Path,
) -> None:
    swarm = Swarm([service("a", "r.io/app:v1", OLD)])
    registry = Registry(platforms_of={NEW: None})
    policy = Policy(min_age=timedelta(days=1))
    pushed = NOW - timedelta(days=2)
    event = push("r.io/app:v1", NEW, at=int(pushed.timestamp()))
    plan(swarm, registry, Mode.WEBHOOK, policy=policy, pushes=[event], state=str(tmp_path))
    made = plan(swarm, registry, policy=policy, state=str(tmp_path)).plan
    assert [a.service.name for a in made.actions] == ["a"]
    assert "first seen by cdhelper 2026-11-28T12:00:00.000000Z (2d ago)" in made.actions[0].reason
