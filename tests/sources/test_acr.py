"""Azure Container Registry webhooks (fixtures in data/sources/acr)."""

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
from cdhelper.sources import acr
from cdhelper.sources.base import Context, Parsed

from helpers import DATA

HERE = DATA / "sources" / "acr"
DIGEST = "sha256:886a849a34e72f7b78551ea6af6fcae2fbcd3ef2266daed9c4f5e5629cee5b3e"
INDEX = "sha256:6e556548fdadd07bfeeb0d6b99f2f2edc858aeb045f12bf83135607c75286053"
AMD64 = "sha256:6483497403d3bbd5fa59898934d9be547b707a8496eb4a6b44a1f9b7929f0dfc"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE = "acmeshop.azurecr.io/shop/api:v1.2.0"
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


def test_push() -> None:
    parsed = parse(load("push.json"))
    assert parsed.ignored == ()
    [event] = parsed.events
    assert (event.source, event.image.tagged, event.digest) == ("acr", IMAGE, DIGEST)
    assert (event.image.registry, event.image.repository) == ("acmeshop.azurecr.io", "shop/api")
    # ACR stamps nanoseconds; Python keeps microseconds.
    assert event.timestamp == datetime(2026, 11, 30, 4, 22, 1, 343145, tzinfo=UTC)
    assert event.event_id == "cb8c3971-9adc-488b-8e8b-43cbb4974ff5"
    assert event.media_type == "application/vnd.docker.distribution.manifest.v2+json"


def test_multi_arch_push_is_the_index_only() -> None:
    loaded = sources.load_events([str(HERE / "push-multiarch-storm.json")])
    assert [(e.image.tagged, e.digest, e.media_type) for e in loaded.events] == [
        ("acmeshop.azurecr.io/shop/api:v1.3.0", INDEX, OCI_INDEX)
    ]
    assert loaded.ignored == (
        f"{HERE / 'push-multiarch-storm.json'}: acr: push of shop/api@{AMD64} without a tag",
    )


def test_tagged_platform_manifest_collapses_into_the_index(tmp_path: Path) -> None:
    storm = load("push-multiarch-storm.json")
    storm[0]["target"]["tag"] = "v1.3.0"
    path = tmp_path / "storm.json"
    path.write_text(json.dumps(storm))
    assert len(parse(storm).events) == 2
    loaded = sources.load_events([str(path)])
    assert [(e.digest, e.media_type) for e in loaded.events] == [(INDEX, OCI_INDEX)]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("delete.json", "acr: delete: not a push"),
        ("chart-push.json", "acr: chart_push: not a push"),
        ("chart-delete.json", "acr: chart_delete: not a push"),
    ],
    ids=["delete", "chart-push", "chart-delete"],
)
def test_deliveries_that_deploy_nothing_say_why(name: str, reason: str) -> None:
    assert parse(load(name)) == Parsed(events=(), ignored=(reason,))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.update(action="quarantine"), "acr: quarantine: not a push"),
        (
            lambda p: p["target"].update(mediaType="application/vnd.acr.helm.chart"),
            "acr: push of application/vnd.acr.helm.chart: not a manifest",
        ),
        (lambda p: p["target"].pop("tag"), f"acr: push of shop/api@{DIGEST} without a tag"),
        (lambda p: p["target"].update(tag=""), f"acr: push of shop/api@{DIGEST} without a tag"),
    ],
    ids=["quarantine", "not-a-manifest", "no-tag", "empty-tag"],
)
def test_variants_that_deploy_nothing(mutate: Callable[[Any], Any], reason: str) -> None:
    payload = load("push.json")
    mutate(payload)
    assert parse(payload) == Parsed(events=(), ignored=(reason,))


