"""Google Artifact Registry notifications via a Pub/Sub push subscription (source ``gar``)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cdhelper import sources
from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.sources import gar
from cdhelper.sources.base import Parsed
from sources.common import FIXTURES, input_error, loader, schema_error
from sources.common import parse as parse_document

HERE = FIXTURES / "gar"
load = loader(HERE)
HOST = "europe-west1-docker.pkg.dev"
NAME = f"{HOST}/acme-prod/containers/shop/web"
DIGEST = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"


def parse(payload: Any) -> Parsed:
    return parse_document(payload, "gar.json")


def with_data(notification: Any, name: str = "insert-tag.json") -> dict[str, Any]:
    """The fixture's envelope around another notification (any JSON value)."""
    payload: dict[str, Any] = load(name)
    text = json.dumps(notification, separators=(",", ":"))
    payload["message"]["data"] = base64.b64encode(text.encode()).decode()
    return payload


def test_snake_case_envelope_fields_and_nanosecond_publish_time() -> None:
    payload = load("insert-tag.json")
    message = payload["message"]
    del message["messageId"], message["publishTime"]
    message["publish_time"] = "2026-11-28T14:03:27.412345678Z"
    message["attributes"] = {"key": "value"}
    payload["deliveryAttempt"] = 2
    [event] = parse(payload).events
    assert event.event_id == "13296573744391582"
    assert event.timestamp == datetime(2026, 11, 28, 14, 3, 27, 412345, tzinfo=UTC)


def test_envelope_without_id_or_time() -> None:
    payload = load("insert-tag.json")
    payload["message"] = {"data": payload["message"]["data"]}
    [event] = parse(payload).events
    assert (event.event_id, event.timestamp) == (None, None)


def test_a_bare_tag_names_the_digests_image() -> None:
    [event] = parse(
        with_data({"action": "INSERT", "digest": f"{NAME}@{DIGEST}", "tag": "v2"})
    ).events
    assert event.image.tagged == f"{NAME}:v2"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("not base64!", "gar.json: $.message.data: not valid base64"),
        ("eyJhY3Rpb24", "gar.json: $.message.data: not valid base64"),
        (
            base64.b64encode(b"INSERT gcr.io/x:1").decode(),
            "gar.json: $.message.data: decodes to text that is not JSON: "
            "Expecting value at column 1",
        ),
        (
            base64.b64encode(b'{"action": "INSERT",').decode(),
            "gar.json: $.message.data: decodes to text that is not JSON: "
            "Expecting property name enclosed in double quotes at column 21",
        ),
        (
            base64.b64encode(b"\xff\xfe{}").decode(),
            "gar.json: $.message.data: decodes to bytes that are not UTF-8 text",
        ),
    ],
    ids=["not-base64", "truncated-base64", "not-json", "truncated-json", "not-utf8"],
)
def test_undecodable_data_is_an_input_error_at_message_data(data: str, expected: str) -> None:
    payload = load("insert-tag.json")
    payload["message"]["data"] = data
    assert str(input_error(payload, "gar.json")) == expected


@pytest.mark.parametrize(
    ("notification", "expected"),
    [
        ({"action": "INSERT", "tag": f"{NAME}:v1"}, "$.message.data: 'digest' is a required"),
        ({"digest": f"{NAME}@{DIGEST}"}, "$.message.data: 'action' is a required property"),
        ({"action": "DELETE"}, "$.message.data: 'digest' is a required property"),
        (["INSERT"], "$.message.data: expected object, got array"),
        (
            {"action": "INSERT", "digest": f"{NAME}@{DIGEST}", "tag": 5},
            "$.message.data.tag: expected string, got number",
        ),
        (
            {"action": "INSERT", "digest": DIGEST, "tag": f"{NAME}:v1"},
            "$.message.data.digest: 'sha256:6c3c",
        ),
    ],
    ids=["insert-no-digest", "no-action", "delete-nothing", "array", "tag-number", "bare-digest"],
)
def test_decoded_data_failing_its_schema_names_the_path(notification: Any, expected: str) -> None:
    error = input_error(with_data(notification), "gar.json")
    assert error.message == "gar.json: not a valid Artifact Registry notification"
    assert any(p.startswith(expected) for p in error.problems), error.problems


def test_paths_inside_a_list_of_payloads_are_the_documents(tmp_path: Path) -> None:
    batch = tmp_path / "batch.json"
    bad = load("insert-tag.json")
    bad["message"]["data"] = "%%%"
    batch.write_text(json.dumps([load("delete-tag.json"), bad]))
    with pytest.raises(InputError) as caught:
        sources.load_events([str(batch)])
    assert str(caught.value) == f"{batch}: $[1].message.data: not valid base64"
    batch.write_text(
        json.dumps(
            [load("delete-tag.json"), with_data({"action": 1, "digest": f"{NAME}@{DIGEST}"})]
        )
    )
    with pytest.raises(InputError) as caught:
        sources.load_events([str(batch)])
    assert caught.value.problems == ("$[1].message.data.action: expected string, got number",)


