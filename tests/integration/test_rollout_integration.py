"""The health-gated rollout (``apply --wait``) and revert plans, on the private Swarm.

Tiny images built here: good ones, one whose command exits at once, one whose health
check always fails. Services stop within 1 s (busybox ``sleep`` as PID 1 ignores SIGTERM,
and a stop-first update would otherwise wait the 10 s grace period) and Swarm's own update
monitor is 2 s (``make_service``); cdhelper's ``--monitor`` is 2 s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import yaml
from swarm import WAIT, running_digests, smart_plan, spec_image

from images import Image, exits_at_once, image, unhealthy
from servers import Dockerd, Registry, wait_until

Run = Callable[..., Any]
FAST_STOP = ("--stop-grace-period", "1s")
ROLLOUT = (*WAIT, "--timeout", "150")


def services(
    registry: Registry, make_service: Callable[..., str], prefix: str, new: dict[str, Image]
) -> tuple[dict[str, str], dict[str, str]]:
    """One service per name on a good image, then ``new[name]`` pushed to its tag.

    Returns the digests they run (before) and the digests pushed (after).
    """
    before, after = {}, {}
    for name, pushed in new.items():
        repository = f"{prefix}/{name}"
        before[name] = registry.push(repository, "v1", image(f"{prefix}-{name}-v1"))
        make_service(f"{prefix}-{name}", f"{registry.host}/{repository}:v1", *FAST_STOP)
        after[name] = registry.push(repository, "v1", pushed)
    return before, after


def outcomes(report: Path) -> dict[str, str]:
    return {r["service"]["name"]: r["outcome"] for r in json.loads(report.read_text())["results"]}


def results(report: Path) -> dict[str, dict[str, Any]]:
    return {r["service"]["name"]: r for r in json.loads(report.read_text())["results"]}


def update_state(api: docker.APIClient, name: str) -> str | None:
    status = api.inspect_service(name).get("UpdateStatus") or {}
    return status.get("State")


def test_a_broken_update_is_rolled_back_and_the_rest_not_applied(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    new = {"a": image("ro1-a-v2"), "b": exits_at_once("ro1-b-v2"), "c": image("ro1-c-v2")}
    before, after = services(registry, make_service, "ro1", new)
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "ro1-*", tmp_path / "plan.yaml"
    )
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    result = cli_run(
        "apply", str(plan_path), *ROLLOUT, "--report", str(report), "--junit", str(junit)
    )
    assert result.exit_code == 1, result.output
    assert outcomes(report) == {
        "ro1-a": "redeployed",
        "ro1-b": "rolled-back",
        "ro1-c": "not-applied",
    }
    assert running_digests(api, "ro1-a") == {after["a"]}
    # the broken one runs its previous digest again; the third was never touched
    assert running_digests(api, "ro1-b") == {before["b"]}
    assert spec_image(api, "ro1-b").endswith(before["b"])
    assert running_digests(api, "ro1-c") == {before["c"]}
    broken = results(report)["ro1-b"]
    assert broken["task_errors"] == ["task: non-zero exit (3)"]
    assert "task: non-zero exit (3)" in broken["message"]
    assert (broken["digest_before"], broken["digest_after"]) == (before["b"], before["b"])
    first = results(report)["ro1-a"]
    assert (first["digest_before"], first["digest_after"]) == (before["a"], after["a"])
    assert "not applied: the rollout stopped after a failure (ro1-b" in result.stdout
    junit_text = junit.read_text()
    assert 'failures="1" skipped="1"' in junit_text and 'type="rolled-back"' in junit_text
    assert json.loads(report.read_text())["status"] == "failed"


def test_keep_going_and_an_unhealthy_image(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    """The sick image keeps running, but its health check fails: Swarm never calls its
    task running, then kills it; the health gate catches it and it is rolled back."""
    new = {"a": image("ro2-a-v2"), "b": unhealthy("ro2-b-v2"), "c": image("ro2-c-v2")}
    before, after = services(registry, make_service, "ro2", new)
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "ro2-*", tmp_path / "plan.yaml"
    )
    report = tmp_path / "report.json"
    result = cli_run(
        "apply",
        str(plan_path),
        *ROLLOUT,
        "--keep-going",
        "--parallel",
        "2",
        "--report",
        str(report),
    )
    assert result.exit_code == 1, result.output
    assert outcomes(report) == {
        "ro2-a": "redeployed",
        "ro2-b": "rolled-back",
        "ro2-c": "redeployed",
    }
    assert "unhealthy container" in results(report)["ro2-b"]["message"]
    assert running_digests(api, "ro2-b") == {before["b"]}
    assert running_digests(api, "ro2-c") == {after["c"]}


def test_on_failure_pause_leaves_the_service_as_swarm_left_it(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    new = {"b": exits_at_once("ro3-b-v2"), "c": image("ro3-c-v2")}
    before, after = services(registry, make_service, "ro3", new)
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "ro3-*", tmp_path / "plan.yaml"
    )
    report = tmp_path / "report.json"
    result = cli_run(
        "apply", str(plan_path), *ROLLOUT, "--on-failure", "pause", "--report", str(report)
    )
    assert result.exit_code == 1, result.output
    assert outcomes(report) == {"ro3-b": "failed", "ro3-c": "not-applied"}
    assert "left as Swarm left it" in results(report)["ro3-b"]["message"]
    # Swarm pauses the update (its failure action) and keeps restarting the broken image
    wait_until(lambda: update_state(api, "ro3-b") == "paused", 30, "Swarm to pause ro3-b")
    assert spec_image(api, "ro3-b").endswith(after["b"])
    assert running_digests(api, "ro3-c") == {before["c"]}


def test_revert_plan_brings_every_service_back(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    new = {"a": image("ro4-a-v2"), "b": image("ro4-b-v2")}
    before, after = services(registry, make_service, "ro4", new)
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "ro4-*", tmp_path / "plan.yaml"
    )
    report = tmp_path / "report.json"
    result = cli_run("apply", str(plan_path), *ROLLOUT, "--parallel", "2", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert {n: running_digests(api, f"ro4-{n}") for n in new} == {n: {after[n]} for n in new}

    revert_path = tmp_path / "revert.yaml"
    made = cli_run("revert", str(report), "-o", str(revert_path))
    assert made.exit_code == 0, made.output
    revert = yaml.safe_load(revert_path.read_text())
    assert revert["mode"] == "revert"
    assert [(a["current_digest"], a["target_digest"]) for a in revert["actions"]] == [
        (after["a"], before["a"]),
        (after["b"], before["b"]),
    ]
    shown = cli_run("show", str(revert_path))
    assert shown.exit_code == 0 and "2 to redeploy" in shown.stdout

    back = cli_run("apply", str(revert_path), *ROLLOUT, "--parallel", "2")
    assert back.exit_code == 0, back.output
    assert {n: running_digests(api, f"ro4-{n}") for n in new} == {n: {before[n]} for n in new}


def test_revert_plan_is_refused_once_a_service_changed(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    new = {"a": image("ro5-a-v2")}
    _, after = services(registry, make_service, "ro5", new)
    plan_path = smart_plan(
        cli_run, ("--docker-host", dockerd.host), "ro5-*", tmp_path / "plan.yaml"
    )
    report = tmp_path / "report.json"
    assert cli_run("apply", str(plan_path), "--report", str(report)).exit_code == 0
    revert_path = tmp_path / "revert.yaml"
    assert cli_run("revert", str(report), "-o", str(revert_path)).exit_code == 0

    dockerd.docker("service", "update", "--detach", "--label-add", "changed=by-someone", "ro5-a")
    result = cli_run("apply", str(revert_path))
    assert result.exit_code == 1
    assert "Refusing the plan" in result.stdout
    assert "stale           ro5-a" in result.stdout
    assert spec_image(api, "ro5-a").endswith(after["a"])


def test_swarmpit_wait_rolls_back_through_its_api(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    cli_run: Run,
    tmp_path: Path,
) -> None:
    from swarmpit_server import SwarmpitServer

    new = {"a": image("ro6-a-v2"), "b": exits_at_once("ro6-b-v2")}
    before, after = services(registry, make_service, "ro6", new)
    server = SwarmpitServer(dockerd.host, token="jwt-for-tests")
    env = {"CDHELPER_SWARMPIT_TOKEN": "jwt-for-tests"}
    try:
        target = ("--swarmpit-url", server.url)
        plan_path = smart_plan(cli_run, target, "ro6-*", tmp_path / "plan.yaml", env)
        report = tmp_path / "report.json"
        result = cli_run("apply", str(plan_path), *ROLLOUT, "--report", str(report), env=env)
        assert result.exit_code == 1, result.output
        assert outcomes(report) == {"ro6-a": "redeployed", "ro6-b": "rolled-back"}
        assert server.rollbacks == [api.inspect_service("ro6-b")["ID"]]
        assert running_digests(api, "ro6-a") == {after["a"]}
        assert running_digests(api, "ro6-b") == {before["b"]}
        assert "task: non-zero exit (3)" in results(report)["ro6-b"]["message"]

        refused = cli_run("revert", str(report))
        assert refused.exit_code == 1
        assert "cannot revert through Swarmpit" in refused.stderr
    finally:
        server.close()
