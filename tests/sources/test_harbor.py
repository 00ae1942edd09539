"""Harbor webhooks, Default and CloudEvents formats (fixtures in data/sources/harbor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cdhelper import sources
from cdhelper.sources import harbor
from sources.common import FIXTURES, input_error, loader, parse, schema_error

HERE = FIXTURES / "harbor"
load = loader(HERE)
DIGEST = "sha256:185ae08f598e73f6636becd5cdd02e802f7a64a9e6171da61fad8e702abc0b13"
AMD64 = "sha256:58604f15bb8933b4d4a4953a10ab1f35d1367a4244511ddef33fbd93fd6455de"
ARM64 = "sha256:99f23a6875f41b4d333cdbb6e1c01754e9637fe01adb69f3813c51d1bc264563"
IMAGE = "harbor.example.com/shop/api:v2.3.0"
UNTAGGED = f"push of harbor.example.com/shop/api@{AMD64} without a tag"


def test_an_empty_tag_deploys_nothing() -> None:
    payload = load("push-artifact.json")
    payload["event_data"]["resources"][0]["tag"] = ""
    assert parse(payload).ignored == (
        "harbor: $.event_data.resources[0]: push of harbor.example.com/shop/api:v2.3.0 "
        "without a tag",
    )


def test_one_event_per_tagged_resource() -> None:
    payload = load("cloudevents-artifact-pushed.json")
    resources = payload["data"]["resources"]
    resources.append(
        dict(resources[0], tag="stable", resource_url=IMAGE.replace("v2.3.0", "stable"))
    )
    resources.append(dict(resources[0], tag=AMD64, resource_url=f"harbor.example.com/x@{AMD64}"))
    parsed = parse(payload)
    assert [e.image.tag for e in parsed.events] == ["v2.3.0", "stable"]
    assert parsed.ignored == (
        f"harbor: $.data.resources[2]: push of harbor.example.com/x@{AMD64} without a tag",
    )


@pytest.mark.parametrize(
    ("url", "registry"),
    [
        ("harbor.example.com:8443/shop/api:v2.3.0", "harbor.example.com:8443"),
        ("https://Harbor.Example.com/shop/api:v2.3.0", "harbor.example.com"),
        ("10.0.0.7:30002/shop/api:v2.3.0", "10.0.0.7:30002"),
    ],
    ids=["port", "scheme-and-case", "address"],
)
def test_registry_is_the_host_of_resource_url(url: str, registry: str) -> None:
    payload = load("push-artifact.json")
    payload["event_data"]["resources"][0]["resource_url"] = url
    [event] = parse(payload).events
    assert (event.image.registry, event.image.repository) == (registry, "shop/api")


def test_a_single_label_host_is_refused() -> None:
    """Docker reads harbor/shop/api as a Docker Hub image: no service could follow it."""
    payload = load("push-artifact.json")
    payload["event_data"]["resources"][0]["resource_url"] = "harbor/shop/api:v2.3.0"
    assert "invalid registry host 'harbor': a name without a dot" in str(input_error(payload))


def test_multi_arch_storm_is_one_event() -> None:
    loaded = sources.load_events([str(HERE / "push-multiarch-storm.json")])
    assert [(e.image.tagged, e.digest) for e in loaded.events] == [(IMAGE, DIGEST)]
    where = HERE / "push-multiarch-storm.json"
    assert loaded.ignored == (
        f"{where}: harbor: $[0].event_data.resources[0]: {UNTAGGED}",
        f"{where}: harbor: $[1].event_data.resources[0]: "
        f"push of harbor.example.com/shop/api@{ARM64} without a tag",
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"specversion": "1.0", "type": "com.github.pull_request.opened", "data": {}},
        {"specversion": "1.0", "data": {}},
        {"type": "PUSH_ARTIFACT", "event_data": {}},
        {"type": "PUSH_ARTIFACT", "occur_at": 1},
    ],
    ids=["other-cloudevent", "no-type", "no-occur-at", "no-data"],
)
def test_payloads_that_are_not_harbor(payload: dict[str, Any]) -> None:
    assert not harbor.detect(payload)


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        (
            "push-artifact.json",
            lambda p: p["event_data"].pop("resources"),
            "$.event_data: 'resources' is a required property",
        ),
        (
            "push-artifact.json",
            lambda p: p["event_data"]["repository"].pop("repo_full_name"),
            "$.event_data.repository: 'repo_full_name' is a required property",
        ),
        (
            "push-artifact.json",
            lambda p: p["event_data"]["resources"][0].pop("resource_url"),
            "$.event_data.resources[0]: 'resource_url' is a required property",
        ),
        (
            "push-artifact.json",
            lambda p: p.update(occur_at="2026-11-30"),
            "$.occur_at: expected integer, got string",
        ),
        (
            "push-artifact.json",
            lambda p: p["event_data"]["repository"].update(repo_full_name="Shop/API"),
            "$.event_data.repository.repo_full_name: 'Shop/API' does not match",
        ),
        (
            "push-artifact.json",
            lambda p: p["event_data"]["resources"][0].update(resource_url="bad host!/shop/api:v1"),
            "$.event_data.resources[0].resource_url: 'bad host!/shop/api:v1' does not match",
        ),
        (
            "cloudevents-artifact-pushed.json",
            lambda p: p.pop("data"),
            "$: 'data' is a required property",
        ),
        (
            "cloudevents-artifact-pushed.json",
            lambda p: p["data"].update(resources={}),
            "$.data.resources: expected array, got object",
        ),
        (
            "delete-artifact.json",
            lambda p: p.update(type=None),
            "$.type: expected string, got null",
        ),
    ],
    ids=[
        "no-resources",
        "no-repo-full-name",
        "no-resource-url",
        "occur-at-string",
        "repo-upper-case",
        "bad-host",
        "cloudevent-no-data",
        "cloudevent-resources-object",
        "type-null",
    ],
)
def test_schema_errors_name_the_path(
    name: str, mutate: Callable[[Any], Any], expected: str
) -> None:
    payload = load(name)
    mutate(payload)
    error = schema_error(payload, harbor.SOURCE, "h.json")
    assert str(error).startswith(
        "h.json: not a valid Harbor webhook (Default or CloudEvents format)"
    )
    assert any(p.startswith(expected) for p in error.problems), error.problems


@pytest.mark.parametrize(
    ("name", "mutate", "message"),
    [
        (
            "push-artifact.json",
            lambda p: p["event_data"]["resources"][0].update(tag="v2 beta"),
            "x: $.event_data.resources[0].tag: invalid tag 'v2 beta'",
        ),
        (
            "push-artifact.json",
            lambda p: p["event_data"]["resources"][0].update(digest="md5:0123"),
            "x: $.event_data.resources[0].digest: invalid digest 'md5:0123'",
        ),
        (
            "push-artifact.json",
            lambda p: p.update(occur_at=10**20),
            "x: $.occur_at: time out of range: 100000000000000000000",
        ),
        (
            "cloudevents-artifact-pushed.json",
            lambda p: p.update(time="yesterday"),
            "x: $.time: invalid timestamp 'yesterday'",
        ),
    ],
    ids=["tag", "digest", "occur-at-range", "cloudevent-time"],
)
def test_bad_values_name_the_path(name: str, mutate: Callable[[Any], Any], message: str) -> None:
    payload = load(name)
    mutate(payload)
    assert str(input_error(payload)).startswith(message)