@pytest.mark.parametrize(
    ("notification", "expected"),
    [
        (
            {"action": "INSERT", "digest": f"{NAME}@{DIGEST}", "tag": f"{NAME}:v1 beta"},
            "gar.json: $.message.data.tag: invalid tag 'v1 beta': "
            "expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        ),
        (
            {"action": "INSERT", "digest": f"{NAME}@sha256:abc", "tag": f"{NAME}:v1"},
            "gar.json: $.message.data.digest: invalid digest 'sha256:abc': "
            "expected sha256:<64 hex digits>",
        ),
        (
            {"action": "INSERT", "digest": f"{NAME}@{DIGEST}", "tag": f"{HOST}/acme/other:v1"},
            f"gar.json: $.message.data.tag: a tag of {HOST}/acme/other, but the digest is of "
            f"{NAME}",
        ),
        (
            {"action": "INSERT", "digest": f"shop/web@{DIGEST}", "tag": "shop/web:v1"},
            "gar.json: $.message.data.digest: no registry host in 'shop/web': "
            "expected <host>/<path>",
        ),
        (
            {"action": "INSERT", "digest": f"{HOST}/Acme/web@{DIGEST}", "tag": "v1"},
            f"gar.json: $.message.data.digest: invalid repository 'Acme/web' in image "
            f"reference '{HOST}/Acme/web': components are lower-case letters, digits and "
            "separators (. _ __ -)",
        ),
        (
            {"action": "INSERT", "digest": f"bad_host.io/web@{DIGEST}", "tag": "v1"},
            "gar.json: $.message.data.digest: invalid registry host 'bad_host.io' in image "
            "reference 'bad_host.io/web'",
        ),
    ],
    ids=["bad-tag", "short-digest", "other-image", "no-host", "upper-case", "bad-host"],
)
def test_bad_values_are_input_errors_with_the_path(notification: Any, expected: str) -> None:
    assert str(input_error(with_data(notification), "gar.json")) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p["message"].pop("data"), "$.message: 'data' is a required property"),
        (lambda p: p["message"].update(data=7), "$.message.data: expected string, got number"),
        (lambda p: p.pop("subscription"), "$: 'subscription' is a required property"),
        (
            lambda p: p["message"].update(attributes={"n": 1}),
            "$.message.attributes.n: expected string, got number",
        ),
    ],
    ids=["no-data", "data-number", "no-subscription", "attribute-number"],
)
def test_envelope_schema_errors_name_the_path(change: Any, expected: str) -> None:
    payload = load("insert-tag.json")
    change(payload)
    error = schema_error(payload, gar.SOURCE, "gar.json")
    assert error.message.startswith("gar.json: not a valid Google Artifact Registry")
    assert any(p.startswith(expected) for p in error.problems), error.problems


def test_bad_publish_time_is_an_input_error() -> None:
    payload = load("insert-tag.json")
    payload["message"]["publishTime"] = "noon"
    error = input_error(payload, "gar.json")
    assert str(error) == (
        "gar.json: $.message.publishTime: invalid timestamp 'noon': expected RFC 3339"
    )


# --- CLI ---------------------------------------------------------------------------------


def test_validate_reports_bad_data_without_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    payload = load("insert-tag.json")
    payload["message"]["data"] = "!!"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "0 valid file(s), 0 push event(s)",
        f"error: {bad}: $.message.data: not valid base64",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000, "gar.json: $.message.data: decodes to JSON nested deeper than 64"),
        (
            '{"action": ' + "1" * 5000 + "}",
            "gar.json: not valid JSON: $.message.data.action: integer with 5000 digits",
        ),
        (
            '{"action": "INSERT", "action": "DELETE"}',
            "gar.json: not valid JSON: $.message.data: duplicate key 'action'",
        ),
        ('{"action": NaN}', "gar.json: not valid JSON: $.message.data.action: NaN is not JSON"),
    ],
    ids=["deep", "huge-int", "duplicate-key", "nan"],
)
def test_the_decoded_notification_is_read_as_strictly_as_a_file(text: str, expected: str) -> None:
    payload = load("insert-tag.json")
    payload["message"]["data"] = base64.b64encode(text.encode()).decode()
    with pytest.raises(InputError) as caught:
        parse(payload)
    assert str(caught.value).startswith(expected)
