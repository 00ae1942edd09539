from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests_mock
import yaml
from click.testing import CliRunner

from cdhelper.cli import cli

from helpers import DATA

SP = "http://127.0.0.1:8888"
TOKEN = "s3cret-jwt-token"
HUB = str(DATA / "dockerhub-push-int.json")
REG = str(DATA / "registry-notifications-push-app-v1.json")
SWARMPIT = str(DATA / "swarmpit-services.json")
DOCKER = str(DATA / "docker-engine-services.json")


@pytest.fixture
def swarmpit(
    requests_mock: requests_mock.Mocker,
    load_data: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> requests_mock.Mocker:
    monkeypatch.setenv("CDHELPER_SWARMPIT_TOKEN", f"Bearer {TOKEN}")
    services = load_data("swarmpit-services.json")
    requests_mock.get(f"{SP}/api/services", json=services)
    by_id = {s["id"].lower(): s for s in services}  # requests_mock lowercases paths

    def one(request: Any, context: Any) -> Any:
        return by_id[request.path.rsplit("/", 1)[-1]]

    requests_mock.get(re.compile(f"{SP}/api/services/[^/]+$"), json=one)
    requests_mock.post(requests_mock_any_redeploy(), status_code=202)
    return requests_mock


def requests_mock_any_redeploy() -> Any:
    return re.compile(f"{SP}/api/services/[^/]+/redeploy")


def posts(mock: requests_mock.Mocker) -> list[str]:
    return [r.path for r in mock.request_history if r.method == "POST"]


def test_validate(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", HUB, REG])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "dockerhub\tdocker.io/dopplerdock/doppler-cd-helper:INT\t-\t2021-04-16T23:06:31.000000Z",
        "registry\t127.0.0.1:5000/app:v1\t"
        "sha256:e2ef9cf1ec5ccb87e5102380b17449a32bdb2c596eb3e7c683418c67baf982bd\t"
        "2026-11-27T03:51:11.095133Z",
    ]
    assert "2 valid file(s), 2 push event(s)" in result.stderr


def test_validate_says_why_a_valid_payload_deploys_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    envelopes = json.loads(Path(REG).read_text())
    for event in (e for envelope in envelopes for e in envelope["events"]):
        event["action"] = "pull"
    pulls = tmp_path / "pulls.json"
    pulls.write_text(json.dumps(envelopes))
    result = runner.invoke(cli, ["validate", str(pulls)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"note: {pulls}: registry: $[0].events[0]: pull: not a push\n" in result.stderr
    assert "1 valid file(s), 0 push event(s)" in result.stderr


def test_validate_json_from_stdin(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--format", "json", "-"], input=Path(HUB).read_text())
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {
            "registry": "docker.io",
            "repository": "dopplerdock/doppler-cd-helper",
            "tag": "INT",
            "source": "dockerhub",
            "image": "docker.io/dopplerdock/doppler-cd-helper:INT",
            "digest": None,
            "timestamp": "2021-04-16T23:06:31.000000Z",
            "id": None,
        }
    ]


def test_validate_reports_every_bad_file(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"push_data": {}, "repository": {"repo_name": "a/b"}}')
    result = runner.invoke(cli, ["validate", str(bad), HUB, str(tmp_path / "nope.json")])
    assert result.exit_code == 1
    assert f"error: {bad}: not a valid Docker Hub webhook payload\n" in result.stderr
    assert "  - $.push_data: 'tag' is a required property" in result.stderr
    assert "nope.json: no such file" in result.stderr
    assert "Traceback" not in result.output


def test_plan_to_stdout_from_an_inventory_file(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plan", "--event", REG, "--inventory", DOCKER])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert [a["service"]["name"] for a in data["actions"]] == ["pinned"]
    assert [s["service"]["name"] for s in data["skipped"]] == ["optout", "shop_api", "web"]
    assert data["target"] == {"kind": "docker", "url": None, "cluster": None}
    assert result.stderr == "1 to redeploy, 3 skipped\n"


def test_plan_to_file_with_detailed_exitcode(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    result = runner.invoke(
        cli,
        ["plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(out), "--detailed-exitcode"],
    )
    assert result.exit_code == 2, result.output
    assert "~ int_cd-helper (k3q9z1)" in result.stdout
    assert yaml.safe_load(out.read_text())["actions"][0]["service"]["id"] == "k3q9z1"
    nothing = tmp_path / "none.yaml"
    result = runner.invoke(
        cli,
        [
            "plan",
            "--event",
            REG,
            "--inventory",
            SWARMPIT,
            "-o",
            str(nothing),
            "--detailed-exitcode",
        ],
    )
    assert result.exit_code == 0
    assert "No changes" in result.stdout


def test_bad_event_writes_nothing_and_calls_nothing(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    out = tmp_path / "plan.yaml"
    result = runner.invoke(cli, ["plan", "--event", str(bad), "--swarmpit-url", SP, "-o", str(out)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: {bad}: not valid JSON: Expecting ',' delimiter at line 1, column 6\n"
    )
    assert not out.exists()
    assert swarmpit.call_count == 0


def test_plan_live_from_swarmpit_env(
    runner: CliRunner,
    swarmpit: requests_mock.Mocker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CDHELPER_SWARMPIT_URL", SP + "/api/")
    out = tmp_path / "plan.yaml"
    result = runner.invoke(cli, ["plan", "--event", HUB, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert yaml.safe_load(text)["target"] == {"kind": "swarmpit", "url": SP, "cluster": None}
    assert TOKEN not in text and TOKEN not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["plan", "--event", HUB, "--inventory", SWARMPIT, "--swarmpit-url", SP],
            "either --inventory or a live target",
        ),
        (["plan", "--event", HUB], "no services to plan against"),
        (["plan", "--inventory", SWARMPIT], "give at least one --event FILE"),
        (
            ["plan", "--event", HUB, "--inventory", SWARMPIT, "--registry-alias", "x"],
            "expected ALIAS=REGISTRY",
        ),
        (["inventory"], "give --swarmpit-url URL"),
        (["show"], "Missing argument 'PLAN'"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_inventory_snapshot_then_plan_then_apply(
    runner: CliRunner, swarmpit: requests_mock.Mocker, tmp_path: Path
) -> None:
    snap, plan_file, report = (
        tmp_path / "inv.json",
        tmp_path / "plan.yaml",
        tmp_path / "report.json",
    )
    assert runner.invoke(cli, ["inventory", "--swarmpit-url", SP, "-o", str(snap)]).exit_code == 0
    assert json.loads(snap.read_text())["target"]["url"] == SP
    result = runner.invoke(
        cli, ["plan", "--event", HUB, "--inventory", str(snap), "-o", str(plan_file)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["apply", str(plan_file), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert posts(swarmpit) == ["/api/services/k3q9z1/redeploy"]
    [redeploy] = [r for r in swarmpit.request_history if r.method == "POST"]
    assert redeploy.qs == {"tag": ["int"]}  # requests-mock lower-cases qs
    assert (
        "redeployed      int_cd-helper (k3q9z1): redeploy of tag INT accepted (HTTP 202)"
        in result.stdout
    )
    saved = json.loads(report.read_text())
    assert saved["status"] == "applied"
    assert saved["results"][0]["outcome"] == "redeployed"
    assert TOKEN not in report.read_text()


def _plan(runner: CliRunner, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "plan.yaml"
    result = runner.invoke(
        cli, ["plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return out


def test_apply_plan_from_file_needs_a_target(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    plan_file = _plan(runner, tmp_path)
    result = runner.invoke(cli, ["apply", str(plan_file)])
    assert result.exit_code == 1
    assert "names no Swarmpit: give --swarmpit-url URL" in result.stderr
    assert swarmpit.call_count == 0
    result = runner.invoke(cli, ["apply", str(plan_file), "--swarmpit-url", SP, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would-redeploy  int_cd-helper (k3q9z1)" in result.stdout
    assert posts(swarmpit) == []


def test_apply_refuses_another_swarmpit(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    plan_file = tmp_path / "plan.yaml"
    runner.invoke(cli, ["plan", "--event", HUB, "--swarmpit-url", SP, "-o", str(plan_file)])
    result = runner.invoke(
        cli, ["apply", str(plan_file), "--swarmpit-url", "http://127.0.0.2:8888"]
    )
    assert result.exit_code == 1
    assert (
        "the plan was made for Swarmpit at http://127.0.0.1:8888, not http://127.0.0.2:8888"
        in result.stderr
    )
    assert posts(swarmpit) == []


def test_apply_stale_plan_is_refused(
    runner: CliRunner,
    tmp_path: Path,
    swarmpit: requests_mock.Mocker,
    load_data: Callable[[str], Any],
) -> None:
    plan_file = _plan(runner, tmp_path)
    changed = load_data("swarmpit-services.json")
    changed[0]["repository"]["imageDigest"] = "sha256:" + "9" * 64
    swarmpit.get(f"{SP}/api/services", json=changed)
    report = tmp_path / "r.json"
    result = runner.invoke(
        cli, ["apply", str(plan_file), "--swarmpit-url", SP, "--report", str(report)]
    )
    assert result.exit_code == 1
    assert "Refusing the plan" in result.stdout
    assert "stale           int_cd-helper (k3q9z1): image changed since the plan" in result.stdout
    assert posts(swarmpit) == []
    assert json.loads(report.read_text())["status"] == "refused"


def test_apply_failure_exits_1_and_reports(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    plan_file = _plan(runner, tmp_path)
    swarmpit.post(
        f"{SP}/api/services/k3q9z1/redeploy", status_code=500, json={"error": "docker said no"}
    )
    result = runner.invoke(cli, ["apply", str(plan_file), "--swarmpit-url", SP])
    assert result.exit_code == 1
    assert (
        "failed          int_cd-helper (k3q9z1): Swarmpit at http://127.0.0.1:8888: POST"
        in result.stdout
    )
    assert "docker said no" in result.stdout


def test_apply_without_token(runner: CliRunner, tmp_path: Path) -> None:
    plan_file = _plan(runner, tmp_path)
    result = runner.invoke(cli, ["apply", str(plan_file), "--swarmpit-url", SP])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: CDHELPER_SWARMPIT_TOKEN is not set")


def test_apply_invalid_plan_touches_nothing(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    bad = tmp_path / "plan.yaml"
    bad.write_text("format: cdhelper-plan\nformat_version: 1\n")
    report = tmp_path / "r.json"
    result = runner.invoke(cli, ["apply", str(bad), "--swarmpit-url", SP, "--report", str(report)])
    assert result.exit_code == 1
    assert "not a valid cdhelper plan" in result.stderr
    assert "$: 'actions' is a required property" in result.stderr
    assert swarmpit.call_count == 0
    assert not report.exists()


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    plan_file = _plan(runner, tmp_path)
    result = runner.invoke(cli, ["show", str(plan_file), "--format", fmt])
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.stdout)["actions"][0]["tag"] == "INT"
    elif fmt == "markdown":
        assert result.stdout.startswith("### cdhelper plan: 1 to redeploy, 0 skipped\n")
        assert (
            "| int_cd-helper (k3q9z1) | `docker.io/dopplerdock/doppler-cd-helper:INT` |"
            in result.stdout
        )
    else:
        assert "~ int_cd-helper (k3q9z1)" in result.stdout


def test_version_and_module_entry(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["--version"]).stdout.startswith("cdhelper, version ")


def test_smart_plan_against_docker_hub(
    runner: CliRunner, swarmpit: requests_mock.Mocker, tmp_path: Path
) -> None:
    hub = "https://registry-1.docker.io"
    swarmpit.get(
        f"{hub}/v2/",
        status_code=401,
        headers={
            "WWW-Authenticate": 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'
        },
    )
    swarmpit.get("https://auth.docker.io/token", json={"token": "t"})
    moved = "sha256:" + "4" * 64
    swarmpit.head(
        f"{hub}/v2/dopplerdock/doppler-cd-helper/manifests/INT",
        headers={"Docker-Content-Digest": moved, "ratelimit-remaining": "99;w=21600"},
    )
    swarmpit.head(
        f"{hub}/v2/dopplerdock/doppler-cd-helper/manifests/QA",
        headers={"Docker-Content-Digest": "sha256:" + "1" * 64},
    )
    swarmpit.head(f"{hub}/v2/dopplerdock/doppler-cd-helper/manifests/v1", status_code=404)
    swarmpit.head(
        f"{hub}/v2/dopplerdock/hello-microservice/manifests/INT",
        headers={"Docker-Content-Digest": "sha256:" + "3" * 64},
    )
    out = tmp_path / "plan.yaml"
    result = runner.invoke(
        cli,
        [
            "plan",
            "--smart",
            "--swarmpit-url",
            SP,
            "-o",
            str(out),
            "--filter",
            "name=*_*",
            "--detailed-exitcode",
        ],
    )
    assert result.exit_code == 2, result.output
    plan = yaml.safe_load(out.read_text())
    assert [(a["service"]["name"], a["target_digest"]) for a in plan["actions"]] == [
        ("int_cd-helper", moved),
        ("int_hello-nodigest", "sha256:" + "3" * 64),
    ]
    assert (
        "warning: docker.io/dopplerdock/doppler-cd-helper:v1: tag v1 no longer exists"
        in result.stderr
    )
    assert (
        "registry: 4 manifest HEAD(s), 0 GET(s), 1 token request(s), 1 ping(s); "
        "Docker Hub ratelimit-remaining: 99;w=21600"
    ) in result.stderr
    assert [r.method for r in swarmpit.request_history if "manifests" in r.url] == ["HEAD"] * 4


def test_filter_limits_lookups(runner: CliRunner, swarmpit: requests_mock.Mocker) -> None:
    hub = "https://registry-1.docker.io"
    swarmpit.get(f"{hub}/v2/", status_code=200)
    swarmpit.head(
        f"{hub}/v2/dopplerdock/doppler-cd-helper/manifests/v1",
        headers={"Docker-Content-Digest": "sha256:" + "2" * 64},
    )
    result = runner.invoke(cli, ["plan", "--smart", "--swarmpit-url", SP, "--filter", "stack=prod"])
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(result.stdout)
    assert [s["service"]["name"] for s in plan["skipped"]] == ["prod_cd-helper"]
    assert len([r for r in swarmpit.request_history if "manifests" in r.url]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["plan", "--smart", "--event", HUB, "--inventory", SWARMPIT],
            "--smart plans from the registry: give no --event",
        ),
        (
            ["plan", "--smart", "--inventory", SWARMPIT, "--filter", "colour=red"],
            "invalid filter 'colour=red'",
        ),
        (
            ["plan", "--smart", "--inventory", SWARMPIT, "--parallel", "0"],
            "Invalid value for '--parallel'",
        ),
        (
            ["plan", "--smart", "--inventory", SWARMPIT, "--registry-alias", "r.io"],
            "invalid registry alias 'r.io': expected ALIAS=REGISTRY",
        ),
        (
            ["plan", "--smart", "--inventory", SWARMPIT, "--insecure-registry", "a_b:1"],
            "invalid registry host 'a_b:1': expected HOST[:PORT]",
        ),
        (
            ["plan", "--event", HUB, "--inventory", SWARMPIT, "--registry-host", "h:99999x"],
            "invalid registry host 'h:99999x'",
        ),
        (
            ["plan", "--event", HUB, "--inventory", SWARMPIT, "--source", "nosuch"],
            "Invalid value for '--source'",
        ),
    ],
)
def test_smart_usage_errors(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    "option",
    [["--monitor", "2"], ["--on-failure", "pause"], ["--keep-going"], ["--parallel", "2"]],
    ids=["monitor", "on-failure", "keep-going", "parallel"],
)
def test_rollout_options_need_wait(runner: CliRunner, tmp_path: Path, option: list[str]) -> None:
    plan_file = _plan(runner, tmp_path)
    result = runner.invoke(cli, ["apply", str(plan_file), *option, "--swarmpit-url", SP])
    assert result.exit_code == 2
    assert f"{option[0]} only apply with --wait" in result.stderr


def test_docker_host_must_be_a_url(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plan", "--smart", "--docker-host", "/var/run/docker.sock"])
    assert result.exit_code == 1
    assert "invalid Docker host '/var/run/docker.sock'" in result.stderr


def test_bad_event_with_docker_host_calls_nothing(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(
        cli, ["plan", "--event", str(bad), "--docker-host", "unix:///nonexistent.sock"]
    )
    assert result.exit_code == 1
    assert "unknown webhook payload" in result.stderr


def test_apply_junit(runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker) -> None:
    from xml.etree import ElementTree

    plan_file = _plan(runner, tmp_path)
    junit = tmp_path / "junit.xml"
    result = runner.invoke(
        cli, ["apply", str(plan_file), "--swarmpit-url", SP, "--junit", str(junit)]
    )
    assert result.exit_code == 0, result.output
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert [c.get("name") for c in suite.findall("testcase")] == ["int_cd-helper (k3q9z1)"]
    assert suite.get("failures") == "0"


def test_plan_reads_the_event_from_stdin_once(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["plan", "--event", "-", "--inventory", SWARMPIT], input=Path(HUB).read_text()
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["actions"][0]["service"]["id"] == "k3q9z1"


@pytest.mark.parametrize("where", ["installed", "checkout"])
def test_python_dash_m(tmp_path: Path, where: str) -> None:
    """``python -m cdhelper`` works installed, and from the root of a source checkout."""
    import subprocess
    import sys

    cwd = tmp_path if where == "installed" else DATA.parent.parent

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cdhelper", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd,
        )

    done = run("validate", HUB)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dockerhub\tdocker.io/dopplerdock/doppler-cd-helper:INT")
    bad = run("show", str(tmp_path / "none.yaml"))
    assert bad.returncode == 1
    assert bad.stderr == f"error: {tmp_path / 'none.yaml'}: no such file\n"


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--event", HUB, "--swarmpit-url", SP, "-o", "{missing}/plan.yaml"],
        ["inventory", "--swarmpit-url", SP, "-o", "{missing}/inv.json"],
        ["apply", "{plan}", "--swarmpit-url", SP, "--report", "{missing}/r.json"],
        ["apply", "{plan}", "--swarmpit-url", SP, "--junit", "{tmp}"],
    ],
    ids=["plan", "inventory", "apply-report", "apply-junit-is-a-directory"],
)
def test_unwritable_outputs_fail_before_any_call(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker, args: list[str]
) -> None:
    plan_file = _plan(runner, tmp_path)
    values = {"missing": str(tmp_path / "missing"), "plan": str(plan_file), "tmp": str(tmp_path)}
    result = runner.invoke(cli, [a.format(**values) for a in args])
    assert result.exit_code == 1
    assert "cannot write:" in result.stderr
    assert swarmpit.call_count == 0


def test_apply_wait_through_swarmpit_writes_every_report(
    runner: CliRunner, tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    """Swarmpit can --wait now: its service and tasks are polled until healthy."""

    def tasks(request: Any, context: Any) -> Any:
        sid = request.path.split("/")[3]
        [service] = [s for s in swarmpit_services() if s["id"].lower() == sid]
        on = service["repository"]
        return [{"id": "t1", "state": "running", "desiredState": "running", "repository": on}]

    swarmpit.get(re.compile(f"{SP}/api/services/[^/]+/tasks$"), json=tasks)
    plan_file = _plan(runner, tmp_path)
    report_file, markdown = tmp_path / "report.json", tmp_path / "apply.md"
    result = runner.invoke(
        cli,
        [
            "apply",
            str(plan_file),
            "--swarmpit-url",
            SP,
            "--wait",
            "--monitor",
            "0",
            "--on-failure",
            "pause",
            "--parallel",
            "2",
            "--report",
            str(report_file),
            "--markdown",
            str(markdown),
        ],
    )
    assert result.exit_code == 0, result.output
    assert posts(swarmpit) == ["/api/services/k3q9z1/redeploy"]
    [item] = json.loads(report_file.read_text())["results"]
    assert item["outcome"] == "redeployed" and item["message"].startswith("healthy for 0 s")
    assert markdown.read_text().startswith("### cdhelper apply: applied\n")


def swarmpit_services() -> list[dict[str, Any]]:
    return list(json.loads(Path(SWARMPIT).read_text()))


def test_progress_lines_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from cdhelper.cli import apply as cli_module
    from cdhelper.plan import ServiceId

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    show = cli_module._progress_lines()
    web = ServiceId("s1", "web")
    for state in ["redeploying", "updating", "updating", "redeployed"]:
        show(web, state)
    assert capsys.readouterr().err.splitlines() == [
        "  web (s1): redeploying",
        "  web (s1): updating",
        "  web (s1): redeployed",
    ]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    cli_module._progress_lines()(web, "quiet")
    assert capsys.readouterr().err == ""
