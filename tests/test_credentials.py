from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import docker.auth
import pytest

from cdhelper import redact
from cdhelper.credentials import (
    DOCKER_HUB_SERVER,
    Credential,
    CredentialStore,
    config_path,
    registry_of,
)
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
    # As docker-py (and the Docker CLI) do, the whole file is checked when it is loaded.
    with pytest.raises(ConfigError) as raised:
        CredentialStore({"auths": {"r.io": {"auth": "!!!"}}}, source="/x/config.json")
    assert str(raised.value) == (
        "/x/config.json: not a valid Docker config\n"
        """  - $.auths["r.io"].auth: expected base64 of 'user:password'"""
    )


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


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"auths": []}, "$.auths: expected an object"),
        ({"auths": {"r.io": "x"}}, '$.auths["r.io"]: expected an object'),
        ({"auths": {"r.io": {"auth": 5}}}, '$.auths["r.io"].auth: expected base64'),
        ({"auths": {"r.io": {"auth": b64("no-colon")}}}, '$.auths["r.io"].auth: expected base64'),
        ({"auths": {"r.io": {"auth": "é"}}}, '$.auths["r.io"].auth: expected base64'),
        (
            {"auths": {"r.io": {"auth": base64.b64encode(b"u:\xff").decode()}}},
            '$.auths["r.io"].auth: expected base64',
        ),
        ({"auths": {"r.io": {"identitytoken": 7}}}, "identitytoken: expected a printable ASCII"),
        (
            {"auths": {"r.io": {"identitytoken": "tök\u00e9n"}}},
            "identitytoken: expected a printable ASCII",
        ),
        ({"credsStore": ["x"]}, "$.credsStore: expected the name of a credential helper"),
        ({"credsStore": "../bin/sh"}, "$.credsStore: expected the name of a credential helper"),
        ({"credHelpers": "pass"}, "$.credHelpers: expected an object"),
        ({"credHelpers": {"r.io": "\ud800"}}, '$.credHelpers["r.io"]: expected the name'),
    ],
)
def test_malformed_configs_are_config_errors(config: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        CredentialStore(config, source="/x/config.json")
    assert str(raised.value).startswith("/x/config.json: not a valid Docker config\n")
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"auths": {"r.io": {"auth": "%%%"}}}', '$.auths["r.io"].auth: expected base64'),
        (b'{"auths": ' + b"1" * 5000 + b"}", "nested too deeply or a huge number"),
    ],
    ids=["not-utf8", "deep", "bad-base64", "huge-int"],
)
def test_malformed_files_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "config.json").write_bytes(content)
    with pytest.raises(ConfigError, match=str(tmp_path / "config.json")) as raised:
        CredentialStore.from_environment({"DOCKER_CONFIG": str(tmp_path)})
    assert message in str(raised.value)


def test_empty_auth_and_other_settings_are_no_credentials() -> None:
    store = CredentialStore(
        {"auths": {"r.io": {"auth": ""}}, "psFormat": "x", "HttpHeaders": {"a": "b"}}
    )
    assert store.get("r.io") is None
    assert store.get("psformat") is None


def test_identity_token_from_auths() -> None:
    store = CredentialStore({"auths": {"r.io": {"identitytoken": "idtok-123"}}})
    found = store.get("r.io")
    assert found == Credential("", "", "idtok-123")
    assert found is not None and found.who == "the identity token"
    assert "idtok-123" not in repr(found)
    assert Credential("bob", "x").who == "user 'bob'"


def test_identity_token_from_a_helper(helpers_path: Path) -> None:
    _helper(
        helpers_path, "tok", 'echo "{\\"Username\\":\\"<token>\\",\\"Secret\\":\\"id-xyz\\"}"\n'
    )
    assert CredentialStore({"credsStore": "tok"}).get("r.io") == Credential("", "", "id-xyz")


def test_secrets_read_are_registered_for_redaction(helpers_path: Path) -> None:
    _helper(helpers_path, "pass", 'echo "{\\"Username\\":\\"hu\\",\\"Secret\\":\\"helper-pw\\"}"\n')
    store = CredentialStore(
        {
            "credHelpers": {"ghcr.io": "pass"},
            "auths": {"r.io": {"auth": b64("me:config-pw")}, "q.io": {"identitytoken": "idtok"}},
        }
    )
    # Every secret in the file is known as soon as it is read, used or not.
    text = f"config-pw {b64('me:config-pw')} idtok"
    assert redact.redact(text) == "*** *** ***"
    assert redact.redact("helper-pw") == "helper-pw"  # not asked yet
    store.get("ghcr.io")
    assert redact.redact(f"helper-pw {b64('hu:helper-pw')}") == "*** ***"


def test_helper_that_hangs_times_out(helpers_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cdhelper.credential_helpers.HELPER_TIMEOUT", 0.3)
    _helper(helpers_path, "slow", "sleep 5\n")
    with pytest.raises(ConfigError, match="docker-credential-slow did not answer within 0.3 s"):
        CredentialStore({"credsStore": "slow"}).get("r.io")


def test_cred_helper_not_found_falls_through_to_auths(helpers_path: Path) -> None:
    _helper(helpers_path, "empty", 'echo "{\\"Username\\":\\"\\",\\"Secret\\":\\"\\"}"\n')
    store = CredentialStore(
        {"credHelpers": {"r.io": "empty"}, "auths": {"r.io": {"auth": b64("a:b")}}}
    )
    assert store.get("r.io") == Credential("a", "b")


def test_auths_keys_match_however_spelt() -> None:
    store = CredentialStore(
        {"auths": {"https://Reg.Example.com/v2/": {"auth": b64("a:b")}, "http://[bad": {}}}
    )
    assert store.get("reg.example.com") == Credential("a", "b")
    assert store.auth_config.auths  # docker-py's own parse, handed to the Engine backend


def test_helper_answer_that_is_not_text(helpers_path: Path) -> None:
    _helper(helpers_path, "odd", 'echo "{\\"Username\\":\\"u\\",\\"Secret\\":\\"\\\\ud800x\\"}"\n')
    with pytest.raises(ConfigError, match="answered with a login that is not text"):
        CredentialStore({"credsStore": "odd"}).get("r.io")


def test_the_x_registry_auth_form_is_registered() -> None:
    store = CredentialStore({"auths": {"r.io": {"auth": b64("me:engine-pw")}}})
    header = docker.auth.encode_header(store.auth_config.resolve_authconfig("r.io")).decode()
    assert redact.redact(f"X-Registry-Auth: {header}") == "X-Registry-Auth: ***"


def test_docker_hub_server_is_docker_pys() -> None:
    """Written out so that naming it loads no docker-py; it must stay docker-py's key."""
    assert DOCKER_HUB_SERVER == docker.auth.INDEX_URL
