"""Quay repository push notifications (fixtures in data/sources/quay)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests_mock
import yaml
from click.testing import CliRunner

from cdhelper import sources
from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.sources import quay
from cdhelper.sources.base import Context, Parsed

from helpers import DATA

HERE = DATA / "sources" / "quay"
IMAGE = "quay.io/acme/shop-api:v3.1.0"
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


@pytest.mark.parametrize(
    ("name", "images"),
    [
        ("repo-push.json", [IMAGE]),
        (
            "repo-push-test-notification.json",
            [
                "quay.internal.example.com:8443/acme/shop-api:latest",
                "quay.internal.example.com:8443/acme/shop-api:foo",
            ],
        ),
        ("repo-push-legacy.json", ["quay.io/acme/shop-api:v3.0.0"]),
    ],
    ids=["quay.io", "self-hosted-two-tags", "legacy-map"],
)
def test_one_event_per_updated_tag(name: str, images: list[str]) -> None:
    parsed = parse(load(name))
    assert parsed.ignored == ()
    assert [e.image.tagged for e in parsed.events] == images
    for event in parsed.events:
        assert event.source == "quay"
        # Quay sends no digest, no time and no id.
        assert (event.digest, event.timestamp, event.event_id, event.media_type) == (
            None,
            None,
            None,
            None,
        )


def test_registry_and_repository_come_apart() -> None:
    [event] = parse(load("repo-push.json")).events
    assert (event.image.registry, event.image.repository, event.image.tag) == (
        "quay.io",
        "acme/shop-api",
        "v3.1.0",
    )


@pytest.mark.parametrize("tags", [[], {}], ids=["list", "map"])
def test_a_push_without_updated_tags_deploys_nothing(tags: Any) -> None:
    payload = load("repo-push.json")
    payload["updated_tags"] = tags
    assert parse(payload) == Parsed(
        events=(), ignored=("quay: quay.io/acme/shop-api: a push without updated tags",)
    )


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_detected_as_quay(path: Path) -> None:
    for payload in payloads(path):
        assert sources.detect(payload, Context("x")) is quay.SOURCE


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_sources_payloads_are_not_quay(path: Path) -> None:
    for payload in payloads(path):
        assert not quay.detect(payload)


@pytest.mark.parametrize(
    "payload",
    [
        *OTHERS,
        # Quay's build and vulnerability notifications carry docker_url but no updated_tags.
        {"repository": "acme/shop-api", "docker_url": "quay.io/acme/shop-api", "build_id": "b"},
        {"repository": "acme/shop-api", "updated_tags": ["v1"]},
    ],
    ids=["ecr", "gar", "artifactory", "build-event", "no-docker-url"],
)
def test_payloads_that_are_not_quay(payload: dict[str, Any]) -> None:
    assert not quay.detect(payload)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.pop("repository"), "$: 'repository' is a required property"),
        (lambda p: p.pop("docker_url"), "$: 'docker_url' is a required property"),
        (
            lambda p: p.update(updated_tags="v3.1.0"),
            "$.updated_tags: expected array or object, got string",
        ),
        (lambda p: p.update(updated_tags=[3]), "$.updated_tags[0]: expected string, got number"),
        (
            lambda p: p.update(repository="Acme/Shop-API"),
            "$.repository: 'Acme/Shop-API' does not match",
        ),
        (
            lambda p: p.update(docker_url="https://quay.io/acme/shop-api"),
            "$.docker_url: 'https://quay.io/acme/shop-api' does not match",
        ),
        (
            lambda p: p.update(docker_url="quay.io"),
            "$.docker_url: 'quay.io' does not match",
        ),
    ],
    ids=[
        "no-repository",
        "no-docker-url",
        "tags-string",
        "tag-number",
        "repo-upper-case",
        "docker-url-scheme",
        "docker-url-host-only",
    ],
)
def test_schema_errors_name_the_path(mutate: Callable[[Any], Any], expected: str) -> None:
    payload = load("repo-push.json")
    mutate(payload)
    with pytest.raises(InputError) as info:
        sources.parse_payload(payload, Context("q.json"), quay.SOURCE)
    assert str(info.value).startswith("q.json: not a valid Quay repository push notification")
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["v3.1.0", "v3 beta"], "x: $.updated_tags[1]: invalid tag 'v3 beta'"),
        ({"-rc": None}, "x: $.updated_tags[\"-rc\"]: invalid tag '-rc'"),
    ],
    ids=["list", "map"],
)
def test_bad_tags_name_the_path(tags: Any, message: str) -> None:
    payload = load("repo-push.json")
    payload["updated_tags"] = tags
    with pytest.raises(InputError) as info:
        parse(payload)
    assert str(info.value).startswith(message)


def test_cli_validate_names_the_source(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", str(HERE / "repo-push.json"), str(HERE / "repo-push-legacy.json")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"quay\t{IMAGE}\t-\t-",
        "quay\tquay.io/acme/shop-api:v3.0.0\t-\t-",
    ]
    assert "2 valid file(s), 2 push event(s)" in result.stderr


def test_cli_validate_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--format", "json", str(HERE / "repo-push.json")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "registry": "quay.io",
            "repository": "acme/shop-api",
            "tag": "v3.1.0",
            "source": "quay",
            "image": IMAGE,
            "digest": None,
            "timestamp": None,
            "id": None,
        }
    ]


def test_cli_plan_against_swarmpit_inventory(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "plan",
            "--event",
            str(HERE / "repo-push.json"),
            "--inventory",
            str(HERE / "inventories" / "swarmpit-services.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [(a["service"]["name"], a["image"]) for a in plan["actions"]] == [("prod_quay", IMAGE)]
    assert plan["events"][0]["source"] == "quay"


def test_cli_plan_against_docker_engine_inventory_resolves_the_digest(
    runner: CliRunner, requests_mock: requests_mock.Mocker
) -> None:
    """Quay sends no digest; the Docker Engine backend deploys one, so plan asks quay.io."""
    moved = "sha256:" + "7" * 64
    requests_mock.get("https://quay.io/v2/", status_code=200)
    requests_mock.head(
        "https://quay.io/v2/acme/shop-api/manifests/v3.1.0",
        headers={"Docker-Content-Digest": moved},
    )
    result = runner.invoke(
        cli,
        [
            "plan",
            "--event",
            str(HERE / "repo-push.json"),
            "--inventory",
            str(HERE / "inventories" / "docker-engine-services.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [
        ("quay_api", moved)
    ]
