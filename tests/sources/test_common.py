"""The checks every webhook source passes alike, one table-driven test each.

Which source claims each payload of the test data; what each fixture of data/sources/<name>/
yields (its push events, or why it deploys nothing) through ``parse``, ``validate`` and
``validate --format json``; and which service ``plan`` redeploys from each source's push
against its Swarmpit and Docker Engine inventories. The tables spell every expected value
out. What is particular to one source stays in its own ``test_<source>.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cdhelper import sources
from cdhelper.cli import cli
from cdhelper.sources import acr, artifactory, ecr, gar, ghcr, harbor, quay
from cdhelper.sources.base import Context, Parsed, Source
from sources.common import FIXTURES, parse

from helpers import DATA

# The sources these tests cover, by the name each fixture folder has.
SOURCES: dict[str, Source] = {
    "acr": acr.SOURCE,
    "artifactory": artifactory.SOURCE,
    "ecr": ecr.SOURCE,
    "gar": gar.SOURCE,
    "ghcr": ghcr.SOURCE,
    "harbor": harbor.SOURCE,
    "quay": quay.SOURCE,
}

# --- detection ----------------------------------------------------------------------------

# Every JSON file of the test data: each source's payloads, the Docker Hub and registry
# captures, and the service inventories (which no source may take for a payload).
DATA_FILES = sorted(DATA.rglob("*.json"))


def owner(path: Path) -> str | None:
    """The source whose fixture ``path`` is: its folder under data/sources (not inventories)."""
    if FIXTURES not in path.parents or path.parent.name == "inventories":
        return None
    return path.parent.name


def payloads(path: Path) -> list[Any]:
    """The items of a data file: its payloads, or the services of an inventory."""
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_each_payload_is_claimed_by_its_own_source_only(path: Path) -> None:
    """Own fixtures are detected as their source; nobody else's payload (nor a service) is."""
    name = owner(path)
    for payload in payloads(path):
        assert isinstance(payload, dict)
        claimed = [n for n, source in SOURCES.items() if source.detect(payload)]
        assert claimed == ([name] if name else [])
        if name:
            assert sources.detect(payload, Context(path.name)) is SOURCES[name]


# The keys that alone make a payload one source's, without any value of a real delivery.
DISTINCTIVE: dict[str, dict[str, Any]] = {
    "ecr": {
        "source": "aws.ecr",
        "detail-type": "ECR Image Action",
        "detail": {"action-type": "PUSH"},
    },
    "gar": {
        "message": {"data": "e30=", "messageId": "1"},
        "subscription": "projects/p/subscriptions/s",
    },
    "artifactory": {
        "domain": "docker",
        "event_type": "pushed",
        "data": {"repo_key": "docker-local"},
    },
}


@pytest.mark.parametrize(("name", "payload"), DISTINCTIVE.items(), ids=list(DISTINCTIVE))
def test_a_sources_distinctive_keys_are_claimed_by_it_only(
    name: str, payload: dict[str, Any]
) -> None:
    assert [n for n, source in SOURCES.items() if source.detect(payload)] == [name]


# --- what each fixture deploys ------------------------------------------------------------


@dataclass(frozen=True)
class Pushed:
    """A push event a fixture must give."""

    source: str
    registry: str
    repository: str
    tag: str
    digest: str | None
    timestamp: str | None = None  # as validate prints it: RFC 3339, UTC, microseconds
    event_id: str | None = None
    media_type: str | None = None
    is_index: bool = False

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    def json(self) -> dict[str, Any]:
        """The event as ``validate --format json`` prints it."""
        return {
            "registry": self.registry,
            "repository": self.repository,
            "tag": self.tag,
            "source": self.source,
            "image": self.image,
            "digest": self.digest,
            "timestamp": self.timestamp,
            "id": self.event_id,
        }

    def tsv(self) -> str:
        """The line ``validate`` prints for the event: source, image, digest, time (or -)."""
        return "\t".join([self.source, self.image, self.digest or "-", self.timestamp or "-"])