def test_a_push_without_media_type_or_time_is_still_a_push() -> None:
    payload = load("push.json")
    del payload["target"]["mediaType"], payload["timestamp"], payload["id"]
    [event] = parse(payload).events
    assert (event.image.tagged, event.timestamp, event.event_id, event.media_type) == (
        IMAGE,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_detected_as_acr(path: Path) -> None:
    for payload in payloads(path):
        assert sources.detect(payload, Context("x")) is acr.SOURCE


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_sources_payloads_are_not_acr(path: Path) -> None:
    for payload in payloads(path):
        assert not acr.detect(payload)


@pytest.mark.parametrize(
    "payload",
    [
        *OTHERS,
        {"events": [], "action": "push", "target": {}, "request": {}},
        {"action": "push", "target": {"repository": "a"}},
        {"action": "push", "target": "a", "request": {}},
        {"target": {"repository": "a"}, "request": {}},
        {"action": 5, "target": {}, "request": {}},
    ],
    ids=[
        "ecr",
        "gar",
        "artifactory",
        "distribution-envelope",
        "push-without-request",
        "target-string",
        "no-action",
        "action-number",
    ],
)
def test_payloads_that_are_not_acr(payload: dict[str, Any]) -> None:
    assert not acr.detect(payload)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.pop("request"), "$: 'request' is a required property"),
        (lambda p: p["request"].pop("host"), "$.request: 'host' is a required property"),
        (lambda p: p["target"].pop("digest"), "$.target: 'digest' is a required property"),
        (
            lambda p: p["request"].update(host="bad host!"),
            "$.request.host: 'bad host!' does not match",
        ),
        (
            lambda p: p["request"].update(host="https://acmeshop.azurecr.io"),
            "$.request.host: 'https://acmeshop.azurecr.io' does not match",
        ),
        (
            lambda p: p["target"].update(repository="Shop/API"),
            "$.target.repository: 'Shop/API' does not match",
        ),
        (lambda p: p["target"].update(size="524"), "$.target.size: expected integer, got string"),
        (lambda p: p.pop("target"), "$: 'target' is a required property"),
    ],
    ids=[
        "no-request",
        "no-host",
        "no-digest",
        "bad-host",
        "host-with-scheme",
        "repo-upper-case",
        "size-string",
        "no-target",
    ],
)
def test_schema_errors_name_the_path(mutate: Callable[[Any], Any], expected: str) -> None:
    payload = load("push.json")
    mutate(payload)
    with pytest.raises(InputError) as info:
        sources.parse_payload(payload, Context("a.json"), acr.SOURCE)
    assert str(info.value).startswith("a.json: not a valid Azure Container Registry webhook")
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["target"].update(tag="v1 beta"), "x: $.target.tag: invalid tag 'v1 beta'"),
        (
            lambda p: p["target"].update(digest="sha256:1234"),
            "x: $.target.digest: invalid digest 'sha256:1234': expected sha256:<64 hex digits>",
        ),
        (lambda p: p.update(timestamp="soon"), "x: $.timestamp: invalid timestamp 'soon'"),
    ],
    ids=["tag", "digest", "timestamp"],
)
def test_bad_values_name_the_path(mutate: Callable[[Any], Any], message: str) -> None:
    payload = load("push.json")
    mutate(payload)
    with pytest.raises(InputError) as info:
        parse(payload)
    assert str(info.value).startswith(message)


def test_cli_validate_names_the_source(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", str(HERE / "push.json"), str(HERE / "chart-push.json")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"acr\t{IMAGE}\t{DIGEST}\t2026-11-30T04:22:01.343145Z"]
    assert f"note: {HERE / 'chart-push.json'}: acr: chart_push: not a push" in result.stderr
    assert "2 valid file(s), 1 push event(s)" in result.stderr


def test_cli_validate_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--format", "json", str(HERE / "push.json")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "registry": "acmeshop.azurecr.io",
            "repository": "shop/api",
            "tag": "v1.2.0",
            "source": "acr",
            "image": IMAGE,
            "digest": DIGEST,
            "timestamp": "2026-11-30T04:22:01.343145Z",
            "id": "cb8c3971-9adc-488b-8e8b-43cbb4974ff5",
        }
    ]


@pytest.mark.parametrize(
    ("inventory", "service"),
    [("swarmpit-services.json", "prod_acr"), ("docker-engine-services.json", "acr_api")],
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
            str(HERE / "push.json"),
            "--inventory",
            str(HERE / "inventories" / inventory),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [
        (service, DIGEST)
    ]
    assert plan["events"][0]["source"] == "acr"
    assert result.stderr == "1 to redeploy, 0 skipped\n"
