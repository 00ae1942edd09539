"""The command line a newcomer meets: usage lines, one-line refusals, offline dry runs,
the environment in -h, progress on a terminal, shell completion."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests_mock
import yaml
from click.testing import CliRunner, Result

from cdhelper import backends, progress
from cdhelper.cli import cli
from cdhelper.inventory import Inventory, Target

from helpers import DATA, digest, service

HUB = str(DATA / "dockerhub-push-int.json")
REG = str(DATA / "registry-notifications-push-app-v1.json")
SWARMPIT = str(DATA / "swarmpit-services.json")
DOCKER = str(DATA / "docker-engine-services.json")


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, env=env, prog_name="cdhelper")


def make_plan(tmp_path: Path, event: str = HUB, inventory: str = SWARMPIT) -> Path:
    out = tmp_path / "plan.yaml"
    result = run("plan", "--event", event, "--inventory", inventory, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (["plan"], "cdhelper plan [OPTIONS]", "give at least one --event FILE, or --smart"),
        (
            ["inventory"],
            "cdhelper inventory [OPTIONS]",
            "give --swarmpit-url URL or --docker-host URL "
            "(or set CDHELPER_SWARMPIT_URL or DOCKER_HOST)",
        ),
        (
            ["plan", "--event", HUB, "--filter", "colour=red"],
            "cdhelper plan [OPTIONS]",
            "Invalid value for '--filter': invalid filter 'colour=red': "
            "expected label=KEY[=VALUE], stack=NAME or name=GLOB",
        ),
        (
            ["plan", "--event", HUB, "--registry-alias", "r.io"],
            "cdhelper plan [OPTIONS]",
            "Invalid value for '--registry-alias': invalid registry alias 'r.io': "
            "expected ALIAS=REGISTRY",
        ),
        (["config", "check"], "cdhelper config check [OPTIONS] FILE", "Missing argument 'FILE'."),
    ],
    ids=["plan", "inventory", "filter", "alias", "subgroup"],
)
def test_usage_errors_show_the_commands_own_usage(args: list[str], usage: str, error: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    command = usage.split(" [", 1)[0]
    assert result.stderr == (
        f"Usage: {usage}\nTry '{command} --help' for help.\n\nError: {error}\n"
    )


def test_validate_says_an_inventory_is_one() -> None:
    result = run("validate", SWARMPIT)
    assert result.exit_code == 1
    assert result.stderr == (
        "0 valid file(s), 0 push event(s)\n"
        f"error: {SWARMPIT}: $: this is a service inventory, not a webhook payload\n"
    )


@pytest.mark.parametrize(
    ("given", "found"),
    [(HUB, "it has no format"), (DOCKER, "it is a list, not a mapping")],
    ids=["payload", "inventory"],
)
def test_show_says_in_one_line_what_is_not_a_plan(given: str, found: str) -> None:
    result = run("show", given)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {given}: not a cdhelper plan: {found} "
        "(a plan is the YAML `cdhelper plan` writes, format: cdhelper-plan)\n"
    )


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (["validate", "-", "-"], "validate [OPTIONS] EVENT_FILE...", "EVENT_FILE twice"),
        (
            ["plan", "--event", "-", "--inventory", "-"],
            "plan [OPTIONS]",
            "--event and --inventory",
        ),
        (
            ["plan", "--event", "-", "--event", HUB, "--event", "-"],
            "plan [OPTIONS]",
            "--event twice",
        ),
        (
            ["apply", "-", "--dry-run", "--inventory", "-"],
            "apply [OPTIONS] PLAN",
            "PLAN and --inventory",
        ),
    ],
    ids=["validate", "plan", "plan-events", "apply"],
)
def test_stdin_given_to_two_inputs_is_a_usage_error(
    args: list[str], usage: str, error: str
) -> None:
    result = run(*args, stdin="{}")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Usage: cdhelper {usage}\n")
    assert result.stderr.endswith(
        f"Error: '-' (stdin) is given to {error}: stdin can be read only once\n"
    )


def test_an_unreachable_target_still_gets_both_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]
) -> None:
    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("CDHELPER_SWARMPIT_TOKEN", "a-token-for-nobody")
    plan_file = make_plan(tmp_path)
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    url = f"http://127.0.0.1:{port}"
    result = run(
        *("apply", str(plan_file), "--swarmpit-url", url),
        *("--report", str(report), "--junit", str(junit)),
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: Swarmpit at {url}: ")
    saved = json.loads(report.read_text())
    assert saved["status"] == "failed"
    [action] = saved["results"]
    assert action["outcome"] == "failed"
    assert action["message"].startswith(f"not applied: Swarmpit at {url}: ")
    [case] = ElementTree.parse(junit).getroot().iter("testcase")
    [failure] = case.iter("failure")
    assert failure.get("message", "").startswith(f"not applied: Swarmpit at {url}: ")


def snapshot(tmp_path: Path, source: str, target: Target) -> Path:
    """A `cdhelper inventory` snapshot holding the services of ``source``."""
    loaded = backends.load_inventory(source)
    taken = Inventory(target, loaded.services).to_snapshot(datetime(2026, 11, 30, tzinfo=UTC))
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(taken))
    return path


@pytest.mark.parametrize(
    ("event", "inventory", "kind"),
    [(HUB, SWARMPIT, "swarmpit"), (REG, DOCKER, "docker")],
    ids=["swarmpit", "docker"],
)
def test_a_dry_run_checks_a_plan_against_an_inventory_file_offline(
    tmp_path: Path, requests_mock: requests_mock.Mocker, event: str, inventory: str, kind: str
) -> None:
    plan_file = make_plan(tmp_path, event, inventory)
    [action] = yaml.safe_load(plan_file.read_text())["actions"]
    taken = snapshot(tmp_path, inventory, Target(kind, "https://elsewhere.example:2376"))
    for services in (inventory, str(taken)):
        result = run("apply", str(plan_file), "--dry-run", "--inventory", services)
        assert result.exit_code == 0, result.output
        name = f"{action['service']['name']} ({action['service']['id']})"
        assert result.stdout == (
            f"Dry run against {kind} (an inventory file): nothing will be changed.\n"
            f"  would-redeploy  {name}: matches the plan\n"
            "Summary: 1 would-redeploy\n"
        )
    assert requests_mock.request_history == []  # offline


def test_a_dry_run_against_a_changed_inventory_refuses_the_plan(tmp_path: Path) -> None:
    plan_file = make_plan(tmp_path)
    services = json.loads(Path(SWARMPIT).read_text())
    for entry in services:
        entry["repository"]["imageDigest"] = digest("9")
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(services))
    report = tmp_path / "report.json"
    result = run(
        *("apply", str(plan_file), "--dry-run"),
        *("--inventory", str(changed), "--report", str(report)),
    )
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "Refusing the plan: the live services changed since it was made."
    )
    assert "  stale           int_cd-helper (k3q9z1): image changed since the plan" in result.stdout
    assert json.loads(report.read_text())["status"] == "refused"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--inventory", DOCKER],
            1,
            "error: the plan is for Swarmpit, but the inventory file lists "
            "Docker Engine services\n",
        ),
        (
            ["--inventory", "SNAPSHOT"],
            1,
            "error: the plan is for the target https://swarmpit.example, but the inventory "
            "file is a snapshot of https://other.example\n",
        ),
        (
            ["--inventory", SWARMPIT, "--swarmpit-url", "http://127.0.0.1:9"],
            2,
            "Error: give either --inventory or --swarmpit-url, not both\n",
        ),
    ],
    ids=["other-kind", "other-target", "and-a-live-target"],
)
def test_a_dry_run_refuses_an_inventory_of_another_target(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    plan_file = make_plan(tmp_path)
    data = yaml.safe_load(plan_file.read_text())
    data["target"]["url"] = "https://swarmpit.example"
    plan_file.write_text(yaml.safe_dump(data))
    other = snapshot(tmp_path, SWARMPIT, Target("swarmpit", "https://other.example"))
    args = [str(other) if a == "SNAPSHOT" else a for a in args]
    result = run("apply", str(plan_file), "--dry-run", *args)
    assert result.exit_code == code
    assert result.stderr.endswith(message)


def test_a_report_may_not_overwrite_the_inventory_it_checks_against(tmp_path: Path) -> None:
    services = tmp_path / "services.json"
    services.write_text(Path(SWARMPIT).read_text())
    result = run(
        *("apply", str(make_plan(tmp_path)), "--dry-run"),
        *("--inventory", str(services), "--report", str(services)),
    )
    assert result.exit_code == 2
    assert result.stderr.endswith(
        f"Error: --report {services} is also an input: write somewhere else\n"
    )
    assert services.read_text() == Path(SWARMPIT).read_text()


def test_inventory_is_only_for_a_dry_run(tmp_path: Path) -> None:
    result = run("apply", str(make_plan(tmp_path)), "--inventory", SWARMPIT)
    assert result.exit_code == 2
    assert result.stderr == (
        "Usage: cdhelper apply [OPTIONS] PLAN\nTry 'cdhelper apply --help' for help.\n\n"
        "Error: --inventory checks a plan offline: give it with --dry-run\n"
    )


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        (["inventory"], ["CDHELPER_SWARMPIT_TOKEN", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"]),
        (["plan"], ["CDHELPER_SWARMPIT_TOKEN", "DOCKER_CONFIG", "CDHELPER_PLAN_KEY"]),
        (["show"], ["CDHELPER_PLAN_KEY"]),
        (["apply"], ["CDHELPER_SWARMPIT_TOKEN", "DOCKER_CONFIG", "CDHELPER_PLAN_KEY"]),
        (["revert"], ["CDHELPER_PLAN_KEY"]),
        (["serve"], ["<name>_env", "<name>_file"]),
        (["config", "check"], ["<name>_env", "<name>_file"]),
    ],
    ids=["inventory", "plan", "show", "apply", "revert", "serve", "config-check"],
)
def test_help_names_the_environment_variables_that_hold_secrets(
    command: list[str], variables: list[str]
) -> None:
    result = run(*command, "-h")
    assert result.exit_code == 0
    for variable in variables:
        assert variable in result.stdout
    if command[-1] not in ("serve", "check"):
        environment = result.stdout.split("Environment (secrets are never printed):\n", 1)[1]
        rows = [line.split()[0] for line in environment.splitlines() if line.strip()]
        assert set(variables) <= set(rows)
        assert len(rows) == len(set(rows))  # each variable once


def test_help_of_a_command_without_secrets_names_no_environment() -> None:
    assert "Environment" not in run("tags", "-h").stdout


class Terminal:
    """A stream that says it is a terminal and records what was written."""

    def __init__(self, tty: bool = True) -> None:
        self.text = ""
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_is_drawn_in_place_and_only_on_a_terminal() -> None:
    assert progress.ProgressLine.on_terminal(Terminal(tty=False), "{done}/{total}") is None  # type: ignore[arg-type]
    stream = Terminal()
    now = [0.0]
    shown = progress.ProgressLine(stream, "checked {done}/{total} references", lambda: now[0])  # type: ignore[arg-type]
    shown(1, 3)
    now[0] = 0.05
    shown(2, 3)  # too soon after the last: not drawn
    shown(3, 3)  # the last is always drawn
    shown.clear()
    assert stream.text == ("\r\x1b[Kchecked 1/3 references\r\x1b[Kchecked 3/3 references\r\x1b[K")


def smart_registry(requests_mock: requests_mock.Mocker, tmp_path: Path) -> Path:
    """Three services on a loopback registry, and that registry (mocked)."""
    services = [
        service(name, f"127.0.0.1:5000/app:{name}", digest("1"), sid=f"id-{name}")
        for name in ("v1", "v2", "v3")
    ]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps(
            Inventory(Target("docker"), tuple(services)).to_snapshot(
                datetime(2026, 11, 30, tzinfo=UTC)
            )
        )
    )
    requests_mock.get("http://127.0.0.1:5000/v2/", json={})
    for name in ("v1", "v2", "v3"):
        requests_mock.head(
            f"http://127.0.0.1:5000/v2/app/manifests/{name}",
            headers={"Docker-Content-Digest": digest("2")},
        )
    return inventory


def test_smart_mode_shows_its_registry_lookups_on_a_terminal(
    tmp_path: Path, requests_mock: requests_mock.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = smart_registry(requests_mock, tmp_path)
    monkeypatch.setattr(
        progress.ProgressLine,
        "on_terminal",
        classmethod(lambda cls, stream, template: cls(stream, template, clock=lambda: 0.0)),
    )
    result = run("plan", "--smart", "--inventory", str(inventory), "--parallel", "1")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        "\r\x1b[Kchecked 1/3 references\r\x1b[Kchecked 3/3 references\r\x1b[K"
        "registry: 3 manifest HEAD(s)"
    )


def test_smart_mode_is_quiet_when_stderr_is_no_terminal(
    tmp_path: Path, requests_mock: requests_mock.Mocker
) -> None:
    inventory = smart_registry(requests_mock, tmp_path)
    result = run("plan", "--smart", "--inventory", str(inventory))
    assert result.exit_code == 0, result.output
    assert "checked" not in result.stderr
    assert "\r" not in result.stderr
    assert result.stderr.startswith("registry: 3 manifest HEAD(s)")


def test_shell_completion_as_documented() -> None:
    script = run(env={"_CDHELPER_COMPLETE": "bash_source"})
    assert script.exit_code == 0
    assert "complete -o nosort -F _cdhelper_completion cdhelper" in script.stdout
    completed = run(
        env={"_CDHELPER_COMPLETE": "bash_complete", "COMP_WORDS": "cdhelper pl", "COMP_CWORD": "1"}
    )
    assert completed.stdout.split() == ["plain,plan"]
    root = Path(__file__).parents[1]
    documents = [root / "README.md", *sorted(root.glob("docs/**/*.md"))]
    assert any("_CDHELPER_COMPLETE=bash_source cdhelper" in d.read_text() for d in documents)