@dataclass(frozen=True)
class Fixture:
    """A payload file of data/sources/<source>/ and all that cdhelper must make of it."""

    source: str
    name: str
    events: tuple[Pushed, ...] = ()  # its push events, in order
    ignored: tuple[str, ...] = ()  # why (parts of) it deploy nothing, in order
    registry_host: str | None = None  # --registry-host, for a payload that cannot say it

    @property
    def path(self) -> Path:
        return FIXTURES / self.source / self.name

    @property
    def options(self) -> list[str]:
        """What validate needs besides the file."""
        return ["--registry-host", self.registry_host] if self.registry_host else []

    def __str__(self) -> str:
        return f"{self.source}/{self.name}"


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACR_DIGEST = "sha256:886a849a34e72f7b78551ea6af6fcae2fbcd3ef2266daed9c4f5e5629cee5b3e"
ACR_INDEX = "sha256:6e556548fdadd07bfeeb0d6b99f2f2edc858aeb045f12bf83135607c75286053"
ACR_AMD64 = "sha256:6483497403d3bbd5fa59898934d9be547b707a8496eb4a6b44a1f9b7929f0dfc"
ART_DIGEST = "sha256:b416d974092956b84d9f333ec6efcd579533a0ee07195de6257c315a67a32202"
ART_INDEX = "sha256:35c4a2c15539c6c1e4e5fa4e554dac323ad0107d8eb5c582d6ff386b383b7dce"
ECR_DIGEST = "sha256:3c949327e32569aff0c532905dcb9626892e4c9b109be08027bb1e44f7f96518"
ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
GAR_DIGEST = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
GAR_HOST = "europe-west1-docker.pkg.dev"
GAR_UNTAGGED = "sha256:8f1c9a1e6b7d2c3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8"
GHCR_INDEX = "sha256:f657c4e98e6f4f9651cdb5f52e1648a7d3e226aa9499c66c81fcfb1014dc3fd4"
GHCR_LEGACY = "sha256:c2d8c2168e1d73ea26a509ca53295ca650ffac9006f405157a8fe92cc527c2da"
GHCR_AMD64 = "sha256:87f10d78a72e83fb32a9fcaad8d6739fab2b05792a7e4e99ed7ef6d7f99a014c"
GHCR_ARM64 = "sha256:916f7bec1114cce982dc829b530022318f6197405d128f91fcd2c4c721ef209c"
GHCR_UNTAGGED = "no tag (a per-platform or untagged version)"
HARBOR_DIGEST = "sha256:185ae08f598e73f6636becd5cdd02e802f7a64a9e6171da61fad8e702abc0b13"
HARBOR_AMD64 = "sha256:58604f15bb8933b4d4a4953a10ab1f35d1367a4244511ddef33fbd93fd6455de"
HARBOR_ARM64 = "sha256:99f23a6875f41b4d333cdbb6e1c01754e9637fe01adb69f3813c51d1bc264563"
HARBOR_TIME = "2026-11-30T04:22:31.000000Z"

