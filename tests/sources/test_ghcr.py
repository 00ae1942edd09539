"""GHCR: GitHub ``package`` / ``registry_package`` webhooks (fixtures in data/sources/ghcr)."""

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
from cdhelper.sources import ghcr
from cdhelper.sources.base import Context, Parsed

from helpers import DATA

HERE = DATA / "sources" / "ghcr"
INDEX = "sha256:f657c4e98e6f4f9651cdb5f52e1648a7d3e226aa9499c66c81fcfb1014dc3fd4"
AMD64 = "sha256:87f10d78a72e83fb32a9fcaad8d6739fab2b05792a7e4e99ed7ef6d7f99a014c"
ARM64 = "sha256:916f7bec1114cce982dc829b530022318f6197405d128f91fcd2c4c721ef209c"
LEGACY = "sha256:c2d8c2168e1d73ea26a509ca53295ca650ffac9006f405157a8fe92cc527c2da"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE = "ghcr.io/acme-corp/shop/api:v1.4.2"
UNTAGGED = "no tag (a per-platform or untagged version)"
# What other sources' payloads look like, by their distinctive keys.
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


def test_index_push_is_one_event_with_its_digest_and_media_type() -> None:
    parsed = parse(load("package-published-index.json"))
    assert parsed.ignored == ()
    [event] = parsed.events
    assert (event.source, event.image.tagged, event.digest) == ("ghcr", IMAGE, INDEX)
    assert event.image.registry == "ghcr.io"
    assert event.image.repository == "acme-corp/shop/api"
    assert event.media_type == OCI_INDEX
    assert event.is_index
    # GitHub leaves version times at 0001-01-01 and sends no delivery id in the body.
    assert event.timestamp is None
    assert event.event_id is None


def test_legacy_registry_package_event() -> None:
    [event] = parse(load("registry-package-updated.json")).events
    assert (event.source, event.image.tagged, event.digest) == (
        "ghcr",
        "ghcr.io/acme-corp/shop/api:latest",
        LEGACY,
    )
    assert event.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert not event.is_index


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "package-published-platform-amd64.json",
            f"ghcr: ghcr.io/acme-corp/shop/api@{AMD64}: {UNTAGGED}",
        ),
        (
            "package-published-platform-arm64.json",
            f"ghcr: ghcr.io/acme-corp/shop/api@{ARM64}: {UNTAGGED}",
        ),
        (
            "package-published-npm.json",
            "ghcr: npm package 'shop-client': not a container image",
        ),
    ],
    ids=["platform-amd64", "platform-arm64", "npm"],
)
def test_deliveries_that_deploy_nothing_say_why(name: str, reason: str) -> None:
    assert parse(load(name)) == Parsed(events=(), ignored=(reason,))


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


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_detected_as_ghcr(path: Path) -> None:
    for payload in payloads(path):
        assert sources.detect(payload, Context("x")) is ghcr.SOURCE


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_sources_payloads_are_not_ghcr(path: Path) -> None:
    for payload in payloads(path):
        assert not ghcr.detect(payload)


@pytest.mark.parametrize("payload", OTHERS, ids=["ecr", "gar", "artifactory"])
def test_other_sources_keys_are_not_ghcr(payload: dict[str, Any]) -> None:
    assert not ghcr.detect(payload)


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
    with pytest.raises(InputError) as info:
        sources.parse_payload(payload, Context("gh.json"), ghcr.SOURCE)
    assert str(info.value).startswith("gh.json: not a valid GitHub Packages (GHCR) package webhook")
    assert expected in info.value.problems, info.value.problems


def test_a_registry_package_schema_error_names_its_key() -> None:
    payload = load("registry-package-updated.json")
    payload["registry_package"]["package_type"] = None
    with pytest.raises(InputError) as info:
        parse(payload)
    assert "$.registry_package.package_type: expected string, got null" in info.value.problems


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
    with pytest.raises(InputError) as info:
        parse(payload)
    assert str(info.value).startswith(message)


def test_cli_validate_names_the_source(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "validate",
            str(HERE / "package-published-index.json"),
            str(HERE / "package-published-npm.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"ghcr\t{IMAGE}\t{INDEX}\t-"]
    assert (
        f"note: {HERE / 'package-published-npm.json'}: "
        "ghcr: npm package 'shop-client': not a container image"
    ) in result.stderr
    assert "2 valid file(s), 1 push event(s)" in result.stderr


def test_cli_validate_json(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", "--format", "json", str(HERE / "package-published-index.json")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "registry": "ghcr.io",
            "repository": "acme-corp/shop/api",
            "tag": "v1.4.2",
            "source": "ghcr",
            "image": IMAGE,
            "digest": INDEX,
            "timestamp": None,
            "id": None,
        }
    ]


@pytest.mark.parametrize(
    ("inventory", "service"),
    [("swarmpit-services.json", "prod_ghcr"), ("docker-engine-services.json", "ghcr_api")],
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
            str(HERE / "package-published-index.json"),
            "--inventory",
            str(HERE / "inventories" / inventory),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [
        (service, INDEX)
    ]
    assert plan["events"][0]["source"] == "ghcr"
    assert result.stderr == "1 to redeploy, 0 skipped\n"
