"""deploy/stack.yml: a compose-spec Swarm stack running the inbox, consistent with its config.

tox's lint env also checks it with ``check-jsonschema --builtin-schema vendor.compose-spec``;
here the same vendored schema is used when check-jsonschema is installed.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"
ROOT = DEPLOY.parent


def load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


@pytest.fixture(scope="module")
def stack() -> Any:
    return load("stack.yml")


@pytest.fixture(scope="module")
def inbox(stack: Any) -> Any:
    return stack["services"]["inbox"]


@pytest.fixture(scope="module")
def config() -> Any:
    return load("cdhelper.yaml")


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_matches_the_compose_spec(stack: Any) -> None:
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    validator = jsonschema.validators.validator_for(json.loads(text))(json.loads(text))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(stack)]
    assert errors == []
    broken = copy.deepcopy(stack)
    broken["services"]["inbox"]["healtcheck"] = {}  # a misspelt key
    (error,) = validator.iter_errors(broken)  # the schema does check
    assert "healtcheck" in error.message


def test_one_replica_serving_with_the_config(inbox: Any, stack: Any) -> None:
    assert list(stack["services"]) == ["inbox"]
    assert inbox["image"].startswith("${CDHELPER_IMAGE:-cdhelper")
    command = inbox["command"]
    assert command[0] == "serve"  # the image's entrypoint is cdhelper
    assert 'ENTRYPOINT ["cdhelper"]' in (ROOT / "Dockerfile").read_text()
    (mounted,) = inbox["configs"]
    assert mounted["target"] == option(command, "--config")
    assert stack["configs"][mounted["source"]]["file"] == "./cdhelper.yaml"
    deploy = inbox["deploy"]
    assert deploy["replicas"] == 1
    assert deploy["update_config"]["order"] == "stop-first"
    assert deploy["rollback_config"]["order"] == "stop-first"


def test_the_port_and_healthcheck_meet_the_listen_address(inbox: Any, config: Any) -> None:
    listen = option(inbox["command"], "--listen")
    assert listen == config["listen"]
    port = int(listen.rsplit(":", 1)[1])
    (published,) = inbox["ports"]
    assert published["target"] == port
    test = inbox["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert f"http://127.0.0.1:{port}/healthz" in test[-1]
    for key in ("interval", "timeout", "retries", "start_period"):
        assert key in inbox["healthcheck"]


def secret_files(node: Any) -> list[str]:
    """Every ``*_file`` value anywhere in the config."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k.endswith("_file") and isinstance(v, str)]
        return found + [f for v in node.values() for f in secret_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in secret_files(v)]
    return []


def test_every_secret_is_a_docker_secret_the_service_mounts(
    inbox: Any, stack: Any, config: Any
) -> None:
    files = secret_files(config)
    assert files, "the config names its secrets by *_file"
    mounted = set(inbox["secrets"])
    assert all(stack["secrets"][name].get("external") for name in mounted)
    for path in files:
        assert path.startswith("/run/secrets/"), path
        assert path.removeprefix("/run/secrets/") in mounted, path
    used = {p.removeprefix("/run/secrets/") for p in files}
    assert used == mounted  # no secret mounted for nothing
    # and no secret written in the config itself
    text = (DEPLOY / "cdhelper.yaml").read_text()
    assert "token:" not in text
    assert "secret:" not in text


def test_every_variable_the_config_names_is_set(inbox: Any, config: Any) -> None:
    def names(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [v for k, v in node.items() if k.endswith("_env") and isinstance(v, str)]
            return found + [n for v in node.values() for n in names(v)]
        if isinstance(node, list):
            return [n for v in node for n in names(v)]
        return []

    assert set(names(config)) <= set(inbox.get("environment", {}))


def test_the_config_is_valid_for_the_inbox(config: Any) -> None:
    schema = json.loads((ROOT / "schemas" / "config.schema.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(config)]
    assert errors == []


def test_the_store_is_on_the_volume(inbox: Any, stack: Any, config: Any) -> None:
    (volume,) = inbox["volumes"]
    assert volume["type"] == "volume"
    assert volume["source"] in stack["volumes"]
    assert Path(config["state"]).is_relative_to(volume["target"])
    # the store lives on one node's local volume: the service is pinned to that node
    assert inbox["deploy"]["placement"]["constraints"]


def test_it_says_how_to_put_tls_in_front() -> None:
    text = (DEPLOY / "stack.yml").read_text()
    assert "TLS" in text
    assert "reverse proxy" in text
    assert "access log" in text


def test_docker_reads_it_as_a_stack() -> None:
    """The Docker CLI's own stack loader (offline: no daemon needed), when installed."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    done = subprocess.run(
        [docker, "stack", "config", "-c", "stack.yml"],
        cwd=DEPLOY,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CDHELPER_IMAGE": "registry.example/cdhelper:1.0"},
    )
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["services"]["inbox"]["image"] == "registry.example/cdhelper:1.0"
