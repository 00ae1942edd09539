"""Release policies against the real registry and the private Swarm: semver ranges (never
down, pre-releases ignored), the platform check, a minimum age counted from first sight."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import yaml
from swarm import running_digests, spec_image

from helpers import docker_inventory
from images import image, index
from servers import Dockerd, Registry

Run = Callable[..., Any]
VERSIONS = ("v1.4.0", "v1.4.2", "v1.4.3-rc.1", "v1.5.0", "v2.0.0")
BUILD_TAGS = ("v1.5.0_0a1b2c3", "v1.6.0_4d5e6f7", "v1", "v1.5", "TEST")


def semver(rng: str) -> dict[str, str]:
    return {"cdhelper.policy": f"semver:{rng}"}


def test_semver_ranges_on_the_real_registry(
    registry: Registry, cli_run: Run, tmp_path: Path
) -> None:
    digests = {tag: registry.push("pol/app", tag, image(f"pol-app-{tag}")) for tag in VERSIONS}
    for tag in BUILD_TAGS:  # the convention's moving and build tags point at newer images
        registry.push("pol/app", tag, image(f"pol-app-{tag}"))
    repo = f"{registry.host}/pol/app"
    inventory = docker_inventory(
        tmp_path,
        [
            {
                "name": "tilde",
                "image": f"{repo}:v1.4.0@{digests['v1.4.0']}",
                "labels": semver("~1.4"),
            },
            {
                "name": "caret",
                "image": f"{repo}:v1.4.2@{digests['v1.4.2']}",
                "labels": semver("^1.4"),
            },
            {
                "name": "above",
                "image": f"{repo}:v2.0.0@{digests['v2.0.0']}",
                "labels": semver("^1.4"),
            },
            {
                "name": "rc",
                "image": f"{repo}:v1.4.2@{digests['v1.4.2']}",
                "labels": semver(">=1.4.3-rc.0 <1.4.4"),
            },
        ],
    )
    out = tmp_path / "plan.yaml"
    result = cli_run("plan", "--smart", "--inventory", inventory, "-o", str(out))
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(out.read_text())
    assert [
        (a["service"]["name"], a["current_image"], a["image"], a["target_digest"])
        for a in plan["actions"]
    ] == [
        ("caret", f"{repo}:v1.4.2", f"{repo}:v1.5.0", digests["v1.5.0"]),
        ("rc", f"{repo}:v1.4.2", f"{repo}:v1.4.3-rc.1", digests["v1.4.3-rc.1"]),
        ("tilde", f"{repo}:v1.4.0", f"{repo}:v1.4.2", digests["v1.4.2"]),
    ]
    [above] = plan["skipped"]
    assert (above["service"]["name"], above["rule"]) == ("above", "semver")
    assert "never downgraded" in above["reason"]
    shown = cli_run("show", str(out)).stdout
    assert "TAG CHANGE: v1.4.2 -> v1.5.0" in shown
    # one tag listing for the repository, whatever the number of services
    lists = [uri for method, uri, _ in registry.access_log() if "/pol/app/tags/list" in uri]
    assert len(lists) == 1

    # a minimum age counted from when cdhelper first saw each digest: all too new today
    state = tmp_path / "state"
    args = ["plan", "--smart", "--inventory", inventory, "--min-age", "1h", "--state", str(state)]
    result = cli_run(*args, "-o", str(out))
    assert result.exit_code == 0, result.output
    aged = yaml.safe_load(out.read_text())
    assert aged["actions"] == []
    assert [s["rule"] for s in aged["skipped"]] == ["semver", "min-age", "min-age", "min-age"]
    assert "too new: first seen by cdhelper" in aged["skipped"][1]["reason"]
    assert (state / "first-seen.json").exists()


def test_semver_apply_and_platform_check_on_the_swarm(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/pol/swarm"
    registry.push("pol/swarm", "v1.4.0", image("pol-swarm-v140"))
    make_service("pol-semver", f"{repo}:v1.4.0", "--label", "cdhelper.policy=semver:^1.4")
    registry.push("pol/plat", "v1", image("pol-plat-v1"))
    make_service("pol-platform", f"{registry.host}/pol/plat:v1")
    new = registry.push("pol/swarm", "v1.5.0", image("pol-swarm-v150"))
    registry.push("pol/swarm", "v1.5.1-rc.1", image("pol-swarm-rc"))
    # an index without this node's platform (linux/amd64) under the followed tag
    registry.push("pol/plat", "v1", index("pol-plat-foreign", ("arm64", "s390x")))

    out = tmp_path / "plan.yaml"
    args = ["plan", "--smart", "--docker-host", dockerd.host, "--filter", "name=pol-*"]
    result = cli_run(*args, "-o", str(out))
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(out.read_text())
    assert [(a["service"]["name"], a["tag"], a["target_digest"]) for a in plan["actions"]] == [
        ("pol-semver", "v1.5.0", new)
    ]
    [skip] = plan["skipped"]
    assert (skip["service"]["name"], skip["rule"]) == ("pol-platform", "platform")
    assert "has no image for linux/amd64" in skip["reason"]
    assert "the index offers linux/arm64, linux/s390x" in skip["reason"]

    result = cli_run("apply", str(out), "--wait", "--timeout", "120")
    assert result.exit_code == 0, result.output
    assert spec_image(api, "pol-semver") == f"{repo}:v1.5.0@{new}"
    assert running_digests(api, "pol-semver") == {new}
    again = cli_run("apply", str(out))
    assert again.exit_code == 0 and "already-done" in again.stdout


def test_min_age_from_the_image_config_created(
    registry: Registry, cli_run: Run, tmp_path: Path
) -> None:
    old = registry.push("pol/aged", "v1", image("pol-aged-old", created="2020-01-01T00:00:00Z"))
    fresh = registry.push("pol/aged", "v2", image("pol-aged-new", created="2999-01-01T00:00:00Z"))
    repo = f"{registry.host}/pol/aged"
    inventory = docker_inventory(
        tmp_path,
        [{"name": "old", "image": f"{repo}:v1"}, {"name": "fresh", "image": f"{repo}:v2"}],
    )
    out = tmp_path / "plan.yaml"
    result = cli_run("plan", "--smart", "--inventory", inventory, "--min-age", "7d", "-o", str(out))
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(out.read_text())
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [("old", old)]
    assert (
        "created (the image config says so; its publisher controls that)"
        in (plan["actions"][0]["reason"])
    )
    [skip] = plan["skipped"]
    assert (skip["service"]["name"], skip["rule"]) == ("fresh", "min-age")
    assert skip["eligible_at"] == "2999-01-08T00:00:00.000000Z"
    log = registry.access_log()
    blobs = [uri for method, uri, _ in log if method == "GET" and "/pol/aged/blobs/" in uri]
    assert len(blobs) == 2  # one config read per digest that would be planned
    assert any(fresh in uri for method, uri, _ in log if method == "GET")