FIXTURE_TABLE = [
    # acr
    Fixture(
        "acr",
        "push.json",
        events=(
            Pushed(
                "acr",
                "acmeshop.azurecr.io",
                "shop/api",
                "v1.2.0",
                ACR_DIGEST,
                # ACR stamps nanoseconds; Python keeps microseconds.
                "2026-11-30T04:22:01.343145Z",
                "cb8c3971-9adc-488b-8e8b-43cbb4974ff5",
                DOCKER_MANIFEST,
            ),
        ),
    ),
    Fixture(
        "acr",
        "push-multiarch-storm.json",
        events=(
            Pushed(
                "acr",
                "acmeshop.azurecr.io",
                "shop/api",
                "v1.3.0",
                ACR_INDEX,
                "2026-11-30T04:30:11.884512Z",
                "9a8b7c6d-5e4f-4321-8fed-cba987654321",
                OCI_INDEX,
                is_index=True,
            ),
        ),
        ignored=(f"acr: push of shop/api@{ACR_AMD64} without a tag",),
    ),
    Fixture("acr", "delete.json", ignored=("acr: delete: not a push",)),
    Fixture("acr", "chart-push.json", ignored=("acr: chart_push: not a push",)),
    Fixture("acr", "chart-delete.json", ignored=("acr: chart_delete: not a push",)),
    # artifactory
    Fixture(
        "artifactory",
        "pushed.json",
        events=(
            Pushed("artifactory", "acme.jfrog.io", "docker-local/shop/web", "1.2.9", ART_DIGEST),
        ),
    ),
    Fixture(
        "artifactory",
        "pushed-multiarch.json",
        events=(
            Pushed(
                "artifactory",
                "acme.jfrog.io",
                "docker-local/shop/web",
                "1.3.0",
                ART_INDEX,
                media_type=DOCKER_LIST,
                is_index=True,
            ),
        ),
    ),
    Fixture(
        "artifactory",
        "pushed-no-origin.json",
        events=(
            Pushed(
                "artifactory", "registry.example.com", "docker-local/shop/web", "1.2.9", ART_DIGEST
            ),
        ),
        registry_host="Registry.Example.com",
    ),
    Fixture("artifactory", "deleted.json", ignored=("artifactory: docker deleted: not a push",)),
    Fixture("artifactory", "promoted.json", ignored=("artifactory: docker promoted: not a push",)),
    Fixture(
        "artifactory",
        "artifact-deployed.json",
        ignored=("artifactory: artifact deployed: not a Docker tag push",),
    ),
    # ecr
    Fixture(
        "ecr",
        "push.json",
        events=(
            Pushed(
                "ecr",
                ECR_HOST,
                "shop/web",
                "v1.4.2",
                ECR_DIGEST,
                "2026-11-28T14:03:27.000000Z",
                "4f5ec4d5-4de4-7aad-a046-56d5cfe1df0e",
                OCI_MANIFEST,
            ),
        ),
    ),
    Fixture("ecr", "delete.json", ignored=("ecr: DELETE: not a push",)),
    Fixture("ecr", "push-failed.json", ignored=("ecr: PUSH: result FAILURE, not SUCCESS",)),
    Fixture("ecr", "push-untagged.json", ignored=("ecr: push of shop/web without a tag",)),
    Fixture("ecr", "archive.json", ignored=("ecr: UPDATE_STORAGE_CLASS: not a push",)),
    Fixture("ecr", "scan.json", ignored=("ecr: ECR Image Scan: not an image action",)),
    Fixture(
        "ecr", "replication.json", ignored=("ecr: ECR Replication Action: not an image action",)
    ),
    Fixture(
        "ecr",
        "pull-through-cache.json",
        ignored=("ecr: ECR Pull Through Cache Action: not an image action",),
    ),
    # gar
    Fixture(
        "gar",
        "insert-tag.json",
        events=(
            Pushed(
                "gar",
                GAR_HOST,
                "acme-prod/containers/shop/web",
                "v1.4.2",
                GAR_DIGEST,
                "2026-11-28T14:03:27.412000Z",
                "13296573744391582",
            ),
        ),
    ),
    Fixture(
        "gar",
        "gcr-insert-tag.json",
        events=(
            Pushed(
                "gar",
                "gcr.io",
                "acme-prod/web",
                "v1.4.2",
                GAR_DIGEST,
                "2026-11-28T14:03:28.020000Z",
                "13296573744391599",
            ),
        ),
    ),
    Fixture(
        "gar",
        "insert-digest.json",
        ignored=(
            f"gar: INSERT of {GAR_HOST}/acme-prod/containers/shop/web@{GAR_UNTAGGED} without a tag",
        ),
    ),
    Fixture("gar", "delete-tag.json", ignored=("gar: DELETE: not a push",)),
    Fixture("gar", "delete-digest.json", ignored=("gar: DELETE: not a push",)),
    # ghcr
    Fixture(
        "ghcr",
        "package-published-index.json",
        # GitHub leaves version times at 0001-01-01 and sends no delivery id in the body.
        events=(
            Pushed(
                "ghcr",
                "ghcr.io",
                "acme-corp/shop/api",
                "v1.4.2",
                GHCR_INDEX,
                media_type=OCI_INDEX,
                is_index=True,
            ),
        ),
    ),
    Fixture(
        "ghcr",
        "registry-package-updated.json",
        events=(
            Pushed(
                "ghcr",
                "ghcr.io",
                "acme-corp/shop/api",
                "latest",
                GHCR_LEGACY,
                media_type=DOCKER_MANIFEST,
            ),
        ),
    ),
    Fixture(
        "ghcr",
        "package-published-platform-amd64.json",
        ignored=(f"ghcr: ghcr.io/acme-corp/shop/api@{GHCR_AMD64}: {GHCR_UNTAGGED}",),
    ),
    Fixture(
        "ghcr",
        "package-published-platform-arm64.json",
        ignored=(f"ghcr: ghcr.io/acme-corp/shop/api@{GHCR_ARM64}: {GHCR_UNTAGGED}",),
    ),
    Fixture(
        "ghcr",
        "package-published-npm.json",
        ignored=("ghcr: npm package 'shop-client': not a container image",),
    ),
    # harbor: never says the media type; the Default format has no event id
    Fixture(
        "harbor",
        "push-artifact.json",
        events=(
            Pushed(
                "harbor", "harbor.example.com", "shop/api", "v2.3.0", HARBOR_DIGEST, HARBOR_TIME
            ),
        ),
    ),
    Fixture(
        "harbor",
        "cloudevents-artifact-pushed.json",
        events=(
            Pushed(
                "harbor",
                "harbor.example.com",
                "shop/api",
                "v2.3.0",
                HARBOR_DIGEST,
                HARBOR_TIME,
                "4b2f89a6-548d-4c12-9993-8f82d1ec4c84",
            ),
        ),
    ),
    Fixture(
        "harbor",
        "push-multiarch-storm.json",
        events=(
            Pushed(
                "harbor", "harbor.example.com", "shop/api", "v2.3.0", HARBOR_DIGEST, HARBOR_TIME
            ),
        ),
        ignored=(
            "harbor: $[0].event_data.resources[0]: "
            f"push of harbor.example.com/shop/api@{HARBOR_AMD64} without a tag",
            "harbor: $[1].event_data.resources[0]: "
            f"push of harbor.example.com/shop/api@{HARBOR_ARM64} without a tag",
        ),
    ),
    Fixture(
        "harbor",
        "push-artifact-untagged.json",
        ignored=(
            "harbor: $.event_data.resources[0]: "
            f"push of harbor.example.com/shop/api@{HARBOR_AMD64} without a tag",
        ),
    ),
    Fixture("harbor", "pull-artifact.json", ignored=("harbor: PULL_ARTIFACT: not a push",)),
    Fixture("harbor", "delete-artifact.json", ignored=("harbor: DELETE_ARTIFACT: not a push",)),
    Fixture(
        "harbor", "scanning-completed.json", ignored=("harbor: SCANNING_COMPLETED: not a push",)
    ),
    Fixture("harbor", "quota-exceed.json", ignored=("harbor: QUOTA_EXCEED: not a push",)),
    Fixture("harbor", "replication.json", ignored=("harbor: REPLICATION: not a push",)),
    Fixture(
        "harbor",
        "cloudevents-artifact-deleted.json",
        ignored=("harbor: harbor.artifact.deleted: not a push",),
    ),
    # quay: sends no digest, no time, no id and no media type
    Fixture(
        "quay",
        "repo-push.json",
        events=(Pushed("quay", "quay.io", "acme/shop-api", "v3.1.0", None),),
    ),
    Fixture(
        "quay",
        "repo-push-test-notification.json",
        events=(
            Pushed("quay", "quay.internal.example.com:8443", "acme/shop-api", "latest", None),
            Pushed("quay", "quay.internal.example.com:8443", "acme/shop-api", "foo", None),
        ),
    ),
    Fixture(
        "quay",
        "repo-push-legacy.json",
        events=(Pushed("quay", "quay.io", "acme/shop-api", "v3.0.0", None),),
    ),
]
IGNORED = [f for f in FIXTURE_TABLE if not f.events]
PUSHES = [f for f in FIXTURE_TABLE if f.events]


