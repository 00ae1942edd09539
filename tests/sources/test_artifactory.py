"""JFrog Artifactory webhooks, docker domain (source ``artifactory``)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from cdhelper.cli import cli
from cdhelper.sources import artifactory
from cdhelper.sources.base import Parsed
from sources.common import FIXTURES, input_error, loader, schema_error
from sources.common import parse as parse_document

HERE = FIXTURES / "artifactory"
load = loader(HERE)
NO_ORIGIN = str(HERE / "pushed-no-origin.json")
IMAGE = "acme.jfrog.io/docker-local/shop/web:1.2.9"
NO_HOST = (
    "art.json: $: the payload does not say the registry host (no jpd_origin): "
    "pass --registry-host HOST"
)


def parse(payload: Any, registry_host: str | None = None) -> Parsed:
    return parse_document(payload, "art.json", registry_host)


def test_without_jpd_origin_the_host_must_be_given() -> None:
    error = input_error(load("pushed-no-origin.json"), "art.json")
    assert str(error) == NO_HOST
    [event] = parse(load("pushed-no-origin.json"), "artifactory.example.com:8443").events
    assert event.image.tagged == "artifactory.example.com:8443/docker-local/shop/web:1.2.9"


def test_registry_host_wins_over_jpd_origin() -> None:
    [event] = parse(load("pushed.json"), "docker.acme.example").events
    assert event.image.tagged == "docker.acme.example/docker-local/shop/web:1.2.9"


def test_jpd_origin_with_a_context_path_and_credentials() -> None:
    payload = load("pushed.json")
    payload["jpd_origin"] = "https://svc@Dist.Example.co:8443/artifactory"
    [event] = parse(payload).events
    assert event.image.registry == "dist.example.co:8443"


def test_image_name_is_not_trusted_for_the_path() -> None:
    payload = load("pushed.json")
    payload["data"]["image_name"] = "something-else"
    [event] = parse(payload).events
    assert event.image.tagged == IMAGE


def test_jfrogs_documented_sample_values_are_valid_for_other_events() -> None:
    payload = load("deleted.json")
    payload["data"] = {"repo_key": "sample_repo", "sha256": "sample_checksum", "size": 0}
    assert parse(payload).ignored == ("artifactory: docker deleted: not a push",)


def test_a_push_named_by_digest_is_no_tag() -> None:
    payload = load("pushed.json")
    payload["data"]["tag"] = "sha256__" + "a" * 64
    payload["data"]["path"] = f"shop/web/sha256__{'a' * 64}/manifest.json"
    assert parse(payload).ignored == (
        f"artifactory: docker pushed sha256__{'a' * 64}: a digest, not a tag",
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"path": "shop/web/1.2.8/manifest.json"},
            "art.json: $.data.path: expected <image path>/1.2.9/manifest.json or "
            ".../1.2.9/list.manifest.json, got 'shop/web/1.2.8/manifest.json'",
        ),
        (
            {"path": "1.2.9/manifest.json"},
            "art.json: $.data.path: expected <image path>/1.2.9/manifest.json or "
            ".../1.2.9/list.manifest.json, got '1.2.9/manifest.json'",
        ),
        (
            {"path": "Shop/web/1.2.9/manifest.json"},
            "art.json: $.data.path: invalid repository 'docker-local/Shop/web' in image "
            "reference 'docker-local/Shop/web': components are lower-case letters, digits "
            "and separators (. _ __ -)",
        ),
        (
            {"tag": "v 1", "path": "shop/web/v 1/manifest.json"},
            "art.json: $.data.tag: invalid tag 'v 1': expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        ),
    ],
    ids=["other-tag-in-path", "no-image-path", "upper-case-path", "bad-tag"],
)
def test_bad_values_are_input_errors_with_the_path(data: dict[str, Any], expected: str) -> None:
    payload = load("pushed.json")
    payload["data"].update(data)
    assert str(input_error(payload, "art.json")) == expected


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        ("origin", None, "art.json: $.jpd_origin: no registry host in 'origin': "),
        ("https://", None, "art.json: $.jpd_origin: no registry host in 'https://': "),
        ("", None, NO_HOST),
        ("https://[::1/x", None, "art.json: $.jpd_origin: no registry host in 'https://[::1/x'"),
        ("https://acme.jfrog.io", "not a host", "art.json: $: --registry-host 'not a host' is"),
        ("https://acme.jfrog.io", "artifactory", "art.json: $: --registry-host 'artifactory' is"),
    ],
    ids=["no-scheme", "no-host", "empty", "bad-url", "bad-registry-host", "single-label-host"],
)
def test_a_bad_host_is_an_input_error(origin: str, host: str | None, expected: str) -> None:
    payload = load("pushed.json")
    payload["jpd_origin"] = origin
    assert str(input_error(payload, "art.json", host)).startswith(expected)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p["data"].update(sha256="sha256:b416"), "$.data.sha256: 'sha256:b416'"),
        (lambda p: p["data"].update(repo_key="Docker-Local"), "$.data.repo_key: 'Docker-Local'"),
        (lambda p: p["data"].pop("path"), "$.data: 'path' is a required property"),
        (lambda p: p["data"].update(tag=""), "$.data.tag: '' should be non-empty"),
        (lambda p: p.update(domain=1), "$.domain: expected string, got number"),
        (lambda p: p.pop("data"), "$: 'data' is a required property"),
        (lambda p: p.update(jpd_origin=None), "$.jpd_origin: expected string, got null"),
    ],
    ids=["sha256-prefixed", "upper-repo-key", "no-path", "empty-tag", "domain", "no-data", "null"],
)
def test_schema_errors_name_the_json_path(change: Any, expected: str) -> None:
    payload = load("pushed.json")
    change(payload)
    error = schema_error(payload, artifactory.SOURCE, "art.json")
    assert error.message == "art.json: not a valid JFrog Artifactory webhook"
    assert any(p.startswith(expected) for p in error.problems), error.problems


# --- CLI ---------------------------------------------------------------------------------


def test_validate_without_a_host_asks_for_registry_host(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", NO_ORIGIN])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {NO_ORIGIN}: $: the payload does not say the registry host (no jpd_origin): "
        "pass --registry-host HOST"
    )
    assert "Traceback" not in result.output
