"""Quay repository push notifications (fixtures in data/sources/quay)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests_mock
import yaml
from click.testing import CliRunner

from cdhelper.cli import cli
from cdhelper.sources import quay
from cdhelper.sources.base import Parsed
from sources.common import FIXTURES, input_error, loader, parse, schema_error

HERE = FIXTURES / "quay"
load = loader(HERE)


@pytest.mark.parametrize("tags", [[], {}], ids=["list", "map"])
def test_a_push_without_updated_tags_deploys_nothing(tags: Any) -> None:
    payload = load("repo-push.json")
    payload["updated_tags"] = tags
    assert parse(payload) == Parsed(
        events=(), ignored=("quay: quay.io/acme/shop-api: a push without updated tags",)
    )


@pytest.mark.parametrize(
    "payload",
    [
        # Quay's build and vulnerability notifications carry docker_url but no updated_tags.
        {"repository": "acme/shop-api", "docker_url": "quay.io/acme/shop-api", "build_id": "b"},
        {"repository": "acme/shop-api", "updated_tags": ["v1"]},
    ],
    ids=["build-event", "no-docker-url"],
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
    error = schema_error(payload, quay.SOURCE, "q.json")
    assert str(error).startswith("q.json: not a valid Quay repository push notification")
    assert any(p.startswith(expected) for p in error.problems), error.problems


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
    assert str(input_error(payload)).startswith(message)


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
