from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from cdhelper import sources
from cdhelper.errors import InputError, UsageError
from cdhelper.events import PushEvent
from cdhelper.reference import ImageRef
from cdhelper.sources.base import Context
from cdhelper.values import parse_time


def parse_document(data: Any, where: str) -> list[PushEvent]:
    return list(sources.parse_document(data, Context(where)).events)


def load_events(paths: list[str]) -> list[PushEvent]:
    return list(sources.load_events(paths).events)


DIGEST = "sha256:e2ef9cf1ec5ccb87e5102380b17449a32bdb2c596eb3e7c683418c67baf982bd"


def test_dockerhub_payload(load_data: Callable[[str], Any]) -> None:
    [event] = parse_document(load_data("dockerhub-push-int.json"), "hub.json")
    assert event.source == "dockerhub"
    assert event.image.tagged == "docker.io/dopplerdock/doppler-cd-helper:INT"
    assert event.digest is None
    assert event.timestamp == datetime.fromtimestamp(1618614391, UTC)


def test_dockerhub_falls_back_to_namespace_and_name(load_data: Callable[[str], Any]) -> None:
    payload = load_data("dockerhub-push-int.json")
    del payload["repository"]["repo_name"]
    payload["push_data"]["pushed_at"] = 1618614391.5
    payload["push_data"].pop("images")
    payload["push_data"]["media_type"] = "application/vnd.oci.image.index.v1+json"
    [event] = parse_document(payload, "hub.json")
    assert event.image.tagged == "docker.io/dopplerdock/doppler-cd-helper:INT"


def test_dockerhub_official_image_gets_library() -> None:
    payload = {"push_data": {"tag": "v1"}, "repository": {"repo_name": "nginx"}}
    [event] = parse_document(payload, "x")
    assert event.image.tagged == "docker.io/library/nginx:v1"
    assert event.timestamp is None


def test_registry_notifications_keep_only_tagged_manifest_pushes(
    load_data: Callable[[str], Any],
) -> None:
    events = parse_document(load_data("registry-notifications-push-app-v1.json"), "reg.json")
    assert [(e.source, e.image.tagged, e.digest) for e in events] == [
        ("registry", "127.0.0.1:5000/app:v1", DIGEST)
    ]
    assert events[0].event_id == "494dca8b-7ef2-4c31-b8a3-4613f058193f"
    assert events[0].timestamp == datetime(2026, 11, 27, 3, 51, 11, 95133, UTC)


def _manifest_push(load_data: Callable[[str], Any]) -> dict[str, Any]:
    envelopes = load_data("registry-notifications-push-app-v1.json")
    for envelope in envelopes:
        for event in envelope["events"]:
            if event["action"] == "push" and event["target"].get("tag"):
                return copy.deepcopy(event)
    raise AssertionError("fixture has no manifest push")


def test_registry_host_falls_back_to_request_host(load_data: Callable[[str], Any]) -> None:
    event = _manifest_push(load_data)
    del event["target"]["url"]
    event["request"]["host"] = "registry.example.com"
    [push] = parse_document({"events": [event]}, "x")
    assert push.image.tagged == "registry.example.com/app:v1"