def test_the_table_has_every_fixture_of_every_source() -> None:
    listed = sorted(str(f) for f in FIXTURE_TABLE)
    assert listed == sorted(f"{p.parent.name}/{p.name}" for p in FIXTURES.glob("*/*.json"))
    assert sorted({f.source for f in FIXTURE_TABLE}) == sorted(SOURCES)


@pytest.mark.parametrize("fixture", IGNORED, ids=str)
def test_a_delivery_that_deploys_nothing_says_why(fixture: Fixture) -> None:
    """No event, and one reason that starts with the source's name."""
    [reason] = fixture.ignored
    assert reason.startswith(f"{fixture.source}: ")
    assert parse(json.loads(fixture.path.read_text())) == Parsed(events=(), ignored=(reason,))


@pytest.mark.parametrize("fixture", PUSHES, ids=str)
def test_a_push_parses_to_its_events(fixture: Fixture) -> None:
    parsed = parse(json.loads(fixture.path.read_text()), registry_host=fixture.registry_host)
    assert parsed.ignored == fixture.ignored
    got = [
        (
            e.source,
            e.image.registry,
            e.image.repository,
            e.image.tag,
            e.image.tagged,
            e.digest,
            e.timestamp,
            e.event_id,
            e.media_type,
            e.is_index,
        )
        for e in parsed.events
    ]
    assert got == [
        (
            e.source,
            e.registry,
            e.repository,
            e.tag,
            e.image,
            e.digest,
            datetime.fromisoformat(e.timestamp) if e.timestamp else None,
            e.event_id,
            e.media_type,
            e.is_index,
        )
        for e in fixture.events
    ]


