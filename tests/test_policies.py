"""The release policies in the pure planner: semver ranges, minimum age, platform check."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cdhelper import platforms, report
from cdhelper.errors import InputError
from cdhelper.events import PushEvent
from cdhelper.inventory import Service, Target
from cdhelper.plan import Mode, Plan, Rule, dumps, loads
from cdhelper.planner import (
    PlanBody,
    Policy,
    follow,
    lookup_keys,
    plan_smart,
    plan_webhook,
    semver_repositories,
)
from cdhelper.policies import Facts, check_min_age, check_platforms
from cdhelper.values import Lookup, Node, Platform, PushTime, TagList

from helpers import digest, push, service

OLD, NEW, NEWER = digest("1"), digest("2"), digest("3")
TAGS = ("v1.4.0", "v1.4.2", "v1.4.3-rc.1", "v1.5.0", "v2.0.0", "v1", "v1.5", "v1.5.0_abc1234")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def semver(name: str, tag: str, rng: str, pinned: str | None = OLD) -> Service:
    return service(name, f"r.io/app:{tag}", pinned, labels={"cdhelper.policy": f"semver:{rng}"})


def smart(
    services: list[Service], tags: tuple[str, ...] = TAGS, digests: dict[str, str] | None = None
) -> PlanBody:
    policy = Policy()
    repos = semver_repositories(services, policy)
    follows = follow(services, policy, {key: TagList(tags) for key in repos})
    wanted = lookup_keys(services, policy, follows)
    published = {key: Lookup(digest=(digests or {}).get(key[2], NEW)) for key in wanted}
    return plan_smart(services, published, policy, follows)


def test_smart_semver_follows_the_highest_tag_in_range_never_down() -> None:
    services = [
        semver("caret", "v1.4.0", "^1.4"),
        semver("tilde", "v1.4.0", "~1.4"),
        semver("above", "v2.0.0", "^1.4"),
        semver("top", "v1.5.0", "^1.4", NEW),
        semver("moving", "v1", "^1.4"),
        semver("bad", "v1.4.0", "^^1"),
    ]
    body = smart(services)
    assert [
        (a.service.name, a.image, a.spec_image, a.current_image, a.tag) for a in body.actions
    ] == [
        ("caret", "r.io/app:v1.5.0", "r.io/app:v1.5.0", "r.io/app:v1.4.0", "v1.5.0"),
        ("tilde", "r.io/app:v1.4.2", "r.io/app:v1.4.2", "r.io/app:v1.4.0", "v1.4.2"),
    ]
    assert body.actions[0].target_digest == NEW
    assert body.actions[0].reason.startswith("semver ^1.4: v1.4.0 -> v1.5.0")
    skipped = {s.service.name: (s.rule, s.reason) for s in body.skipped}
    assert skipped["above"] == (
        Rule.SEMVER,
        "semver ^1.4: it runs v2.0.0, higher than the range's highest version v1.5.0: "
        "never downgraded",
    )
    assert skipped["top"] == (None, "up to date: runs sha256:222222222222")
    assert skipped["moving"][0] is Rule.SEMVER and "not a version" in skipped["moving"][1]
    assert skipped["bad"][0] is Rule.SEMVER and "invalid semver range" in skipped["bad"][1]


def test_smart_semver_tag_list_problems_skip_only_its_services() -> None:
    services = [semver("s", "v1.4.0", "^1.4"), service("plain", "r.io/other:v1", OLD)]
    policy = Policy()
    repos = semver_repositories(services, policy)
    assert list(repos) == [("r.io", "app", "")]
    follows = follow(services, policy, {key: TagList(error="HTTP 500") for key in repos})
    wanted = lookup_keys(services, policy, follows)
    assert list(wanted) == [("r.io", "other", "v1")]
    body = plan_smart(services, {k: Lookup(digest=NEW) for k in wanted}, policy, follows)
    assert [a.service.name for a in body.actions] == ["plain"]
    assert body.skipped[0].reason == "semver: tags not listed: HTTP 500"


def test_smart_semver_own_tag_re_pushed_is_an_ordinary_follow() -> None:
    body = smart([semver("top", "v1.5.0", "^1.4")])
    assert body.actions[0].current_image is None
    assert body.actions[0].image == "r.io/app:v1.5.0"


def test_webhook_semver_a_higher_pushed_tag_in_range_plans_the_service() -> None:
    services = [
        semver("caret", "v1.4.0", "^1.4"),
        semver("above", "v2.0.0", "^1.4"),
        semver("tilde", "v1.4.0", "~1.4"),
        service("plain", "r.io/app:v1.4.0", OLD),
    ]
    events = [push("r.io/app:v1.5.0", NEW), push("r.io/app:v1.5", NEW), push("r.io/app:v1", NEW)]
    body = plan_webhook(events, services)
    assert [(a.service.name, a.tag, a.target_digest, a.events) for a in body.actions] == [
        ("caret", "v1.5.0", NEW, (0,))
    ]
    assert [(s.service.name, s.rule) for s in body.skipped] == [("above", Rule.SEMVER)]
    assert "higher than the highest pushed version in range v1.5.0" in body.skipped[0].reason
    # a pre-release or a tag outside every range plans nothing
    assert plan_webhook([push("r.io/app:v1.5.1-rc.1", NEW)], services).actions == ()
    # its own version under another spelling neither
    top = [semver("top", "v1.5.0", "^1.4")]
    assert plan_webhook([push("r.io/app:1.5.0", NEW)], top) == PlanBody((), ())


def test_webhook_semver_digest_resolved_for_the_chosen_tag() -> None:
    services = [semver("caret", "v1.4.0", "^1.4")]
    events = [push("r.io/app:v1.4.2"), push("r.io/app:v1.5.0")]
    key = ("r.io", "app", "v1.5.0")
    body = plan_webhook(events, services, Policy(), {key: Lookup(digest=NEWER)})
    assert [(a.tag, a.target_digest) for a in body.actions] == [("v1.5.0", NEWER)]


def aged(
    *,
    events: list[PushEvent] | None = None,
    times: dict[str, PushTime] | None = None,
    min_age: str = "7d",
) -> PlanBody:
    policy = Policy(min_age=timedelta(days=int(min_age[:-1])))
    services = [service("a", "r.io/app:v1", OLD), service("b", "r.io/other:v1", OLD)]
    pushes = events if events is not None else []
    if pushes:
        body = plan_webhook(pushes, services, policy)
    else:
        body = plan_smart(services, {k: Lookup(digest=NEW) for k in lookup_keys(services, policy)})
    return check_min_age(body, policy, Facts(NOW, times or {}), pushes)


def test_min_age_from_the_events_push_times() -> None:
    day = 86400
    now = int(NOW.timestamp())
    events = [push("r.io/app:v1", NEW, at=now - 8 * day), push("r.io/other:v1", NEW, at=now - day)]
    body = aged(events=events)
    assert [a.service.name for a in body.actions] == ["a"]
    assert body.actions[0].reason.endswith("pushed 2026-11-22T12:00:00.000000Z (8d ago)")
    [skip] = body.skipped
    assert (skip.service.name, skip.rule) == ("b", Rule.MIN_AGE)
    assert skip.eligible_at == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert skip.reason == (
        "too new: pushed 2026-11-29T12:00:00.000000Z, 1d ago; the minimum age is 7d: "
        "eligible from 2026-12-06T12:00:00.000000Z"
    )


def test_min_age_from_first_seen_or_config_created_says_where_it_comes_from() -> None:
    times = {NEW: PushTime(NOW - timedelta(hours=1), "created")}
    [skip, other] = aged(times=times).skipped
    assert "created (the image config says so; its publisher controls that)" in skip.reason
    assert other.reason == skip.reason  # both services follow tags pointing to NEW
    times = {NEW: PushTime(NOW - timedelta(days=30), "first-seen")}
    assert "first seen by cdhelper" in aged(times=times).actions[0].reason


def test_min_age_without_any_push_time_skips_and_says_so() -> None:
    [a, _] = aged().skipped
    assert a.rule is Rule.MIN_AGE and a.reason.startswith("too new? its push time is unknown")
    [hub] = aged(events=[push("r.io/app:v1", source="dockerhub")]).skipped
    assert hub.reason.endswith("(--resolve-digests gives it a digest to read)")


NODES = (
    Node("n1", "amd-1", "manager", Platform("linux", "amd64")),
    Node("n2", "arm-1", "worker", Platform("linux", "arm64"), labels={"zone": "b"}),
    Node("n3", "arm-drained", "worker", Platform("linux", "arm", "v7"), availability="drain"),
)


def test_platform_check_names_the_missing_platforms_of_eligible_nodes() -> None:
    services = [
        service("everywhere", "r.io/app:v1", OLD),
        service("amd-only", "r.io/app:v1", OLD, sid="amd"),
        service("single", "r.io/single:v1", OLD),
    ]
    services[1] = replace(services[1], constraints=("node.platform.arch==x86_64",))
    body = plan_smart(
        services,
        {
            ("r.io", "app", "v1"): Lookup(digest=NEW),
            ("r.io", "single", "v1"): Lookup(digest=NEWER),
        },
    )
    facts = Facts(NOW, index_platforms={NEW: (Platform("linux", "amd64"),)}, nodes=NODES)
    checked = check_platforms(body, services, facts)
    assert [a.service.name for a in checked.actions] == ["amd-only", "single"]
    [skip] = checked.skipped
    assert skip.rule is Rule.PLATFORM
    assert skip.reason == (
        "platform: sha256:222222222222 has no image for linux/arm64 (node(s) arm-1 may run it); "
        "the index offers linux/amd64"
    )
    assert check_platforms(body, services, Facts(NOW)) == body  # no nodes: not checked


@pytest.mark.parametrize(
    ("constraints", "allowed", "hosts"),
    [
        ((), (), ["amd-1", "arm-1"]),
        (("node.platform.arch==aarch64",), (), ["arm-1"]),
        (("node.platform.os!=linux",), (), []),
        (("node.role==manager",), (), ["amd-1"]),
        (("node.labels.zone==b",), (), ["arm-1"]),
        (("node.labels.zone!=b",), (), ["amd-1"]),
        (("engine.labels.x==y",), (), []),
        (("node.something==else",), (), ["amd-1", "arm-1"]),  # not ours to judge: met
        ((), (Platform("linux", "amd64"),), ["amd-1"]),
    ],
)
def test_eligible_nodes(
    constraints: tuple[str, ...], allowed: tuple[Platform, ...], hosts: list[str]
) -> None:
    assert [n.hostname for n in platforms.eligible(NODES, constraints, allowed)] == hosts


def test_node_platforms_in_image_terms() -> None:
    assert platforms.node_platform("Linux", "x86_64") == Platform("linux", "amd64")
    assert platforms.node_platform("linux", "armv7l") == Platform("linux", "arm", "v7")
    assert platforms.node_platform("linux", "s390x") == Platform("linux", "s390x")
    assert Platform("linux", "arm", "v7").runs(Platform("linux", "arm"))
    assert not Platform("linux", "arm", "v7").runs(Platform("linux", "arm", "v6"))


def test_a_tag_change_stands_out_in_every_format() -> None:
    body = smart([semver("caret", "v1.4.0", "^1.4")])
    made = Plan(
        mode=Mode.SMART,
        target=Target("docker", "unix:///x", "c1"),
        events=(),
        actions=body.actions,
        skipped=body.skipped,
        warnings=(),
        created_at=NOW,
    )
    assert "      TAG CHANGE: v1.4.0 -> v1.5.0\n" in report.plan_text(made)
    assert "**tag v1.4.0 -> v1.5.0**" in report.plan_markdown(made)
    [action] = json.loads(report.render_plan(made, report.Format.JSON))["actions"]
    assert (action["current_image"], action["spec_image"]) == ("r.io/app:v1.4.0", "r.io/app:v1.5.0")
    assert loads(dumps(made), "plan") == made


def test_a_tag_change_keeps_the_repository() -> None:
    body = smart([semver("caret", "v1.4.0", "^1.4")])
    made = Plan(
        mode=Mode.SMART,
        target=Target("docker", "unix:///x", "c1"),
        events=(),
        actions=(replace(body.actions[0], current_image="r.io/other:v1.4.0"),),
        skipped=(),
        warnings=(),
        created_at=NOW,
    )
    with pytest.raises(InputError) as refused:
        dumps(made)  # a bug must not ship such a plan
    assert list(refused.value.problems) == [
        "$.actions[0].current_image: names 'r.io/other', but $.actions[0].image is 'r.io/app' "
        "(a tag change keeps the repository)"
    ]
