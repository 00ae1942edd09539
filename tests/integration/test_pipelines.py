"""The Jenkinsfile's shell steps, as written there, end to end against the private Swarm and
registry, with what Jenkins gives them: the parameters the inbox sends (PAYLOAD written to
a file, TARGET, MODE), the pipeline's environment and the bound credentials.

Jenkins itself cannot run here; tests/test_pipeline_files.py checks the rest of the file.
The GitHub workflow runs under act in tests/test_action.py.
"""

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

from pipelines import ROOT, jenkins_environment, jenkins_steps

from images import image
from servers import Dockerd, NotificationReceiver, Registry

CDHELPER = str(Path(sys.executable).parent / "cdhelper")
PLAN_KEY = "pipeline-plan-signing-key"


class Jenkins:
    """One build's workspace: runs the Jenkinsfile's named shell steps as ``sh -xe``."""

    def __init__(self, workspace: Path, params: dict[str, str], credentials: dict[str, str]):
        self.workspace = workspace
        self.settings = jenkins_environment()
        self.out = workspace / self.settings["OUT"]
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CDHELPER", "GITHUB", "DOCKER_"))
        }
        self.env = {
            **base,
            **self.settings,
            # the test's cdhelper instead of the pinned release (test_install_step installs)
            "CDHELPER": CDHELPER,
            "DOCKER_CONFIG": str(workspace / "docker-config"),
            **params,
            **credentials,
        }
        self.params = params

    def sh(self, step: str, **env: str) -> subprocess.CompletedProcess[str]:
        script = self.workspace / f"{step.replace(' ', '-')}.sh"
        script.write_text(jenkins_steps()[step])
        return subprocess.run(
            ["sh", "-xe", str(script)],
            cwd=self.workspace,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def plan(self) -> subprocess.CompletedProcess[str]:
        """Stage Plan: clean, writeFile PAYLOAD, plan (its exit code), the review text."""
        assert self.sh("clean").returncode == 0
        (self.out / "payload.json").write_text(self.params.get("PAYLOAD", ""))
        planned = self.sh("plan")
        if planned.returncode in (0, 2):
            shown = self.sh("review text")
            assert shown.returncode == 0, shown.stderr
        return planned


def inbox_payload(*paths: str) -> str:
    """PAYLOAD as the inbox sends it: the batch's payloads as one JSON list."""
    return json.dumps([json.loads(Path(p).read_text()) for p in paths])


@pytest.fixture
def jenkins(tmp_path: Path, dockerd: Dockerd) -> Callable[..., Jenkins]:
    def build(**params: str) -> Jenkins:
        workspace = tmp_path / "workspace"
        workspace.mkdir(exist_ok=True)
        credentials = {"CDHELPER_PLAN_KEY": PLAN_KEY, "DOCKER_HOST": dockerd.host}
        return Jenkins(workspace, {"TARGET": "int", "MODE": "webhook", **params}, credentials)

    return build


def test_webhook_plan_review_apply(
    registry: Registry,
    api: docker.APIClient,
    make_service: Callable[..., str],
    notifications: NotificationReceiver,
    jenkins: Callable[..., Jenkins],
    tmp_path: Path,
) -> None:
    repo = f"{registry.host}/pipe/app"
    registry.push("pipe/app", "v1", image("pipe-v1"))
    make_service("pipe-app", f"{repo}:v1")
    new = registry.push("pipe/app", "v1", image("pipe-v1-new"))
    payload = notification_file(notifications, "pipe/app", "v1", new, tmp_path / "payload.json")
    build = jenkins(PAYLOAD=inbox_payload(payload))

    planned = build.plan()
    assert planned.returncode == 2, planned.stdout + planned.stderr
    out = build.out
    plan = yaml.safe_load((out / "plan.yaml").read_text())
    assert plan["signature"]["algorithm"] == "hmac-sha256"
    assert [a["service"]["name"] for a in plan["actions"]] == ["pipe-app"]
    assert "~ pipe-app (" in (out / "plan.txt").read_text()
    assert (out / "plan.md").read_text().startswith("### cdhelper plan: 1 to redeploy, 0 skipped")

    # a Docker Engine target: the health-gated rollout
    applied = build.sh("apply", CDHELPER_APPLY_ARGS="--wait --monitor 2 --timeout 120")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert running_digests(api, "pipe-app") == {new}
    suite = ElementTree.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "0"
    assert json.loads((out / "report.json").read_text())["status"] == "applied"
    assert (out / "apply.md").read_text().startswith("### cdhelper apply: applied")
    assert PLAN_KEY not in applied.stdout + applied.stderr + planned.stdout + planned.stderr


def planned_behind(
    registry: Registry,
    make_service: Callable[..., str],
    jenkins: Callable[..., Jenkins],
    name: str,
) -> tuple[Jenkins, str]:
    """A service whose tag moved, and the smart plan of a build; returns its old digest."""
    repo = f"{registry.host}/pipe/{name}"
    old = registry.push(f"pipe/{name}", "v1", image(f"{name}-v1"))
    make_service(f"pipe-{name}", f"{repo}:v1")
    registry.push(f"pipe/{name}", "v1", image(f"{name}-v1-new"))
    build = jenkins(MODE="smart")
    planned = build.plan()
    assert planned.returncode == 2, planned.stdout + planned.stderr
    actions = yaml.safe_load((build.out / "plan.yaml").read_text())["actions"]
    assert f"pipe-{name}" in [a["service"]["name"] for a in actions]
    return build, old


def test_a_plan_that_is_not_the_reviewed_one_is_refused(
    registry: Registry,
    api: docker.APIClient,
    make_service: Callable[..., str],
    jenkins: Callable[..., Jenkins],
) -> None:
    build, old = planned_behind(registry, make_service, jenkins, "tamper")
    path = build.out / "plan.yaml"
    plan = yaml.safe_load(path.read_text())
    plan["actions"][0]["reason"] = "edited after review"
    path.write_text(yaml.safe_dump(plan))
    applied = build.sh("apply")
    assert applied.returncode == 1
    assert "$.signature: refusing the plan: the signature does not match" in applied.stderr
    assert spec_image(api, "pipe-tamper") == f"{registry.host}/pipe/tamper:v1@{old}"
    assert PLAN_KEY not in applied.stdout + applied.stderr


def test_stale_plan_fails_the_stage_with_its_reports(
    registry: Registry,
    dockerd: Dockerd,
    make_service: Callable[..., str],
    jenkins: Callable[..., Jenkins],
) -> None:
    build, _ = planned_behind(registry, make_service, jenkins, "stale")
    dockerd.docker("service", "update", "--detach", "--label-add", "changed=yes", "pipe-stale")
    applied = build.sh("apply")
    assert applied.returncode == 1
    assert "Refusing the plan" in applied.stdout
    suite = ElementTree.parse(build.out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    first = suite.find("testcase")
    assert first is not None and first.get("name") == "plan is fresh"
    assert (build.out / "apply.md").read_text().startswith("### cdhelper apply: plan refused")


def test_nothing_to_do(
    registry: Registry, make_service: Callable[..., str], jenkins: Callable[..., Jenkins]
) -> None:
    registry.push("pipe/quiet", "v1", image("quiet-v1"))
    make_service("pipe-quiet", f"{registry.host}/pipe/quiet:v1")
    build = jenkins(MODE="smart")
    planned = build.plan()
    # the other tests' services are gone (make_service removes them): nothing is behind
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes: nothing to redeploy." in (build.out / "plan.txt").read_text()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            '[{"push_data": {}, "repository": {"repo_name": "a/b"}}]',
            "not a valid Docker Hub webhook payload",
        ),
        ("", "payload.json"),
    ],
    ids=["invalid", "empty"],
)
def test_bad_payload_fails_the_plan_and_writes_no_plan(
    jenkins: Callable[..., Jenkins], payload: str, expected: str
) -> None:
    build = jenkins(PAYLOAD=payload)
    planned = build.plan()
    assert planned.returncode == 1
    assert expected in planned.stderr
    assert not (build.out / "plan.yaml").exists()


def test_an_empty_plan_key_is_an_error(jenkins: Callable[..., Jenkins]) -> None:
    build = jenkins(MODE="smart")
    assert build.sh("clean").returncode == 0
    planned = build.sh("plan", CDHELPER_PLAN_KEY="")
    assert planned.returncode == 1
    assert "CDHELPER_PLAN_KEY is set but empty" in planned.stderr


def test_install_step(tmp_path: Path) -> None:
    """The install step builds the pinned release's venv once (here from this checkout)."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    build = Jenkins(workspace, {}, {})
    build.env.pop("CDHELPER")
    env = {"CDHELPER_VERSION": "test", "CDHELPER_PIP": str(ROOT)}
    first = build.sh("install", **env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("cdhelper, version ")
    assert (workspace / ".cdhelper" / "venv-test" / ".complete").exists()
    again = build.sh("install", **env)
    assert again.returncode == 0
    assert "pip install" not in again.stderr  # sh -x shows the commands it ran
