"""The inbox configuration: schema errors with paths, semantic checks, secrets, config check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cdhelper import documents
from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.inbox import config as configuration

from inboxes import ENVIRON, HUB_TOKEN, SECRETS, write_config

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def problems(path: Path, environ: dict[str, str] = ENVIRON) -> list[str]:
    with pytest.raises(InputError) as caught:
        configuration.load(str(path), environ)
    return list(caught.value.problems)


def test_a_valid_config_loads_with_defaults_and_absolute_paths(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    config = configuration.load(str(path), ENVIRON)
    assert config.listen == ("127.0.0.1", 8080)
    assert config.state == str(tmp_path / "state")
    assert config.database == str(tmp_path / "state" / "inbox.sqlite3")
    assert config.dispatch_retry_seconds == 3600
    assert config.max_body_bytes == 1024 * 1024
    hub = config.source("hub")
    assert hub is not None and hub.token is not None and hub.token.value == HUB_TOKEN
    assert HUB_TOKEN not in repr(hub)
    env = config.environment("int")
    assert env is not None and env.services["file"] == str(tmp_path / "inventory.json")
    assert [f.value for f in env.filters] == ["int"]
    assert config.source("nope") is None and config.environment("nope") is None


def test_schema_errors_carry_their_paths(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        coalesce_seconds="soon",
        sources=[{"name": "hub", "type": "dockerhub", "token_env": "X", "colour": "red"}],
        environments=[{"name": "int", "services": {"file": "f"}, "dispatch": {"type": "plans"}}],
    )
    found = problems(path)
    assert "$.coalesce_seconds: expected number, got string" in found
    assert any(p.startswith("$.sources[0]: Additional properties") and "colour" in p for p in found)
    assert "$.environments[0].dispatch: 'dir' is a required property" in found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"sources": [{"name": "a", "type": "dockerhub", "insecure": True} for _ in range(2)]},
            "$.sources[1].name: 'a' is already the name of $.sources[0]",
        ),
        (
            {"sources": [{"name": "a", "type": "gitea", "insecure": True}]},
            "$.sources[0].type: unknown source 'gitea': expected one of dockerhub, registry",
        ),
        (
            {"sources": [{"name": "a", "type": "dockerhub"}]},
            "$.sources[0]: no authentication: give token_env or token_file, "
            "or say insecure: true to accept anyone's deliveries",
        ),
        (
            {"sources": [{"name": "a", "type": "dockerhub", "secret_env": "HUB_HOOK_TOKEN"}]},
            "$.sources[0]: a dockerhub source signs nothing: use token_env or token_file",
        ),
        (
            {"sources": [{"name": "a", "type": "dockerhub", "token_env": "MISSING_VAR"}]},
            "$.sources[0].token_env: the environment variable MISSING_VAR is not set (or empty)",
        ),
        (
            {"sources": [{"name": "a", "type": "dockerhub", "token_env": "A", "token_file": "b"}]},
            "$.sources[0].token_env: give token_env or token_file, not both",
        ),
        (
            {"sources": [{"name": "a", "type": "dockerhub", "token_file": "nowhere"}]},
            "$.sources[0].token_file: cannot read {dir}/nowhere: No such file or directory",
        ),
        (
            {"admin_token_env": "NO_ADMIN"},
            "$.admin_token_env: the environment variable NO_ADMIN is not set (or empty)",
        ),
        (
            {"coalesce_seconds": 90},
            "$.coalesce_seconds: 90 s is longer than max_batch_seconds (5 s)",
        ),
    ],
    ids=[
        "duplicate",
        "unknown-type",
        "no-auth",
        "secret-unsigned",
        "env-missing",
        "env-and-file",
        "file-missing",
        "admin-missing",
        "coalesce",
    ],
)
def test_semantic_problems(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    found = problems(write_config(tmp_path, **change))
    expected = expected.format(dir=tmp_path)
    assert any(p.startswith(expected) for p in found), found


def environment(**fields: Any) -> dict[str, Any]:
    return {
        "name": "e",
        "services": {"file": "inventory.json"},
        "dispatch": {"type": "plans", "dir": "p"},
        **fields,
    }


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            environment(filters=["colour=red"]),
            "$.environments[0].filters: invalid filter 'colour=red'",
        ),
        (
            environment(services={}),
            "$.environments[0].services: give exactly one of file, swarmpit_url, docker_host "
            "(got none)",
        ),
        (
            environment(services={"file": "x", "docker_host": "unix:///d.sock"}),
            "$.environments[0].services: give exactly one of file, swarmpit_url, docker_host "
            "(got file, docker_host)",
        ),
        (
            environment(services={"swarmpit_url": "http://s:8080"}),
            "$.environments[0].services: swarmpit_url needs token_env or token_file",
        ),
        (
            environment(services={"docker_host": "unix:///d.sock", "token_env": "HUB_HOOK_TOKEN"}),
            "$.environments[0].services: a token is for swarmpit_url only",
        ),
        (
            environment(dispatch={"type": "carrier-pigeon"}),
            "$.environments[0].dispatch.type: unknown dispatch type 'carrier-pigeon'",
        ),
        (
            environment(
                services={"swarmpit_url": "http://swarmpit.example:8080", "token_env": "T"}
            ),
            "$.environments[0].services.swarmpit_url: refusing to send the Swarmpit API token",
        ),
        (
            environment(services={"docker_host": "unix:///d.sock", "allow_http": True}),
            "$.environments[0].services: allow_http is for swarmpit_url only",
        ),
        (environment(registry_aliases={"": "x"}), "$.environments[0].registry_aliases: invalid"),
        (
            environment(insecure_registries=["bad host"]),
            "$.environments[0].insecure_registries[0]:",
        ),
    ],
    ids=[
        "filter",
        "no-services",
        "two-services",
        "swarmpit-token",
        "token-for-docker",
        "dispatch",
        "plain-http",
        "allow-http-docker",
        "alias",
        "insecure",
    ],
)
def test_environment_problems(tmp_path: Path, env: dict[str, Any], expected: str) -> None:
    found = problems(write_config(tmp_path, environments=[env]))
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        sources=[
            {"name": "a", "type": "dockerhub"},
            {"name": "a", "type": "nope", "insecure": True},
        ],
        environments=[environment(filters=["x"])],
    )
    assert len(problems(path)) == 4


def test_secret_files_lose_one_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n\n")
    path = write_config(
        tmp_path, sources=[{"name": "a", "type": "dockerhub", "token_file": "token"}]
    )
    source = configuration.load(str(path), ENVIRON).source("a")
    assert source is not None and source.token is not None
    assert source.token.value == "s3cret\n"
    assert source.token.origin == f"file {tmp_path / 'token'}"
    (tmp_path / "token").write_text("\n")
    assert any("is empty" in p for p in problems(path))


def test_dispatchers_are_built_and_their_problems_have_paths(tmp_path: Path) -> None:
    apply_from_file = environment(dispatch={"type": "apply", "wait": True})
    config = configuration.load(
        str(write_config(tmp_path, environments=[apply_from_file])), ENVIRON
    )
    with pytest.raises(InputError) as caught:
        configuration.build_dispatchers(config, ENVIRON)
    assert caught.value.problems[0].startswith(
        "$.environments[0].dispatch: apply needs live services"
    )
    config = configuration.load(str(write_config(tmp_path)), ENVIRON)
    assert set(configuration.build_dispatchers(config, ENVIRON)) == {"int"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(30, 30.0), (0.5, 0.5), ("30s", 30.0), ("10m", 600.0), ("6h", 21600.0), ("1.5d", 129600.0)],
)
def test_durations(text: float | str, seconds: float) -> None:
    assert configuration.parse_duration(text) == seconds


def test_bad_duration_and_listen() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        configuration.parse_duration("6 hours")
    assert configuration.parse_listen("[::1]:8080") == ("::1", 8080)
    for bad in ("8080", "host:", "host:99999", ":80"):
        with pytest.raises(ValueError, match="invalid listen address"):
            configuration.parse_listen(bad)


def test_config_check_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    path = write_config(tmp_path)
    ok = runner.invoke(cli, ["config", "check", str(path)], env=ENVIRON)
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"{path}: ok: 5 source(s), 1 environment(s), listen 127.0.0.1:8080")
    bad = write_config(
        tmp_path, sources=[{"name": "a", "type": "dockerhub", "token_env": "UNSET_X"}]
    )
    failed = runner.invoke(cli, ["config", "check", str(bad)], env={**ENVIRON, "UNSET_X": ""})
    assert failed.exit_code == 1
    assert "$.sources[0].token_env: the environment variable UNSET_X is not set" in failed.output
    assert not any(secret in failed.output for secret in SECRETS)
    offline = runner.invoke(cli, ["config", "check", "--no-secrets", str(bad)], env={"UNSET_X": ""})
    assert offline.exit_code == 0, offline.output


def test_config_check_of_broken_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("sources: [\n")
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert "not valid YAML" in result.output


def test_the_example_config_is_valid() -> None:
    config = configuration.load(str(EXAMPLES / "inbox.yaml"), {"HUB_HOOK_TOKEN": "t"})
    assert [e.name for e in config.environments] == ["int", "qa"]
    assert (
        yaml.safe_load((EXAMPLES / "inbox.yaml").read_text())["sources"][0]["type"] == "dockerhub"
    )


def test_the_documented_example_config_fits_the_schema() -> None:
    page = (EXAMPLES.parent / "docs" / "inbox.md").read_text()
    block = page.split("```yaml\n")[1].split("```")[0]
    example = yaml.safe_load(block)
    assert documents.schema_errors(example, "config") == []
    assert [s["type"] for s in example["sources"]][:3] == ["dockerhub", "ghcr", "registry"]


def test_swarmpit_environments_carry_their_token_and_transport(tmp_path: Path) -> None:
    env = environment(
        services={
            "swarmpit_url": "http://swarmpit.example:8080",
            "token_env": "HUB_HOOK_TOKEN",
            "allow_http": True,
        }
    )
    config = configuration.load(str(write_config(tmp_path, environments=[env])), ENVIRON)
    environ = config.environments[0].environ()
    assert environ["CDHELPER_SWARMPIT_TOKEN"] == HUB_TOKEN
    assert environ["CDHELPER_ALLOW_HTTP"] == "1"
    from cdhelper.inbox import planning

    source = planning.services(config.environments[0])
    assert source.backend is not None
    assert source.backend.target.url == "http://swarmpit.example:8080"
