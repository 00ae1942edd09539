from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from cdhelper.credentials import Credential, CredentialStore, config_path, registry_of
from cdhelper.errors import ConfigError


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("key", "registry"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("https://Reg.Example.com", "reg.example.com"),
        ("ghcr.io/owner", "ghcr.io"),
    ],
)
def test_registry_of(key: str, registry: str) -> None:
    assert registry_of(key) == registry


def test_auths(tmp_path: Path) -> None:
    store = CredentialStore(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
                "127.0.0.1:5000": {"auth": b64("local:pw:with:colons")},
                "empty.example.com": {},
            }
        }
    )
    assert store.get("docker.io") == Credential("hubuser", "hubpass")
    assert store.get("127.0.0.1:5000") == Credential("local", "pw:with:colons")
    assert store.get("empty.example.com") is None
    assert store.get("other.example.com") is None
    assert "hubpass" not in repr(store.get("docker.io"))


def test_bad_auth_names_the_path() -> None:
    store = CredentialStore({"auths": {"r.io": {"auth": "!!!"}}}, source="/x/config.json")
    with pytest.raises(
        ConfigError, match=r'/x/config.json: \$.auths\["r.io"\].auth: expected base64'
    ):
        store.get("r.io")


def _helper(directory: Path, name: str, script: str) -> None:
    path = directory / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def helpers_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_cred_helpers_and_store(helpers_path: Path) -> None:
    _helper(
        helpers_path, "pass", 'read s; echo "{\\"Username\\":\\"u-$s\\",\\"Secret\\":\\"x\\"}"\n'
    )
    _helper(
        helpers_path, "desktop", 'read s; echo "credentials not found in native keychain"; exit 1\n'
    )
    store = CredentialStore(
        {
            "credHelpers": {"ghcr.io": "pass"},
            "credsStore": "desktop",
            "auths": {"r.io": {"auth": b64("a:b")}},
        }
    )
    assert store.get("ghcr.io") == Credential("u-ghcr.io", "x")
    assert store.get("r.io") == Credential("a", "b")  # the store has none: auths answer


def test_cred_store_for_docker_hub_gets_the_legacy_url(helpers_path: Path) -> None:
    _helper(helpers_path, "echo", 'read s; echo "{\\"Username\\":\\"$s\\",\\"Secret\\":\\"x\\"}"\n')
    assert CredentialStore({"credsStore": "echo"}).get("docker.io") == Credential(
        "https://index.docker.io/v1/", "x"
    )


@pytest.mark.parametrize(
    ("script", "message"),
    [("exit 3\n", "failed for ghcr.io \\(exit 3\\)"), ("echo nope\n", "gave no Username/Secret")],
)
def test_broken_helpers(helpers_path: Path, script: str, message: str) -> None:
    _helper(helpers_path, "broken", script)
    with pytest.raises(ConfigError, match=message):
        CredentialStore({"credHelpers": {"ghcr.io": "broken"}}).get("ghcr.io")


def test_missing_helper() -> None:
    with pytest.raises(ConfigError, match="docker-credential-nosuch is not installed"):
        CredentialStore({"credHelpers": {"ghcr.io": "nosuch"}}).get("ghcr.io")


def test_from_environment(tmp_path: Path) -> None:
    assert config_path({"DOCKER_CONFIG": str(tmp_path)}) == tmp_path / "config.json"
    assert CredentialStore.from_environment({"DOCKER_CONFIG": str(tmp_path)}).get("r.io") is None
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"r.io": {"auth": b64("a:b")}}}))
    assert CredentialStore.from_environment({"DOCKER_CONFIG": str(tmp_path)}).get(
        "r.io"
    ) == Credential("a", "b")
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ConfigError, match="config.json: not valid JSON"):
        CredentialStore.from_environment({"DOCKER_CONFIG": str(tmp_path)})
    (tmp_path / "config.json").write_text("[]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        CredentialStore.from_environment({"DOCKER_CONFIG": str(tmp_path)})
