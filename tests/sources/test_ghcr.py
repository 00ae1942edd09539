"""GHCR: GitHub ``package`` / ``registry_package`` webhooks (fixtures in data/sources/ghcr)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cdhelper import sources
from cdhelper.sources import ghcr
from cdhelper.sources.base import Parsed
from sources.common import FIXTURES, input_error, loader, parse, schema_error

HERE = FIXTURES / "ghcr"
load = loader(HERE)
INDEX = "sha256:f657c4e98e6f4f9651cdb5f52e1648a7d3e226aa9499c66c81fcfb1014dc3fd4"
AMD64 = "sha256:87f10d78a72e83fb32a9fcaad8d6739fab2b05792a7e4e99ed7ef6d7f99a014c"
ARM64 = "sha256:916f7bec1114cce982dc829b530022318f6197405d128f91fcd2c4c721ef209c"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE = "ghcr.io/acme-corp/shop/api:v1.4.2"
UNTAGGED = "no tag (a per-platform or untagged version)"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.update(action="deleted"), "ghcr: deleted: not a publish"),
        (
            lambda p: p["package"].update(package_type="MAVEN", name="shop-lib"),
            "ghcr: MAVEN package 'shop-lib': not a container image",
        ),
        (
            lambda p: p["package"]["package_version"]["container_metadata"].pop("tag"),
            f"ghcr: ghcr.io/acme-corp/shop/api: {UNTAGGED}",
        ),
        (
            lambda p: p["package"]["package_version"].pop("container_metadata"),
            f"ghcr: ghcr.io/acme-corp/shop/api: {UNTAGGED}",
        ),
    ],
    ids=["other-action", "maven", "no-tag-object", "no-container-metadata"],
)
def test_variants_that_deploy_nothing(mutate: Callable[[Any], Any], reason: str) -> None:
    payload = load("package-published-index.json")
    mutate(payload)
    assert parse(payload) == Parsed(events=(), ignored=(reason,))


@pytest.mark.parametrize(
    ("mutate", "image"),
    [
        (lambda p: p["package"].update(namespace="Acme-Corp"), IMAGE),
        (lambda p: p["package"].update(name="Shop/API"), IMAGE),
        (lambda p: p["package"].pop("namespace"), IMAGE),
        (lambda p: p["package"].update(namespace=None), IMAGE),
        (lambda p: p["package"].update(package_type="container"), IMAGE),
        (lambda p: p.update(action="updated"), IMAGE),
        (
            lambda p: p["package"]["package_version"]["container_metadata"]["tag"].update(
                name="Release_2"
            ),
            "ghcr.io/acme-corp/shop/api:Release_2",
        ),
    ],
    ids=[
        "namespace-mixed-case",
        "name-mixed-case",
        "owner-login-fallback",
        "namespace-null",
        "package-type-lower",
        "updated",
        "tag-keeps-case",
    ],
)
def test_image_is_lower_cased_owner_and_name(mutate: Callable[[Any], Any], image: str) -> None:
    payload = load("package-published-index.json")
    mutate(payload)
    [event] = parse(payload).events
    assert event.image.tagged == image


def test_version_time_is_used_when_github_sets_it() -> None:
    payload = load("package-published-index.json")
    payload["package"]["package_version"]["updated_at"] = "2026-11-30T04:22:58Z"
    [event] = parse(payload).events
    assert event.timestamp == datetime(2026, 11, 30, 4, 22, 58, tzinfo=UTC)


def test_multi_arch_storm_is_one_event(tmp_path: Path) -> None:
    storm = tmp_path / "storm.json"
    names = [
        "package-published-platform-amd64.json",
        "package-published-platform-arm64.json",
        "package-published-index.json",
    ]
    storm.write_text(json.dumps([load(n) for n in names]))
    loaded = sources.load_events([str(storm)])
    assert [(e.image.tagged, e.digest) for e in loaded.events] == [(IMAGE, INDEX)]
    assert loaded.ignored == (
        f"{storm}: ghcr: ghcr.io/acme-corp/shop/api@{AMD64}: {UNTAGGED}",
        f"{storm}: ghcr: ghcr.io/acme-corp/shop/api@{ARM64}: {UNTAGGED}",
    )


def test_tagged_platform_deliveries_collapse_into_the_index(tmp_path: Path) -> None:
    """Should GitHub ever name the tag on a platform's delivery, the index still wins."""
    paths = []
    for name in ("package-published-platform-amd64.json", "package-published-index.json"):
        payload = load(name)
        payload["package"]["package_version"]["container_metadata"]["tag"]["name"] = "v1.4.2"
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(payload))
    loaded = sources.load_events([str(p) for p in paths])
    assert [(e.digest, e.media_type) for e in loaded.events] == [(INDEX, OCI_INDEX)]


def test_a_package_key_alone_is_not_ghcr() -> None:
    assert not ghcr.detect({"package": {"name": "x"}})
    assert not ghcr.detect({"action": "published", "package": "x"})


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.pop("action"), "$: 'action' is a required property"),
        (
            lambda p: p["package"].update(package_type=5),
            "$.package.package_type: expected string, got number",
        ),
        (lambda p: p["package"].pop("name"), "$.package: 'name' is a required property"),
        (
            lambda p: [p["package"].pop(k) for k in ("namespace", "owner")],
            "$.package: 'namespace' is a required property",
        ),
        (
            lambda p: p["package"]["package_version"]["container_metadata"]["tag"].update(name=7),
            "$.package.package_version.container_metadata.tag.name: expected string or null, "
            "got number",
        ),
        (
            lambda p: p["package"]["package_version"].update(container_metadata=[]),
            "$.package.package_version.container_metadata: expected object or null, got array",
        ),
    ],
    ids=["no-action", "type-number", "no-name", "no-owner", "tag-number", "metadata-array"],
)
def test_schema_errors_name_the_path(mutate: Callable[[Any], Any], expected: str) -> None:
    payload = load("package-published-index.json")
    mutate(payload)
    error = schema_error(payload, ghcr.SOURCE, "gh.json")
    assert str(error).startswith("gh.json: not a valid GitHub Packages (GHCR) package webhook")
    assert expected in error.problems, error.problems


def test_a_registry_package_schema_error_names_its_key() -> None:
    payload = load("registry-package-updated.json")
    payload["registry_package"]["package_type"] = None
    error = input_error(payload)
    assert "$.registry_package.package_type: expected string, got null" in error.problems


TAG = "$.package.package_version.container_metadata.tag"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda p: p["package"]["package_version"]["container_metadata"]["tag"].update(
                name="v1 beta"
            ),
            f"x: {TAG}.name: invalid tag 'v1 beta'",
        ),
        (
            lambda p: p["package"]["package_version"]["container_metadata"]["tag"].update(
                digest="sha256:abc"
            ),
            f"x: {TAG}.digest: invalid digest 'sha256:abc': expected sha256:<64 hex digits>",
        ),
        (
            lambda p: p["package"].update(name="shop api"),
            f"x: {TAG}.name: invalid repository 'acme-corp/shop api'",
        ),
        (
            lambda p: p["package"]["package_version"].update(updated_at="last week"),
            "x: $.package.package_version.updated_at: invalid timestamp 'last week'",
        ),
    ],
    ids=["tag", "digest", "name", "time"],
)
def test_bad_values_name_the_path(mutate: Callable[[Any], Any], message: str) -> None:
    payload = load("package-published-index.json")
    mutate(payload)
    assert str(input_error(payload)).startswith(message)
