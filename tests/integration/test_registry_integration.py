"""SmartRedeploy and digest resolution against the real CNCF registry."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import docker_inventory, swarmpit_inventory
from images import image, index
from servers import Registry

OPT_OUT = {"cdhelper.redeploy": "false"}


def manifest_requests(registry: Registry, repository: str, since: int) -> list[tuple[str, str]]:
    return [
        (method, uri)
        for method, uri, _ in registry.access_log()[since:]
        if uri.startswith(f"/v2/{repository}/manifests/")
    ]


def test_smart_plan_one_head_per_reference(
    registry: Registry, cli_run: Callable[..., Any], tmp_path: Path
) -> None:
    old = registry.push("smart/app", "v1", image("smart-app-v1-old"))
    new = registry.push("smart/app", "v1", image("smart-app-v1-new"))
    v2 = registry.push("smart/app", "v2", image("smart-app-v2"))
    other = registry.push("smart/other", "TEST", image("smart-other-test"))
    before = len(registry.access_log())
    host = registry.host
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "behind", "image": f"{host}/smart/app:v1@{old}"},
            {"name": "behind-too", "image": f"{host}/smart/app:v1@{old}"},
            {"name": "current", "image": f"{host}/smart/app:v1@{new}"},
            {"name": "v2-current", "image": f"{host}/smart/app:v2@{v2}"},
            {"name": "unpinned", "image": f"{host}/smart/other:TEST"},
            {"name": "optout", "image": f"{host}/smart/optout:v1@{old}", "labels": OPT_OUT},
            {"name": "digest-only", "image": f"{host}/smart/app@{old}"},
        ],
    )
    out = tmp_path / "plan.yaml"
    result = cli_run(
        "plan", "--smart", "--inventory", inventory, "-o", str(out), "--detailed-exitcode"
    )
    assert result.exit_code == 2, result.output
    plan = yaml.safe_load(out.read_text())
    actions = {a["service"]["name"]: a for a in plan["actions"]}
    assert sorted(actions) == ["behind", "behind-too", "unpinned"]
    assert actions["behind"]["target_digest"] == new
    assert actions["behind"]["reason"].startswith("published digest differs")
    assert actions["unpinned"]["current_digest"] is None
    assert actions["unpinned"]["target_digest"] == other
    assert "running digest unknown" in actions["unpinned"]["reason"]
    skipped = {s["service"]["name"]: s["reason"] for s in plan["skipped"]}
    assert skipped["current"].startswith("up to date")
    assert skipped["v2-current"].startswith("up to date")
    assert skipped["optout"].startswith("opted out")
    assert skipped["digest-only"] == "pinned by digest only: follows no tag"
    # Exactly one manifest HEAD per unique reference, no GET, nothing for the opted-out one.
    log = registry.access_log()[before:]
    manifests = sorted((m, u) for m, u, _ in log if "/manifests/" in u)
    assert manifests == [
        ("HEAD", "/v2/smart/app/manifests/v1"),
        ("HEAD", "/v2/smart/app/manifests/v2"),
        ("HEAD", "/v2/smart/other/manifests/TEST"),
    ]
    assert "registry: 3 manifest HEAD(s), 0 GET(s)" in result.stderr


def test_multi_arch_index_is_up_to_date(
    registry: Registry, cli_run: Callable[..., Any], tmp_path: Path
) -> None:
    multi = index("multi-1")
    digest = registry.push("multi/app", "v1", multi)
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "multi", "image": f"{registry.host}/multi/app:v1@{digest}"},
        ],
    )
    result = cli_run("plan", "--smart", "--inventory", inventory, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert plan["actions"] == []
    assert plan["skipped"][0]["reason"].startswith("up to date")
    newer = registry.push("multi/app", "v1", index("multi-2"))
    before = len(registry.access_log())
    result = cli_run("plan", "--smart", "--inventory", inventory)
    assert yaml.safe_load(result.stdout)["actions"][0]["target_digest"] == newer
    assert manifest_requests(registry, "multi/app", before) == [
        ("HEAD", "/v2/multi/app/manifests/v1")
    ]


def test_deleted_tag_is_skipped_with_a_warning(
    registry: Registry, cli_run: Callable[..., Any], tmp_path: Path
) -> None:
    gone = registry.push("gone/app", "v1", image("gone-v1"))
    kept = registry.push("gone/kept", "v1", image("kept-v1"))
    registry.push("gone/kept", "v1", image("kept-v1-new"))
    registry.delete_tag("gone/app", "v1")
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "gone", "image": f"{registry.host}/gone/app:v1@{gone}"},
            {"name": "kept", "image": f"{registry.host}/gone/kept:v1@{kept}"},
        ],
    )
    result = cli_run("plan", "--smart", "--inventory", inventory)
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [a["service"]["name"] for a in plan["actions"]] == ["kept"]
    assert plan["skipped"][0]["reason"] == f"tag v1 no longer exists in {registry.host}/gone/app"
    assert f"warning: {registry.host}/gone/app:v1: tag v1 no longer exists" in result.stderr


def test_htpasswd_registry_with_config_json(
    auth_registry: Registry, cli_run: Callable[..., Any], tmp_path: Path
) -> None:
    old = auth_registry.push("private/app", "v1", image("private-old"))
    new = auth_registry.push("private/app", "v1", image("private-new"))
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "private", "image": f"{auth_registry.host}/private/app:v1@{old}"},
        ],
    )
    config = auth_registry.docker_config(tmp_path / "docker")
    before = len(auth_registry.access_log())
    result = cli_run(
        "plan", "--smart", "--inventory", inventory, env={"DOCKER_CONFIG": str(config)}
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["actions"][0]["target_digest"] == new
    heads = [(m, s) for m, u, s in auth_registry.access_log()[before:] if "/manifests/" in u]
    assert heads == [("HEAD", 200)]  # the ping learnt the challenge: no 401 per reference
    assert "pa55word" not in result.output

    result = cli_run("plan", "--smart", "--inventory", inventory)
    assert result.exit_code == 1
    assert f"registry {auth_registry.host} requires credentials for private/app" in result.stderr
    assert "no image reference could be checked" in result.stderr


def test_one_dead_registry_does_not_block_the_rest(
    registry: Registry, cli_run: Callable[..., Any], tmp_path: Path, no_sleep: list[float]
) -> None:
    old = registry.push("alive/app", "v1", image("alive-old"))
    registry.push("alive/app", "v1", image("alive-new"))
    dead = Registry(tmp_path / "dead").start()
    dead_digest = dead.push("dead/app", "v1", image("dead"))
    dead.stop()
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "alive", "image": f"{registry.host}/alive/app:v1@{old}"},
            {"name": "dead", "image": f"{dead.host}/dead/app:v1@{dead_digest}"},
        ],
    )
    out = tmp_path / "plan.yaml"
    result = cli_run("plan", "--smart", "--inventory", inventory, "-o", str(out))
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(out.read_text())
    assert [a["service"]["name"] for a in plan["actions"]] == ["alive"]
    assert plan["skipped"][0]["reason"].startswith(
        f"not checked: registry {dead.host}: cannot reach"
    )
    assert f"warning: {dead.host}/dead/app:v1: not checked" in result.stderr

    only_dead = docker_inventory(tmp_path, [{"name": "dead", "image": f"{dead.host}/dead/app:v1"}])
    out.unlink()
    result = cli_run("plan", "--smart", "--inventory", only_dead, "-o", str(out))
    assert result.exit_code == 1
    assert (
        "no image reference could be checked against its registry, no plan written" in result.stderr
    )
    assert not out.exists()


def test_registry_stopped_mid_run(
    registry: Registry,
    cli_run: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_sleep: list[float],
) -> None:
    """The registry answers the ping, then dies before the manifest lookups."""
    server = Registry(tmp_path / "flaky").start()
    digest = server.push("flaky/app", "v1", image("flaky"))
    old = registry.push("steady/app", "v1", image("steady-old"))
    registry.push("steady/app", "v1", image("steady-new"))
    from cdhelper.registry import RegistryClient

    real_prepare = RegistryClient.prepare

    def prepare_then_stop(self: RegistryClient, name: str, repositories: Any = ()) -> None:
        real_prepare(self, name, repositories)
        if name == server.host:
            server.stop()

    monkeypatch.setattr(RegistryClient, "prepare", prepare_then_stop)
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "flaky", "image": f"{server.host}/flaky/app:v1@{digest}"},
            {"name": "steady", "image": f"{registry.host}/steady/app:v1@{old}"},
        ],
    )
    result = cli_run("plan", "--smart", "--inventory", inventory)
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [a["service"]["name"] for a in plan["actions"]] == ["steady"]
    assert "connection refused" in plan["skipped"][0]["reason"]


def test_webhook_resolve_digests_with_an_alias(
    registry: Registry, cli_run: Callable[..., Any], tmp_path: Path
) -> None:
    """A Docker Hub-shaped push of hub/app:v1, mirrored in the local registry."""
    import json

    old = registry.push("hub/app", "v1", image("hub-old"))
    new = registry.push("hub/app", "v1", image("hub-new"))
    current = registry.push("hub/app", "v2", image("hub-v2"))
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "old", "image": f"{registry.host}/hub/app:v1@{old}"},
            {"name": "current", "image": f"{registry.host}/hub/app:v2@{current}"},
        ],
    )
    event = tmp_path / "hub.json"
    event.write_text(
        json.dumps(
            [
                {
                    "push_data": {"tag": "v1", "pushed_at": 1},
                    "repository": {"repo_name": "hub/app"},
                },
                {
                    "push_data": {"tag": "v2", "pushed_at": 2},
                    "repository": {"repo_name": "hub/app"},
                },
            ]
        )
    )
    alias = f"docker.io={registry.host}"
    result = cli_run(
        "plan",
        "--event",
        str(event),
        "--inventory",
        inventory,
        "--registry-alias",
        alias,
        "--resolve-digests",
    )
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [("old", new)]
    assert plan["skipped"][0]["reason"].startswith("up to date")
    # A Docker Engine target always resolves: its apply deploys exactly target_digest.
    implicit = cli_run(
        "plan", "--event", str(event), "--inventory", inventory, "--registry-alias", alias
    )
    assert yaml.safe_load(implicit.stdout)["actions"] == plan["actions"]
    # A Swarmpit inventory resolves only when asked: without, both services are planned.
    swarmpit = swarmpit_inventory(
        tmp_path,
        [
            {"name": "old", "image": f"{registry.host}/hub/app:v1@{old}"},
            {"name": "current", "image": f"{registry.host}/hub/app:v2@{current}"},
        ],
    )
    without = cli_run(
        "plan", "--event", str(event), "--inventory", swarmpit, "--registry-alias", alias
    )
    assert [a["target_digest"] for a in yaml.safe_load(without.stdout)["actions"]] == [None, None]


def test_htpasswd_registry_through_a_credential_helper(
    auth_registry: Registry,
    cli_run: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docker-py's credential-helper protocol end to end; a refusal shows no secret."""
    old = auth_registry.push("helper/app", "v1", image("helper-old"))
    new = auth_registry.push("helper/app", "v1", image("helper-new"))
    inventory = docker_inventory(
        tmp_path, [{"name": "svc", "image": f"{auth_registry.host}/helper/app:v1@{old}"}]
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"credHelpers": {auth_registry.host: "t"}}))
    helper = bin_dir / "docker-credential-t"
    for password, code in (("pa55word", 0), ("wrong-pa55word", 1)):
        helper.write_text(
            f'#!/bin/sh\ncat >/dev/null\necho \'{{"Username": "ci", "Secret": "{password}"}}\'\n'
        )
        helper.chmod(0o755)
        result = cli_run(
            "plan", "--smart", "--inventory", inventory, env={"DOCKER_CONFIG": str(config)}
        )
        assert result.exit_code == code, result.output
        basic = base64.b64encode(f"ci:{password}".encode()).decode()
        assert password not in result.output and basic not in result.output
        if code == 0:
            assert yaml.safe_load(result.stdout)["actions"][0]["target_digest"] == new
    assert f"registry {auth_registry.host} refused the credentials of user 'ci'" in result.stderr
