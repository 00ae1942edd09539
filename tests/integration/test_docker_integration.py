"""End to end against a private dockerd in swarm mode and the real registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import yaml
from swarm import WAIT, notification_file, running_digests, smart_plan, spec_image

from images import image
from servers import Dockerd, NotificationReceiver, Registry, wait_until

Run = Callable[..., Any]


def test_webhook_plan_apply_wait(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    notifications: NotificationReceiver,
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/e2e/web"
    v1 = registry.push("e2e/web", "v1", image("e2e-web-v1"))
    v2 = registry.push("e2e/web", "v2", image("e2e-web-v2"))
    make_service("e2e-web", f"{repo}:v1")
    make_service("e2e-web-v2", f"{repo}:v2")
    make_service("e2e-optout", f"{repo}:v1", "--label", "cdhelper.redeploy=false")
    new = registry.push("e2e/web", "v1", image("e2e-web-v1-new"))
    event = notification_file(notifications, "e2e/web", "v1", new, tmp_path / "event.json")
    # Distribution 2.8 labels its envelopes ...events.v1+json (the body is the same).
    assert notifications.content_types[-1].startswith("application/vnd.docker.distribution.events.")

    plan_path = tmp_path / "plan.yaml"
    result = cli_run("plan", "--event", event, "--docker-host", dockerd.host, "-o", str(plan_path))
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(plan_path.read_text())
    assert plan["target"]["kind"] == "docker" and plan["target"]["cluster"]
    assert [
        (a["service"]["name"], a["current_digest"], a["target_digest"]) for a in plan["actions"]
    ] == [("e2e-web", v1, new)]
    assert [s["service"]["name"] for s in plan["skipped"]] == ["e2e-optout"]

    report = tmp_path / "report.json"
    result = cli_run("apply", str(plan_path), *WAIT, "--timeout", "120", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "healthy for 2 s: completed, 1/1 task(s) running" in result.stdout
    assert spec_image(api, "e2e-web") == f"{repo}:v1@{new}"
    assert running_digests(api, "e2e-web") == {new}
    assert spec_image(api, "e2e-web-v2") == f"{repo}:v2@{v2}"
    assert spec_image(api, "e2e-optout") == f"{repo}:v1@{v1}"
    assert json.loads(report.read_text())["results"][0]["outcome"] == "redeployed"

    again = cli_run("apply", str(plan_path))
    assert again.exit_code == 0, again.output
    assert "already-done" in again.stdout


def test_smart_plan_apply_mixed(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/e2e/smart"
    registry.push("e2e/smart", "v1", image("e2e-smart-v1"))
    current = registry.push("e2e/smart", "v2", image("e2e-smart-v2"))
    make_service("smart-behind", f"{repo}:v1")
    make_service("smart-current", f"{repo}:v2")
    new = registry.push("e2e/smart", "v1", image("e2e-smart-v1-new"))
    plan_path = tmp_path / "plan.yaml"
    result = cli_run(
        "plan",
        "--smart",
        "--docker-host",
        dockerd.host,
        "--filter",
        "name=smart-*",
        "-o",
        str(plan_path),
        "--detailed-exitcode",
    )
    assert result.exit_code == 2, result.output
    plan = yaml.safe_load(plan_path.read_text())
    assert [a["service"]["name"] for a in plan["actions"]] == ["smart-behind"]
    assert [s["service"]["name"] for s in plan["skipped"]] == ["smart-current"]
    result = cli_run("apply", str(plan_path), *WAIT)
    assert result.exit_code == 0, result.output
    assert running_digests(api, "smart-behind") == {new}
    assert spec_image(api, "smart-current") == f"{repo}:v2@{current}"


def test_stale_plan_is_refused_and_nothing_changes(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/e2e/stale"
    old = registry.push("e2e/stale", "v1", image("e2e-stale-v1"))
    make_service("stale", f"{repo}:v1")
    registry.push("e2e/stale", "v1", image("e2e-stale-v1-new"))
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "stale", tmp_path / "plan.yaml"
    )
    dockerd.docker("service", "update", "--detach", "--env-add", "CHANGED=1", "stale")
    result = cli_run("apply", str(plan_path))
    assert result.exit_code == 1
    assert "Refusing the plan" in result.stdout
    assert (
        "stale           stale (" in result.stdout
        and "spec changed since the plan" in result.stdout
    )
    assert spec_image(api, "stale") == f"{repo}:v1@{old}"


def test_plan_during_a_rolling_update_applies_after_it(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/e2e/rolling"
    registry.push("e2e/rolling", "v1", image("e2e-rolling-v1"))
    make_service("rolling", f"{repo}:v1", "--replicas", "2", "--update-delay", "2s")
    new = registry.push("e2e/rolling", "v1", image("e2e-rolling-v1-new"))
    # An unrelated update (an env var) rolls slowly; the plan is taken in the middle of it.
    dockerd.docker("service", "update", "--detach", "--env-add", "ROLL=1", "rolling")
    wait_until(
        lambda: (
            (api.inspect_service("rolling").get("UpdateStatus") or {}).get("State") == "updating"
        ),
        30,
        "the update to start",
    )
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "rolling", tmp_path / "plan.yaml"
    )
    planned_version = yaml.safe_load(plan_path.read_text())["actions"][0]["version"]
    wait_until(
        lambda: api.inspect_service("rolling")["UpdateStatus"]["State"] == "completed",
        60,
        "the unrelated update to finish",
    )
    assert api.inspect_service("rolling")["Version"]["Index"] != planned_version
    result = cli_run("apply", str(plan_path), *WAIT, "--timeout", "120")
    assert result.exit_code == 0, result.output
    assert running_digests(api, "rolling") == {new}


def test_apply_deploys_the_planned_digest_not_a_newer_one(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/e2e/moved"
    registry.push("e2e/moved", "v1", image("e2e-moved-v1"))
    make_service("moved", f"{repo}:v1")
    planned = registry.push("e2e/moved", "v1", image("e2e-moved-planned"))
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "moved", tmp_path / "plan.yaml"
    )
    newer = registry.push("e2e/moved", "v1", image("e2e-moved-newer"))
    assert newer != planned
    result = cli_run("apply", str(plan_path), *WAIT)
    assert result.exit_code == 0, result.output
    assert spec_image(api, "moved") == f"{repo}:v1@{planned}"
    assert running_digests(api, "moved") == {planned}


def test_failing_update_is_reported(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/e2e/crash"
    first = registry.push("e2e/crash", "v1", image("e2e-crash-v1"))
    make_service("crash", f"{repo}:v1", "--update-failure-action", "pause")
    registry.push("e2e/crash", "v1", image("e2e-crash-broken", cmd=("/bin/false",)))
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "crash", tmp_path / "plan.yaml"
    )
    report = tmp_path / "report.json"
    result = cli_run("apply", str(plan_path), *WAIT, "--timeout", "90", "--report", str(report))
    assert result.exit_code == 1, result.output
    assert "rolled-back     crash (" in result.stdout
    assert "task: non-zero exit (1)" in result.stdout
    assert json.loads(report.read_text())["status"] == "failed"
    assert running_digests(api, "crash") == {first}


def test_plan_for_another_cluster_is_refused(
    registry: Registry,
    dockerd: Dockerd,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    registry.push("e2e/cluster", "v1", image("e2e-cluster-v1"))
    make_service("cluster", f"{registry.host}/e2e/cluster:v1")
    registry.push("e2e/cluster", "v1", image("e2e-cluster-v1-new"))
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "cluster", tmp_path / "plan.yaml"
    )
    data = yaml.safe_load(plan_path.read_text())
    data["target"]["cluster"] = "another-cluster-id"
    plan_path.write_text(yaml.safe_dump(data))
    result = cli_run("apply", str(plan_path))
    assert result.exit_code == 1
    assert (
        "refusing to apply: the plan was made for Swarm cluster another-cluster-id" in result.stderr
    )


def test_swarmpit_backend_end_to_end(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    notifications: NotificationReceiver,
    cli_run: Run,
    tmp_path: Path,
) -> None:
    from swarmpit_server import SwarmpitServer

    repo = f"{registry.host}/e2e/sp"
    v1 = registry.push("e2e/sp", "v1", image("e2e-sp-v1"))
    make_service("sp-web", f"{repo}:v1")
    make_service("sp-optout", f"{repo}:v1", "--label", "cdhelper.redeploy=false")
    new = registry.push("e2e/sp", "v1", image("e2e-sp-v1-new"))
    event = notification_file(notifications, "e2e/sp", "v1", new, tmp_path / "event.json")
    server = SwarmpitServer(dockerd.host, token="jwt-for-tests")
    env = {"CDHELPER_SWARMPIT_TOKEN": "Bearer jwt-for-tests"}
    try:
        plan_path = tmp_path / "plan.yaml"
        result = cli_run(
            "plan",
            "--event",
            event,
            "--swarmpit-url",
            server.url + "/api",
            "-o",
            str(plan_path),
            env=env,
        )
        assert result.exit_code == 0, result.output
        plan = yaml.safe_load(plan_path.read_text())
        assert plan["target"] == {"kind": "swarmpit", "url": server.url, "cluster": None}
        assert [a["service"]["name"] for a in plan["actions"]] == ["sp-web"]
        assert "jwt-for-tests" not in plan_path.read_text()

        dry = cli_run("apply", str(plan_path), "--dry-run", env=env)
        assert dry.exit_code == 0, dry.output
        assert server.redeploys == []

        result = cli_run("apply", str(plan_path), env=env)
        assert result.exit_code == 0, result.output
        sid = api.inspect_service("sp-web")["ID"]
        assert server.redeploys == [(sid, "v1")]
        wait_until(lambda: running_digests(api, "sp-web") == {new}, 60, "sp-web on the new digest")
        assert spec_image(api, "sp-optout") == f"{repo}:v1@{v1}"

        again = cli_run("apply", str(plan_path), env=env)  # the service runs target_digest now
        assert again.exit_code == 0, again.output
        assert "already-done" in again.stdout
        assert len(server.redeploys) == 1

        wrong = cli_run(
            "plan",
            "--event",
            event,
            "--swarmpit-url",
            server.url,
            env={"CDHELPER_SWARMPIT_TOKEN": "nope"},
        )
        assert wrong.exit_code == 1
        assert "answered HTTP 401" in wrong.stderr and "nope" not in wrong.stderr
    finally:
        server.close()


def test_private_registry_credentials_reach_the_swarm(
    auth_registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    cli_run: Run,
    tmp_path: Path,
) -> None:
    """Swarm must pull the new digest from a registry that wants a password: the update
    carries X-Registry-Auth from the Docker config that cdhelper runs with.

    The service is created without stored credentials (its first image is pulled by hand
    beforehand), so only the credentials cdhelper sends can pull the new digest.
    """
    config = auth_registry.docker_config(tmp_path / "docker-config")
    repo = f"{auth_registry.host}/private/svc"
    first = auth_registry.push("private/svc", "v1", image("private-svc-v1"))
    dockerd.docker("--config", str(config), "pull", f"{repo}:v1")
    dockerd.docker(
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--name",
        "private-svc",
        "--update-monitor",
        "2s",
        f"{repo}:v1@{first}",
    )
    try:
        wait_until(lambda: running_digests(api, "private-svc"), 60, "private-svc to run")
        new = auth_registry.push("private/svc", "v1", image("private-svc-v1-new"))
        env = {"DOCKER_CONFIG": str(config)}
        target = ("--docker-host", dockerd.host)
        path = smart_plan(cli_run, target, "private-svc", tmp_path / "plan.yaml", env)
        result = cli_run("apply", str(path), *WAIT, "--timeout", "90", env=env)
        assert result.exit_code == 0, result.output
        assert running_digests(api, "private-svc") == {new}
        assert "pa55word" not in result.output
    finally:
        dockerd.docker("service", "rm", "private-svc", check=False)
