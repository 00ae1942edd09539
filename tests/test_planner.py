from __future__ import annotations

import pytest

from cdhelper.planner import Policy, lookup_keys, parse_aliases, plan_smart, plan_webhook
from cdhelper.values import Lookup

from helpers import digest, push, service

OLD, NEW, NEWER = digest("1"), digest("2"), digest("3")


def names(body_items: tuple[object, ...]) -> list[str]:
    return [item.service.name for item in body_items]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("service_image", "pushed", "matches"),
    [
        ("ns/app:v1", "docker.io/ns/app:v1", True),
        ("docker.io/ns/app:v1", "ns/app:v1", True),
        ("index.docker.io/ns/app:v1", "ns/app:v1", True),
        ("nginx:v1", "docker.io/library/nginx:v1", True),
        ("ns/app:latest", "ns/app", True),
        ("ns/app:v1", "ns/app:V1", False),
        ("ns/app:v1", "ns/app:v1.2", False),
        ("ns/app:v1", "other/app:v1", False),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1", True),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5001/app:v1", False),
        ("127.0.0.1:5000/app:v1", "docker.io/library/app:v1", False),
    ],
)
def test_matching(service_image: str, pushed: str, matches: bool) -> None:
    body = plan_webhook([push(pushed)], [service("s", service_image, OLD)])
    assert bool(body.actions) is matches


def test_service_pinned_by_digest_only_follows_no_tag() -> None:
    # "ns/app" without digest means ns/app:latest; "ns/app@sha256:..." follows no tag at all.
    assert len(plan_webhook([push("ns/app:latest")], [service("s", "ns/app")]).actions) == 1
    assert plan_webhook([push("ns/app:latest")], [service("p", "ns/app", OLD)]).actions == ()


def test_up_to_date_and_opted_out_are_skipped() -> None:
    services = [
        service("current", "r.io/app:v1", NEW),
        service("behind", "r.io/app:v1", OLD),
        service("optout", "r.io/app:v1", OLD, labels={"cdhelper.redeploy": "false"}),
        service("other-tag", "r.io/app:v2", OLD),
    ]
    body = plan_webhook([push("r.io/app:v1", NEW)], services)
    assert names(body.actions) == ["behind"]
    assert body.actions[0].target_digest == NEW
    assert body.actions[0].current_digest == OLD
    assert [(s.service.name, s.reason) for s in body.skipped] == [
        ("current", "up to date: already runs sha256:222222222222"),
        ("optout", "opted out: label cdhelper.redeploy=false"),
    ]


def test_webhook_without_digest_always_redeploys() -> None:
    hub = push("ns/app:INT", source="dockerhub")
    body = plan_webhook([hub], [service("s", "ns/app:INT", OLD)])
    [action] = body.actions
    assert action.target_digest is None
    assert "the webhook gives no digest" in action.reason


def test_service_without_pinned_digest_says_so() -> None:
    [action] = plan_webhook([push("r.io/app:v1", NEW)], [service("s", "r.io/app:v1")]).actions
    assert action.current_digest is None
    assert "running digest unknown" in action.reason


def test_many_events_one_action_latest_timestamp_wins() -> None:
    events = [
        push("r.io/app:v1", NEWER, at=300),
        push("r.io/app:v1", NEW, at=100),
        push("r.io/app:v2", NEW, at=400),
    ]
    [action] = plan_webhook(events, [service("s", "r.io/app:v1", OLD)]).actions
    assert action.target_digest == NEWER
    assert action.events == (0, 1)


def test_without_timestamps_input_order_wins() -> None:
    events = [push("r.io/app:v1", NEWER), push("r.io/app:v1", NEW, at=5)]
    [action] = plan_webhook(events, [service("s", "r.io/app:v1", OLD)]).actions
    assert action.target_digest == NEW


def test_latest_push_already_running_is_up_to_date() -> None:
    events = [push("r.io/app:v1", NEWER, at=1), push("r.io/app:v1", NEW, at=2)]
    body = plan_webhook(events, [service("s", "r.io/app:v1", NEW)])
    assert body.actions == ()
    assert names(body.skipped) == ["s"]