def test_untagged_manifest_pull_and_delete_are_ignored(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    untagged = copy.deepcopy(push)
    del untagged["target"]["tag"]
    delete = {
        "id": "d",
        "timestamp": push["timestamp"],
        "action": "delete",
        "target": {"repository": "app", "digest": DIGEST},
    }
    assert parse_document({"events": [untagged, delete]}, "x") == []


def test_empty_envelope_and_empty_list_are_valid() -> None:
    assert parse_document({"events": []}, "x") == []
    assert parse_document([], "x") == []


def test_list_of_mixed_payloads(load_data: Callable[[str], Any]) -> None:
    events = parse_document(
        [load_data("dockerhub-push-int.json"), {"events": [_manifest_push(load_data)]}], "x"
    )
    assert [e.source for e in events] == ["dockerhub", "registry"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p["push_data"].pop("tag"), "$.push_data: 'tag' is a required property"),
        (lambda p: p["push_data"].update(tag=""), "$.push_data.tag: '' does not match"),
        (lambda p: p["push_data"].update(tag=5), "$.push_data.tag: expected string, got number"),
        (
            lambda p: p["push_data"].update(pushed_at="yesterday"),
            "$.push_data.pushed_at: expected number, got string",
        ),
        (
            lambda p: p["repository"].update(repo_name="Bad/Name"),
            "$.repository.repo_name: 'Bad/Name'",
        ),
        (
            lambda p: [p["repository"].pop(k) for k in ("repo_name", "name")],
            "$.repository: 'repo_name' is a required property",
        ),
    ],
    ids=[
        "no-tag",
        "empty-tag",
        "tag-number",
        "pushed-at-string",
        "upper-case-repo",
        "no-repo-name",
    ],
)
def test_bad_dockerhub_payloads_name_the_path(
    load_data: Callable[[str], Any], mutate: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    payload = load_data("dockerhub-push-int.json")
    mutate(payload)
    with pytest.raises(InputError) as info:
        parse_document(payload, "hub.json")
    assert str(info.value).startswith("hub.json: not a valid Docker Hub webhook payload")
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_every_problem_is_listed_with_its_index(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    push["target"]["digest"] = "nope"
    push["timestamp"] = 7
    with pytest.raises(InputError) as info:
        parse_document([{"events": []}, {"events": [push]}], "reg.json")
    assert "$[1].events[0].target.digest: 'nope' does not match" in str(info.value)
    assert "$[1].events[0].timestamp: expected string, got number" in str(info.value)


def test_tagged_push_needs_digest(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    del push["target"]["digest"]
    with pytest.raises(InputError, match=r"\$.events\[0\].target: 'digest' is a required"):
        parse_document({"events": [push]}, "x")


def test_bad_timestamp(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    push["timestamp"] = "last tuesday"
    with pytest.raises(
        InputError, match=r"x: \$.events\[0\].timestamp: invalid timestamp 'last tuesday'"
    ):
        parse_document({"events": [push]}, "x")


@pytest.mark.parametrize(
    "payload", [{"hello": 1}, 42, "text", None, [{"x": 1}], {"repository": {"repo_name": "a/b"}}]
)
def test_unknown_payload(payload: Any) -> None:
    with pytest.raises(InputError, match="unknown webhook payload: expected one of these sources"):
        parse_document(payload, "x")


def test_load_events_from_files_and_stdin(
    tmp_path: Path, load_data: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hub.json"
    path.write_text(json.dumps(load_data("dockerhub-push-int.json")))
    import io

    monkeypatch.setattr(
        "sys.stdin", io.StringIO(json.dumps({"events": [_manifest_push(load_data)]}))
    )
    events = load_events([str(path), "-"])
    assert [e.source for e in events] == ["dockerhub", "registry"]


def test_load_events_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.json: no such file"):
        load_events([str(tmp_path / "missing.json")])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json: not valid JSON: .* at line 1, column 2"):
        load_events([str(bad)])
    with pytest.raises(InputError, match="is a directory"):
        load_events([str(tmp_path)])


def test_round_trip_through_plan_dict(load_data: Callable[[str], Any]) -> None:
    [event] = parse_document({"events": [_manifest_push(load_data)]}, "x")
    assert PushEvent.from_dict(event.to_dict()) == event


def test_parse_time_naive_is_utc() -> None:
    assert parse_time("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)


def test_registry_event_without_id_or_timestamp(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    del push["id"], push["timestamp"]
    [event] = parse_document({"events": [push]}, "x")
    assert (event.event_id, event.timestamp) == (None, None)


def test_a_service_inventory_is_not_a_webhook_payload(load_data: Callable[[str], Any]) -> None:
    for name in ("swarmpit-services.json", "docker-engine-services.json"):
        with pytest.raises(InputError, match=r"x: \$: this is a service inventory, not a webhook"):
            parse_document(load_data(name), "x")


def test_ignored_parts_say_why(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    pull = {**push, "action": "pull"}
    layer = {**push, "target": {**push["target"], "mediaType": "application/octet-stream"}}
    parsed = sources.parse_document({"events": [pull, layer, push]}, Context("x"))
    assert len(parsed.events) == 1
    assert parsed.ignored == (
        "registry: $.events[0]: pull: not a push",
        "registry: $.events[1]: push of application/octet-stream: not a manifest",
    )


def test_source_chosen_by_name_skips_detection(load_data: Callable[[str], Any]) -> None:
    hub = load_data("dockerhub-push-int.json")
    with pytest.raises(InputError, match="not a valid registry notification envelope"):
        sources.parse_document(hub, Context("x"), sources.by_name("registry"))
    with pytest.raises(UsageError, match="unknown source 'nope'"):
        sources.by_name("nope")


def test_a_payload_fitting_two_sources_asks_for_source(load_data: Callable[[str], Any]) -> None:
    both = {**load_data("dockerhub-push-int.json"), "events": []}
    with pytest.raises(InputError, match=r"fits several sources \(dockerhub, registry\)"):
        parse_document(both, "x")
    [event] = sources.parse_document(both, Context("x"), sources.by_name("dockerhub")).events
    assert event.source == "dockerhub"


def test_index_digest_wins_over_platform_manifests() -> None:
    ref = ImageRef.parse("r.io/app:v1")
    index = PushEvent("ghcr", ref, DIGEST, None, "1", "application/vnd.oci.image.index.v1+json")
    arm = PushEvent("ghcr", ref, "sha256:" + "b" * 64, None, "2", MANIFEST)
    other = PushEvent("ghcr", ImageRef.parse("r.io/other:v1"), DIGEST, None, "3", MANIFEST)
    unknown = PushEvent("registry", ref, "sha256:" + "c" * 64, None, "4")
    assert sources.collapse([arm, index, other, unknown]) == [index, other, unknown]
    assert sources.collapse([arm, other]) == [arm, other]
    # Counted: without an index among them, no event's image is even hashed.
    with mock.patch.object(ImageRef, "__hash__", side_effect=AssertionError):
        assert sources.collapse([arm, other, unknown]) == [arm, other, unknown]


MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("0001-01-01T00:00:00+01:00", "timestamp '0001-01-01T00:00:00+01:00' is out of range"),
        ("9999-12-31T23:59:59-01:00", "timestamp '9999-12-31T23:59:59-01:00' is out of range"),
        ("2026-13-01T00:00:00Z", "invalid timestamp '2026-13-01T00:00:00Z'"),
        ("x" * 10_000, "invalid timestamp 'xxxxxxxx"),
    ],
    ids=["year-1-east", "year-9999-west", "month-13", "huge"],
)
def test_timestamps_out_of_range(
    load_data: Callable[[str], Any], timestamp: str, expected: str
) -> None:
    push = _manifest_push(load_data)
    push["timestamp"] = timestamp
    with pytest.raises(InputError) as info:
        parse_document({"events": [push]}, "x")
    assert str(info.value).startswith(f"x: $.events[0].timestamp: {expected}")
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2026-11-27T03:51:11.095133397Z", datetime(2026, 11, 27, 3, 51, 11, 95133, UTC)),
    ],
)
def test_timestamps_at_the_edges(
    load_data: Callable[[str], Any], timestamp: str, expected: datetime
) -> None:
    push = _manifest_push(load_data)
    push["timestamp"] = timestamp
    [event] = parse_document({"events": [push]}, "x")
    assert event.timestamp == expected
    assert PushEvent.from_dict(event.to_dict()) == event


@pytest.mark.parametrize(
    ("pushed_at", "expected"),
    [
        (-1, "$.push_data.pushed_at: -1 is less than the minimum of 0"),
        (1e300, "$.push_data.pushed_at: 1e+300 is greater than the maximum of 253402300799"),
        (True, "$.push_data.pushed_at: expected number, got boolean"),
    ],
)
def test_dockerhub_pushed_at_out_of_range(
    load_data: Callable[[str], Any], pushed_at: Any, expected: str
) -> None:
    payload = load_data("dockerhub-push-int.json")
    payload["push_data"]["pushed_at"] = pushed_at
    with pytest.raises(InputError) as info:
        parse_document(payload, "hub.json")
    assert info.value.problems == (expected,)


def test_dockerhub_pushed_at_edges(load_data: Callable[[str], Any]) -> None:
    payload = load_data("dockerhub-push-int.json")
    payload["push_data"]["pushed_at"] = 253402300799
    [event] = parse_document(payload, "hub.json")
    assert event.timestamp == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://[::1/v2/app/manifests/x", "$.events[0].target.url: invalid URL: Invalid IPv6 URL"),
        (
            "http://registry:99999/v2/app/manifests/x",
            "$.events[0].target: invalid registry host 'registry:99999': the port must be 1-65535",
        ),
        (
            "http://myregistry/v2/app/manifests/x",
            "$.events[0].target: invalid registry host 'myregistry': a name without a dot",
        ),
        ("http://bad_host.io/v2/app", "$.events[0].target: invalid registry host 'bad_host.io'"),
    ],
    ids=["ipv6-unclosed", "port", "no-dot", "underscore"],
)
def test_registry_hosts_docker_would_refuse(
    load_data: Callable[[str], Any], url: str, expected: str
) -> None:
    push = _manifest_push(load_data)
    push["target"]["url"] = url
    with pytest.raises(InputError) as info:
        parse_document({"events": [push]}, "x")
    assert str(info.value).startswith(f"x: {expected}")


def test_ignored_events_quote_little(load_data: Callable[[str], Any]) -> None:
    push = _manifest_push(load_data)
    push["action"] = "pull" * 10_000
    parsed = sources.parse_document({"events": [push]}, Context("x"))
    assert parsed.events == ()
    [reason] = parsed.ignored
    assert reason.endswith("…: not a push") and len(reason) < 120