@pytest.mark.parametrize("fixture", FIXTURE_TABLE, ids=str)
def test_validate_names_the_source(runner: CliRunner, fixture: Fixture) -> None:
    """A line per push event, a note per reason to deploy nothing, then the count."""
    path = str(fixture.path)
    result = runner.invoke(cli, ["validate", *fixture.options, path])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [e.tsv() for e in fixture.events]
    assert result.stderr.splitlines() == [
        *(f"note: {path}: {reason}" for reason in fixture.ignored),
        f"1 valid file(s), {len(fixture.events)} push event(s)",
    ]


@pytest.mark.parametrize("fixture", FIXTURE_TABLE, ids=str)
def test_validate_json(runner: CliRunner, fixture: Fixture) -> None:
    args = ["validate", "--format", "json", *fixture.options, str(fixture.path)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [e.json() for e in fixture.events]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_validate_all_of_a_sources_fixtures_at_once(runner: CliRunner, source: str) -> None:
    """Lines and notes follow the files' order; the count is of them all."""
    fixtures = [f for f in FIXTURE_TABLE if f.source == source and not f.registry_host]
    result = runner.invoke(cli, ["validate", *(str(f.path) for f in fixtures)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [e.tsv() for f in fixtures for e in f.events]
    events = sum(len(f.events) for f in fixtures)
    assert result.stderr.splitlines() == [
        *(f"note: {f.path}: {reason}" for f in fixtures for reason in f.ignored),
        f"{len(fixtures)} valid file(s), {events} push event(s)",
    ]


# --- plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """``plan --event <source>/<fixture>`` against one of data/sources/<source>/inventories/:
    the one service it redeploys, and why."""

    event: str  # <source>/<fixture>
    inventory: str  # swarmpit or docker-engine: <inventory>-services.json
    service: str
    image: str
    current: str  # the digest the service runs
    target: str | None  # the digest it is to run; None where the webhook gives none
    reason: str
    options: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.event}-{self.inventory}"


def on_both(
    event: str,
    services: tuple[str, str],
    image: str,
    current: str,
    target: str,
    reason: str,
    options: tuple[str, ...] = (),
) -> list[Plan]:
    """The same redeploy planned from the Swarmpit and from the Docker Engine inventory."""
    swarmpit, docker_engine = services
    return [
        Plan(event, "swarmpit", swarmpit, image, current, target, reason, options),
        Plan(event, "docker-engine", docker_engine, image, current, target, reason, options),
    ]


ONES = "sha256:" + "1" * 64
NINES = "sha256:" + "9" * 64
PLANS = [
    *on_both(
        "acr/push.json",
        ("prod_acr", "acr_api"),
        "acmeshop.azurecr.io/shop/api:v1.2.0",
        ONES,
        ACR_DIGEST,
        "tag v1.2.0 pushed as sha256:886a849a34e7 via acr",
    ),
    *on_both(
        "artifactory/pushed-no-origin.json",
        ("shop_web", "shop_web"),
        "acme.jfrog.io/docker-local/shop/web:1.2.9",
        NINES,
        ART_DIGEST,
        "tag 1.2.9 pushed as sha256:b416d9740929 via artifactory",
        options=("--registry-host", "acme.jfrog.io"),
    ),
    Plan(
        "artifactory/pushed.json",
        "docker-engine",
        "shop_web",
        "acme.jfrog.io/docker-local/shop/web:1.2.9",
        NINES,
        ART_DIGEST,
        "tag 1.2.9 pushed as sha256:b416d9740929 via artifactory",
    ),
    *on_both(
        "ecr/push.json",
        ("shop_web", "shop_web"),
        f"{ECR_HOST}/shop/web:v1.4.2",
        NINES,
        ECR_DIGEST,
        "tag v1.4.2 pushed as sha256:3c949327e325 via ecr",
    ),
    *on_both(
        "gar/insert-tag.json",
        ("shop_web", "shop_web"),
        f"{GAR_HOST}/acme-prod/containers/shop/web:v1.4.2",
        NINES,
        GAR_DIGEST,
        "tag v1.4.2 pushed as sha256:6c3c624b58db via gar",
    ),
    *on_both(
        "ghcr/package-published-index.json",
        ("prod_ghcr", "ghcr_api"),
        "ghcr.io/acme-corp/shop/api:v1.4.2",
        ONES,
        GHCR_INDEX,
        "tag v1.4.2 pushed as sha256:f657c4e98e6f via ghcr",
    ),
    *on_both(
        "harbor/push-multiarch-storm.json",
        ("prod_harbor", "harbor_api"),
        "harbor.example.com/shop/api:v2.3.0",
        ONES,
        HARBOR_DIGEST,
        "tag v2.3.0 pushed as sha256:185ae08f598e via harbor",
    ),
    # Quay gives no digest: the Swarmpit backend deploys the tag. (The Docker Engine one asks
    # the registry for it first: test_quay.py.)
    Plan(
        "quay/repo-push.json",
        "swarmpit",
        "prod_quay",
        "quay.io/acme/shop-api:v3.1.0",
        ONES,
        None,
        "tag v3.1.0 pushed (the webhook gives no digest) via quay",
    ),
]


@pytest.mark.parametrize("case", PLANS, ids=str)
def test_plan_redeploys_the_service_that_follows_the_tag(runner: CliRunner, case: Plan) -> None:
    source = case.event.split("/")[0]
    inventory = FIXTURES / source / "inventories" / f"{case.inventory}-services.json"
    args = ["plan", "--event", str(FIXTURES / case.event), *case.options]
    result = runner.invoke(cli, [*args, "--inventory", str(inventory)])
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    actions = [
        (a["service"]["name"], a["image"], a["current_digest"], a["target_digest"], a["reason"])
        for a in plan["actions"]
    ]
    assert actions == [(case.service, case.image, case.current, case.target, case.reason)]
    assert [e["source"] for e in plan["events"]] == [source]
    assert result.stderr == "1 to redeploy, 0 skipped\n"