def test_no_events_plan_nothing() -> None:
    body = plan_webhook([], [service("s", "r.io/app:v1", OLD)])
    assert body.actions == () and body.skipped == ()


def test_order_is_deterministic() -> None:
    services = [service(n, "r.io/app:v1", OLD) for n in ("b", "c", "a")]
    first = plan_webhook([push("r.io/app:v1", NEW)], services)
    second = plan_webhook([push("r.io/app:v1", NEW)], list(reversed(services)))
    assert names(first.actions) == ["a", "b", "c"]
    assert first == second


def test_registry_aliases() -> None:
    policy = Policy(registry_aliases=parse_aliases(["registry.local:5000=127.0.0.1:5000"]))
    services = [service("s", "registry.local:5000/app:v1", OLD)]
    assert plan_webhook([push("127.0.0.1:5000/app:v1", NEW)], services).actions == ()
    assert len(plan_webhook([push("127.0.0.1:5000/app:v1", NEW)], services, policy).actions) == 1


@pytest.mark.parametrize("bad", ["nope", "=x", "x="])
def test_bad_alias(bad: str) -> None:
    with pytest.raises(ValueError, match="expected ALIAS=REGISTRY"):
        parse_aliases([bad])


def test_smart_plan() -> None:
    services = [
        service("behind", "r.io/app:v1", OLD),
        service("current", "r.io/app:v1", NEW),
        service("unpinned", "r.io/app:v1"),
        service("gone", "r.io/app:v9", OLD),
        service("dead", "dead.io/app:v1", OLD),
        service("optout", "r.io/app:v1", OLD, labels={"cdhelper.redeploy": "false"}),
        service("digest-only", "r.io/app", OLD),
    ]
    keys = lookup_keys(services, Policy())
    assert sorted(keys) == [("dead.io", "app", "v1"), ("r.io", "app", "v1"), ("r.io", "app", "v9")]
    published = {
        ("r.io", "app", "v1"): Lookup(digest=NEW),
        ("r.io", "app", "v9"): Lookup(missing=True),
        ("dead.io", "app", "v1"): Lookup(error="registry dead.io: cannot reach"),
    }
    body = plan_smart(services, published)
    assert [(a.service.name, a.target_digest) for a in body.actions] == [
        ("behind", NEW),
        ("unpinned", NEW),
    ]
    assert body.actions[0].reason == (
        "published digest differs: tag v1 points to sha256:222222222222, "
        "the service runs sha256:111111111111"
    )
    assert body.actions[1].reason.startswith("running digest unknown (none pinned)")
    assert {s.service.name: s.reason for s in body.skipped} == {
        "current": "up to date: runs sha256:222222222222",
        "gone": "tag v9 no longer exists in r.io/app",
        "dead": "not checked: registry dead.io: cannot reach",
        "optout": "opted out: label cdhelper.redeploy=false",
        "digest-only": "pinned by digest only: follows no tag",
    }
    assert body.warnings == (
        "dead.io/app:v1: not checked: registry dead.io: cannot reach",
        "r.io/app:v9: tag v9 no longer exists in r.io/app",
    )


def test_webhook_with_published_digests() -> None:
    hub = push("r.io/app:v1", source="dockerhub")
    services = [service("a", "r.io/app:v1", OLD), service("b", "r.io/app:v1", NEW)]
    body = plan_webhook([hub], services, published={("r.io", "app", "v1"): Lookup(digest=NEW)})
    assert [(a.service.name, a.target_digest) for a in body.actions] == [("a", NEW)]
    assert body.actions[0].reason.endswith("the registry says it is sha256:222222222222")
    assert [s.service.name for s in body.skipped] == ["b"]
    failed = plan_webhook([hub], services, published={("r.io", "app", "v1"): Lookup(error="down")})
    assert failed.actions == ()
    assert failed.warnings == ("r.io/app:v1: not checked: down",)
