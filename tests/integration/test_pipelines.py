"""The pipeline stage scripts (shared by Jenkins and GitHub Actions), end to end against the
private Swarm and registry, with the environment a GitHub Actions runner gives them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import docker
import pytest
import yaml
from swarm import notification_file, running_digests, spec_image

from images import image
from servers import Dockerd, NotificationReceiver, Registry

SCRIPTS = Path(__file__).resolve().parents[2] / "pipelines" / "scripts"
CDHELPER = str(Path(sys.executable).parent / "cdhelper")
PLAN_KEY = "pipeline-plan-signing-key"


def stage(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("CDHELPER", "GITHUB", "DOCKER_"))
    }
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        env={**base, "CDHELPER": CDHELPER, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def github(tmp_path: Path) -> dict[str, str]:
    """What a GitHub Actions runner sets for a step (the plan key from the secrets store)."""
    return {
        "CDHELPER_PLAN_KEY": PLAN_KEY,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
    }


def test_webhook_stages_plan_review_apply(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    notifications: NotificationReceiver,
    github: dict[str, str],
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/pipe/app"
    registry.push("pipe/app", "v1", image("pipe-v1"))
    make_service("pipe-app", f"{repo}:v1")
    new = registry.push("pipe/app", "v1", image("pipe-v1-new"))
    payload = notification_file(notifications, "pipe/app", "v1", new, tmp_path / "payload.json")
    out = tmp_path / "out"
    env = {
        **github,
        "CDHELPER_MODE": "webhook",
        "CDHELPER_PAYLOAD": payload,
        "DOCKER_HOST": dockerd.host,
        "CDHELPER_PLAN_ARGS": "--filter name=pipe-*",
    }

    planned = stage("plan.sh", str(out), env=env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert {p.name for p in out.iterdir()} >= {"plan.yaml", "plan.txt", "plan.md"}
    assert not (out / "plan.yaml.sha256").exists()
    assert yaml.safe_load((out / "plan.yaml").read_text())["signature"]["algorithm"] == (
        "hmac-sha256"
    )
    assert "~ pipe-app (" in (out / "plan.txt").read_text()
    summary = Path(github["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("### cdhelper plan: 1 to redeploy, 0 skipped")
    assert Path(github["GITHUB_OUTPUT"]).read_text() == "changes=true\n"

    applied = stage(
        "apply.sh",
        str(out / "plan.yaml"),
        str(out),
        env={**github, "CDHELPER_APPLY_ARGS": "--wait --monitor 2 --timeout 120"},
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert running_digests(api, "pipe-app") == {new}
    suite = ElementTree.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "0"
    assert json.loads((out / "report.json").read_text())["status"] == "applied"
    assert "### cdhelper apply" in Path(github["GITHUB_STEP_SUMMARY"]).read_text()


def planned_behind(
    registry: Registry,
    dockerd: Dockerd,
    make_service: Callable[..., str],
    github: dict[str, str],
    name: str,
    out: Path,
) -> str:
    """A service whose tag moved, and plan.sh's smart plan for it; returns its old digest."""
    repo = f"{registry.host}/pipe/{name}"
    old = registry.push(f"pipe/{name}", "v1", image(f"{name}-v1"))
    make_service(f"pipe-{name}", f"{repo}:v1")
    registry.push(f"pipe/{name}", "v1", image(f"{name}-v1-new"))
    env = {
        **github,
        "CDHELPER_MODE": "smart",
        "DOCKER_HOST": dockerd.host,
        "CDHELPER_PLAN_ARGS": f"--filter name=pipe-{name}",
    }
    planned = stage("plan.sh", str(out), env=env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    return old


def test_a_plan_that_is_not_the_reviewed_one_is_refused(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    github: dict[str, str],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    old = planned_behind(registry, dockerd, make_service, github, "tamper", out)
    plan = yaml.safe_load((out / "plan.yaml").read_text())
    plan["actions"][0]["reason"] = "edited after review"
    (out / "plan.yaml").write_text(yaml.safe_dump(plan))
    applied = stage("apply.sh", str(out / "plan.yaml"), str(out), env=github)
    assert applied.returncode == 1
    assert "::error title=cdhelper apply::" in applied.stdout
    assert "$.signature: refusing the plan: the signature does not match" in applied.stdout
    assert spec_image(api, "pipe-tamper") == f"{registry.host}/pipe/tamper:v1@{old}"
    assert PLAN_KEY not in applied.stdout + applied.stderr


def test_stale_plan_fails_the_stage_with_a_junit_report(
    registry: Registry,
    dockerd: Dockerd,
    api: docker.APIClient,
    make_service: Callable[..., str],
    github: dict[str, str],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    planned_behind(registry, dockerd, make_service, github, "stale", out)
    dockerd.docker("service", "update", "--detach", "--label-add", "changed=yes", "pipe-stale")
    applied = stage("apply.sh", str(out / "plan.yaml"), str(out), env=github)
    assert applied.returncode == 1
    assert "::error title=cdhelper apply::Refusing the plan" in applied.stdout
    suite = ElementTree.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    first = suite.find("testcase")
    assert first is not None and first.get("name") == "plan is fresh"


def test_nothing_to_do(
    registry: Registry,
    dockerd: Dockerd,
    make_service: Callable[..., str],
    github: dict[str, str],
    tmp_path: Path,
) -> None:
    registry.push("pipe/quiet", "v1", image("quiet-v1"))
    make_service("pipe-quiet", f"{registry.host}/pipe/quiet:v1")
    out = tmp_path / "out"
    env = {
        **github,
        "CDHELPER_MODE": "smart",
        "DOCKER_HOST": dockerd.host,
        "CDHELPER_PLAN_ARGS": "--filter name=pipe-quiet",
    }
    planned = stage("plan.sh", str(out), env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert Path(github["GITHUB_OUTPUT"]).read_text() == "changes=false\n"
    assert "No changes" in (out / "plan.txt").read_text()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            '{"push_data": {}, "repository": {"repo_name": "a/b"}}',
            "::error title=cdhelper validate::",
        ),
        ("", "::error title=cdhelper validate::webhook mode needs CDHELPER_PAYLOAD"),
    ],
)
def test_bad_payload_is_an_annotation_and_no_plan(
    github: dict[str, str], tmp_path: Path, payload: str, expected: str
) -> None:
    path = tmp_path / "payload.json"
    path.write_text(payload)
    out = tmp_path / "out"
    env = {**github, "CDHELPER_MODE": "webhook", "CDHELPER_PAYLOAD": str(path)}
    planned = stage("plan.sh", str(out), env=env)
    assert planned.returncode == 1
    assert expected in planned.stdout
    assert not (out / "plan.yaml").exists()
    if payload:
        assert (
            f"::error title=cdhelper validate::{path}: not a valid Docker Hub webhook payload"
            "%0A  - $.push_data: 'tag' is a required property\n" in planned.stdout
        )


def test_unknown_mode(github: dict[str, str], tmp_path: Path) -> None:
    planned = stage("plan.sh", str(tmp_path / "out"), env={**github, "CDHELPER_MODE": "yolo"})
    assert planned.returncode == 1
    assert "CDHELPER_MODE must be webhook or smart, not 'yolo'" in planned.stderr


@pytest.mark.parametrize("script", ["plan.sh", "apply.sh"])
def test_stages_need_the_plan_key(github: dict[str, str], tmp_path: Path, script: str) -> None:
    env = {**github, "CDHELPER_PLAN_KEY": ""}
    args = [str(tmp_path / "plan.yaml"), str(tmp_path)] if script == "apply.sh" else [str(tmp_path)]
    result = stage(script, *args, env=env)
    assert result.returncode == 1
    assert "CDHELPER_PLAN_KEY is not set: bind the plan signing key" in result.stdout
