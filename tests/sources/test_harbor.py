"""Harbor webhooks, Default and CloudEvents formats (fixtures in data/sources/harbor)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cdhelper import sources
from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.sources import harbor
from cdhelper.sources.base import Context, Parsed

from helpers import DATA

HERE = DATA / "sources" / "harbor"
DIGEST = "sha256:185ae08f598e73f6636becd5cdd02e802f7a64a9e6171da61fad8e702abc0b13"
AMD64 = "sha256:58604f15bb8933b4d4a4953a10ab1f35d1367a4244511ddef33fbd93fd6455de"
ARM64 = "sha256:99f23a6875f41b4d333cdbb6e1c01754e9637fe01adb69f3813c51d1bc264563"
IMAGE = "harbor.example.com/shop/api:v2.3.0"
PUSHED_AT = datetime(2026, 11, 30, 4, 22, 31, tzinfo=UTC)
OTHERS: list[dict[str, Any]] = [
    {"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {"action-type": "PUSH"}},
    {"message": {"data": "e30=", "messageId": "1"}, "subscription": "projects/p/subscriptions/s"},
    {"domain": "docker", "event_type": "pushed", "data": {"repo_key": "docker-local"}},
]


def load(name: str) -> Any:
    return json.loads((HERE / name).read_text())


def parse(payload: Any, where: str = "x") -> Parsed:
    return sources.parse_document(payload, Context(where))


def payloads(path: Path) -> list[Any]:
    """The webhook payloads of a data file (a payload or a list of them); none of inventories."""
    data = json.loads(path.read_text())
    items = data if isinstance(data, list) else [data]
    return [p for p in items if isinstance(p, dict) and not ({"ID", "Spec"} <= p.keys())]


MINE = sorted(HERE.glob("*.json"))
FOREIGN = sorted(
    p
    for p in [*DATA.glob("*.json"), *DATA.glob("sources/*/*.json")]
    if p.parent != HERE and not p.name.endswith("services.json")
)


def test_default_format_push() -> None:
    parsed = parse(load("push-artifact.json"))
    assert parsed.ignored == ()
    [event] = parsed.events
    assert (event.source, event.image.tagged, event.digest) == ("harbor", IMAGE, DIGEST)
    assert event.image.registry == "harbor.example.com"
    assert event.image.repository == "shop/api"
    assert event.timestamp == PUSHED_AT
    assert event.event_id is None
    assert event.media_type is None  # Harbor never says


def test_cloudevents_format_push() -> None:
    [event] = parse(load("cloudevents-artifact-pushed.json")).events
    assert (event.source, event.image.tagged, event.digest) == ("harbor", IMAGE, DIGEST)
    assert event.timestamp == PUSHED_AT
    assert event.event_id == "4b2f89a6-548d-4c12-9993-8f82d1ec4c84"


UNTAGGED = f"push of harbor.example.com/shop/api@{AMD64} without a tag"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("push-artifact-untagged.json", f"harbor: $.event_data.resources[0]: {UNTAGGED}"),
        ("pull-artifact.json", "harbor: PULL_ARTIFACT: not a push"),
        ("delete-artifact.json", "harbor: DELETE_ARTIFACT: not a push"),
        ("scanning-completed.json", "harbor: SCANNING_COMPLETED: not a push"),
        ("quota-exceed.json", "harbor: QUOTA_EXCEED: not a push"),
        ("replication.json", "harbor: REPLICATION: not a push"),
        ("cloudevents-artifact-deleted.json", "harbor: harbor.artifact.deleted: not a push"),
    ],
    ids=["untagged", "pull", "delete", "scan", "quota", "replication", "cloudevents-delete"],
)
def test_deliveries_that_deploy_nothing_say_why(name: str, reason: str) -> None:
    assert parse(load(name)) == Parsed(events=(), ignored=(reason,))


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
        ("harbor/shop/api:v2.3.0", "harbor"),
    ],
    ids=["port", "scheme-and-case", "address", "single-label"],
)
def test_registry_is_the_host_of_resource_url(url: str, registry: str) -> None:
    payload = load("push-artifact.json")
    payload["event_data"]["resources"][0]["resource_url"] = url
    [event] = parse(payload).events
    assert (event.image.registry, event.image.repository) == (registry, "shop/api")


def test_multi_arch_storm_is_one_event() -> None:
    loaded = sources.load_events([str(HERE / "push-multiarch-storm.json")])
    assert [(e.image.tagged, e.digest) for e in loaded.events] == [(IMAGE, DIGEST)]
    where = HERE / "push-multiarch-storm.json"
    assert loaded.ignored == (
        f"{where}: harbor: $[0].event_data.resources[0]: {UNTAGGED}",
        f"{where}: harbor: $[1].event_data.resources[0]: "
        f"push of harbor.example.com/shop/api@{ARM64} without a tag",
    )


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_detected_as_harbor(path: Path) -> None:
    for payload in payloads(path):
        assert sources.detect(payload, Context("x")) is harbor.SOURCE


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_sources_payloads_are_not_harbor(path: Path) -> None:
    for payload in payloads(path):
        assert not harbor.detect(payload)


@pytest.mark.parametrize(
    "payload",
    [
        *OTHERS,
        {"specversion": "1.0", "type": "com.github.pull_request.opened", "data": {}},
        {"specversion": "1.0", "data": {}},
        {"type": "PUSH_ARTIFACT", "event_data": {}},
        {"type": "PUSH_ARTIFACT", "occur_at": 1},
    ],
    ids=["ecr", "gar", "artifactory", "other-cloudevent", "no-type", "no-occur-at", "no-data"],
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
    with pytest.raises(InputError) as info:
        sources.parse_payload(payload, Context("h.json"), harbor.SOURCE)
    assert str(info.value).startswith(
        "h.json: not a valid Harbor webhook (Default or CloudEvents format)"
    )
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


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
    with pytest.raises(InputError) as info:
        parse(payload)
    assert str(info.value).startswith(message)


def test_cli_validate_names_the_source(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "validate",
            str(HERE / "push-artifact.json"),
            str(HERE / "cloudevents-artifact-pushed.json"),
            str(HERE / "delete-artifact.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()
        == [
            f"harbor\t{IMAGE}\t{DIGEST}\t2026-11-30T04:22:31.000000Z",
        ]
        * 2
    )
    assert (
        f"note: {HERE / 'delete-artifact.json'}: harbor: DELETE_ARTIFACT: not a push"
    ) in result.stderr
    assert "3 valid file(s), 2 push event(s)" in result.stderr


def test_cli_validate_json(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", "--format", "json", str(HERE / "cloudevents-artifact-pushed.json")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "registry": "harbor.example.com",
            "repository": "shop/api",
            "tag": "v2.3.0",
            "source": "harbor",
            "image": IMAGE,
            "digest": DIGEST,
            "timestamp": "2026-11-30T04:22:31.000000Z",
            "id": "4b2f89a6-548d-4c12-9993-8f82d1ec4c84",
        }
    ]


@pytest.mark.parametrize(
    ("inventory", "service"),
    [("swarmpit-services.json", "prod_harbor"), ("docker-engine-services.json", "harbor_api")],
    ids=["swarmpit", "docker-engine"],
)
def test_cli_plan_redeploys_the_service_that_follows_the_tag(
    runner: CliRunner, inventory: str, service: str
) -> None:
    result = runner.invoke(
        cli,
        [
            "plan",
            "--event",
            str(HERE / "push-multiarch-storm.json"),
            "--inventory",
            str(HERE / "inventories" / inventory),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [
        (service, DIGEST)
    ]
    assert [e["source"] for e in plan["events"]] == ["harbor"]
    assert result.stderr == "1 to redeploy, 0 skipped\n"
