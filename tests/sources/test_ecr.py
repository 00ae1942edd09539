"""Amazon ECR events delivered by an EventBridge API destination (source ``ecr``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cdhelper import sources
from cdhelper.cli import cli
from cdhelper.sources import ecr
from cdhelper.sources.base import Parsed
from sources.common import FIXTURES, input_error, loader, schema_error
from sources.common import parse as parse_document

HERE = FIXTURES / "ecr"
load = loader(HERE)
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:v1.4.2"


def parse(payload: Any) -> Parsed:
    return parse_document(payload, "ecr.json")


def test_push_of_an_index_says_so() -> None:
    payload = load("push.json")
    payload["detail"]["manifest-media-type"] = (
        "application/vnd.docker.distribution.manifest.list.v2+json"
    )
    [event] = parse(payload).events
    assert event.is_index


def test_the_documented_minimal_push_without_media_types() -> None:
    payload = load("push.json")
    for key in ("manifest-media-type", "artifact-media-type"):
        del payload["detail"][key]
    del payload["time"], payload["id"], payload["version"], payload["resources"]
    [event] = parse(payload).events
    assert (event.media_type, event.timestamp, event.event_id) == (None, None, None)


def test_china_regions_use_the_cn_domain() -> None:
    payload = load("push.json")
    payload["region"] = "cn-north-1"
    [event] = parse(payload).events
    assert event.image.registry == "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"


def test_push_of_a_non_image_manifest_is_ignored() -> None:
    payload = load("push.json")
    payload["detail"]["manifest-media-type"] = "application/vnd.cncf.oras.artifact.manifest.v1+json"
    assert parse(payload).ignored == (
        "ecr: push of application/vnd.cncf.oras.artifact.manifest.v1+json: not an image manifest",
    )


def _set(path: list[str], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: list[str]) -> Callable[[dict[str, Any]], None]:
    def mutate(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_drop(["detail", "image-digest"]), "$.detail: 'image-digest' is a required property"),
        (
            _set(["detail", "image-digest"], "latest"),
            "$.detail[\"image-digest\"]: 'latest' does not match",
        ),
        (_drop(["account"]), "$: 'account' is a required property"),
        (_set(["account"], "12345"), "$.account: '12345' does not match"),
        (_set(["region"], "Europe"), "$.region: 'Europe' does not match"),
        (
            _set(["detail", "repository-name"], "Shop/Web"),
            "$.detail[\"repository-name\"]: 'Shop/Web' does not match",
        ),
        (_set(["detail", "image-tag"], 7), '$.detail["image-tag"]: expected string, got number'),
        (_drop(["detail", "action-type"]), "$.detail: 'action-type' is a required property"),
        (_set(["source"], "aws.ecr.public"), '$.source: expected "aws.ecr", got "aws.ecr.public"'),
        (_drop(["detail"]), "$: 'detail' is a required property"),
    ],
    ids=[
        "no-digest",
        "digest-not-a-digest",
        "no-account",
        "bad-account",
        "bad-region",
        "upper-case-repository",
        "tag-number",
        "no-action-type",
        "other-source",
        "no-detail",
    ],
)
def test_schema_errors_name_the_json_path(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    payload = load("push.json")
    mutate(payload)
    error = schema_error(payload, ecr.SOURCE, "ecr.json")
    assert error.message == "ecr.json: not a valid Amazon ECR event via EventBridge"
    assert any(p.startswith(expected) for p in error.problems), error.problems


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            _set(["detail", "image-tag"], "v1 beta"),
            "ecr.json: $.detail[\"image-tag\"]: invalid tag 'v1 beta': "
            "expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        ),
        (
            _set(["time"], "yesterday"),
            "ecr.json: $.time: invalid timestamp 'yesterday': expected RFC 3339",
        ),
    ],
    ids=["bad-tag", "bad-time"],
)
def test_bad_values_are_input_errors_with_the_path(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    payload = load("push.json")
    mutate(payload)
    assert str(input_error(payload, "ecr.json")) == expected


def test_an_ignored_event_need_not_carry_push_fields() -> None:
    payload = load("delete.json")
    del payload["detail"]["image-digest"]
    del payload["detail"]["image-tag"]
    assert parse(payload).ignored == ("ecr: DELETE: not a push",)


def test_a_list_of_events_keeps_the_pushes(tmp_path: Path) -> None:
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([load("push-untagged.json"), load("push.json")]))
    loaded = sources.load_events([str(batch)])
    assert [e.image.tagged for e in loaded.events] == [IMAGE]
    assert loaded.ignored == (f"{batch}: ecr: push of shop/web without a tag",)


# --- CLI ---------------------------------------------------------------------------------


def test_validate_reports_a_bad_payload_by_path(runner: CliRunner, tmp_path: Path) -> None:
    payload = load("push.json")
    payload["detail"]["image-digest"] = "sha256:nope"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"error: {bad}: not a valid Amazon ECR event via EventBridge\n" in result.stderr
    assert "  - $.detail[\"image-digest\"]: 'sha256:nope' does not match" in result.stderr
    assert "Traceback" not in result.output


def test_plan_from_an_ignored_event_has_nothing_to_do(runner: CliRunner) -> None:
    inventory = str(HERE / "inventories" / "docker-engine-services.json")
    delete = str(HERE / "delete.json")
    result = runner.invoke(cli, ["plan", "--event", delete, "--inventory", inventory])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["actions"] == []


def test_fixtures_are_not_mutated_by_parsing() -> None:
    payload = load("push.json")
    before = copy.deepcopy(payload)
    parse(payload)
    assert payload == before
