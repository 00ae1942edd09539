"""What each command imports: start-up cost counted in modules, not timed.

``cdhelper plan`` over an inventory file is the denominator of the scale benchmark: it
must load no client it does not call (docker-py, requests, the inbox server, the full
JSON Schema validator, the applier). Each command runs in a fresh interpreter, which
then lists ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cdhelper.cli import COMMANDS, LazyCommands, cli

from helpers import DATA

# Run one command in-process, as `cdhelper` would, then write its exit code and modules.
RUNNER = """
import json, sys
from cdhelper.cli import cli
try:
    cli.main(sys.argv[2:], prog_name="cdhelper", standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

# Third-party packages and cdhelper modules only a command that talks to a server needs.
HEAVY = (
    "docker",
    "requests",
    "urllib3",
    "uvicorn",
    "starlette",
    "prometheus_client",
    "jsonschema",  # the full validator: only to explain a document that fails
    "nodesemver",  # only for services that follow a semver range
    "cdhelper.http",
    "cdhelper.registry",
    "cdhelper.registry_auth",
    "cdhelper.credential_helpers",
    "cdhelper.applier",
    "cdhelper.rollout",
    "cdhelper.inbox",
    "cdhelper.cli.apply",
    "cdhelper.cli.inbox",
)

HUB = str(DATA / "dockerhub-push-int.json")
SWARMPIT = str(DATA / "swarmpit-services.json")
ENGINE = str(DATA / "docker-engine-services.json")
ENVELOPE = str(DATA / "registry-notifications-push-app-v1.json")


def imported(tmp_path: Path, *args: str) -> list[str]:
    """The modules loaded by ``cdhelper ARGS`` in a fresh interpreter, which must succeed."""
    out = tmp_path / "modules.json"
    env = {**os.environ, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "docker")}
    subprocess.run(
        [sys.executable, "-c", RUNNER, str(out), *args],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    result = json.loads(out.read_text())
    assert result["code"] in (0, None), f"cdhelper {' '.join(args)} exited {result['code']}"
    modules: list[str] = result["modules"]
    return modules


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(f"{h}.") for h in HEAVY)]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["plan", "--event", HUB, "--inventory", SWARMPIT], id="plan-swarmpit"),
        pytest.param(["plan", "--event", HUB, "--inventory", ENGINE, "-o", "p"], id="plan-engine"),
        pytest.param(["validate", HUB, ENVELOPE], id="validate"),
        pytest.param(["tags", "v1.2.3", "--commit", "0123456789abcdef"], id="tags"),
    ],
)
def test_offline_commands_load_no_client(args: list[str], tmp_path: Path) -> None:
    assert heavy(imported(tmp_path, *args)) == []


def test_show_loads_no_client(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    imported(tmp_path, "plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(plan))
    assert heavy(imported(tmp_path, "show", str(plan))) == []


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    """-h lists every command, so it imports them all: the inbox, and requests under it."""
    found = heavy(imported(tmp_path, "-h"))
    assert {"requests", "cdhelper.cli.inbox", "cdhelper.cli.apply"} <= set(found)


def test_every_command_is_where_the_registry_says() -> None:
    commands = LazyCommands(COMMANDS)
    assert sorted(commands) == sorted(COMMANDS) == cli.list_commands(click.Context(cli))
    for name in COMMANDS:
        command = commands[name]
        assert isinstance(command, click.Command) and command.name == name


def test_lazy_commands_import_only_what_is_looked_up() -> None:
    commands = LazyCommands({"tags": "cdhelper.cli.tags:tags", "gone": "no.such.module:x"})
    assert "gone" in commands and "other" not in commands and len(commands) == 2
    assert commands["tags"].name == "tags"  # "gone" never imported: no error
    extra = click.Command("extra")
    commands["extra"] = extra
    assert list(commands) == ["tags", "gone", "extra"] and commands["extra"] is extra
    del commands["gone"]
    assert list(commands) == ["tags", "extra"] and len(commands) == 2
    with pytest.raises(KeyError):
        del commands["gone"]
    with pytest.raises(KeyError):
        commands["other"]
    with pytest.raises(ModuleNotFoundError):
        LazyCommands({"gone": "no.such.module:x"})["gone"]
