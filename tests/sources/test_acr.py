"""Azure Container Registry webhooks (fixtures in data/sources/acr)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdhelper import sources
from cdhelper.sources import acr
from cdhelper.sources.base import Parsed
from sources.common import FIXTURES, input_error, loader, parse, schema_error

HERE = FIXTURES / "acr"
load = loader(HERE)
DIGEST = "sha256:886a849a34e72f7b78551ea6af6fcae2fbcd3ef2266daed9c4f5e5629cee5b3e"
INDEX = "sha256:6e556548fdadd07bfeeb0d6b99f2f2edc858aeb045f12bf83135607c75286053"
AMD64 = "sha256:6483497403d3bbd5fa59898934d9be547b707a8496eb4a6b44a1f9b7929f0dfc"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE = "acmeshop.azurecr.io/shop/api:v1.2.0"


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


@pytest.mark.parametrize(
    "payload",
    [
        {"events": [], "action": "push", "target": {}, "request": {}},
        {"action": "push", "target": {"repository": "a"}},
        {"action": "push", "target": "a", "request": {}},
        {"target": {"repository": "a"}, "request": {}},
        {"action": 5, "target": {}, "request": {}},
    ],
    ids=[
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
    error = schema_error(payload, acr.SOURCE, "a.json")
    assert str(error).startswith("a.json: not a valid Azure Container Registry webhook")
    assert any(p.startswith(expected) for p in error.problems), error.problems


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
    assert str(input_error(payload)).startswith(message)
