from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests_mock

from cdhelper import redact
from cdhelper.credentials import Credential, CredentialStore
from cdhelper.reference import ImageRef
from cdhelper.registry import RegistryClient
from cdhelper.registry_auth import parse_challenge, trusted_realm
from cdhelper.values import Lookup

from helpers import digest


def test_parse_challenge() -> None:
    parsed = parse_challenge('Bearer realm="https://a/token",service="s",scope="repository:x:pull"')
    assert parsed is not None and parsed.scheme == "bearer"
    assert parsed.params == {
        "realm": "https://a/token",
        "service": "s",
        "scope": "repository:x:pull",
    }
    assert parse_challenge("") is None


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        (
            "Bearer realm=https://a/token,service=s",
            "bearer",
            {"realm": "https://a/token", "service": "s"},
        ),
        ('BEARER realm="r"', "bearer", {"realm": "r"}),
    ],
)
def test_challenge_forms(header: str, scheme: str, params: dict[str, str]) -> None:
    parsed = parse_challenge(header)
    assert parsed is not None
    assert (parsed.scheme, dict(parsed.params)) == (scheme, params)


REG = "https://reg.example.com"


class Creds(CredentialStore):
    def __init__(self, found: Credential | None) -> None:
        super().__init__()
        self.found = found

    def get(self, registry: str) -> Credential | None:
        return self.found


def challenged(mock: requests_mock.Mocker, realm: str) -> None:
    mock.get(
        f"{REG}/v2/",
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="svc"'},
    )
    mock.head(f"{REG}/v2/app/manifests/v1", headers={"Docker-Content-Digest": digest("a")})


def lookup(client: RegistryClient) -> Lookup:
    return client.resolve([ImageRef.parse("reg.example.com/app:v1")])[
        ImageRef.parse("reg.example.com/app:v1")
    ]


@pytest.mark.parametrize(
    ("realm", "trusted", "sent"),
    [
        (f"{REG}/token", (), True),  # the registry's own origin
        ("https://REG.example.com:443/token", (), True),  # the same origin, spelt otherwise
        ("https://auth.example.com/token", (), False),  # another host
        ("http://reg.example.com/token", (), False),  # another scheme (plain http)
        ("https://reg.example.com:8443/token", (), False),  # another port
        ("https://auth.example.com/token", ("https://auth.example.com",), True),
        ("https://auth.example.com/token", ("auth.example.com",), True),
        ("http://auth.example.com/token", ("auth.example.com",), False),  # trust is per scheme
        ("http://auth.example.com/token", ("http://auth.example.com",), True),
    ],
)
def test_credentials_go_only_to_a_trusted_realm(
    requests_mock: requests_mock.Mocker, realm: str, trusted: tuple[str, ...], sent: bool
) -> None:
    challenged(requests_mock, realm)
    requests_mock.get(realm, json={"token": "tok-realm-1"})
    client = RegistryClient(
        Creds(Credential("me", "my-password")),
        trusted_realms=[trusted_realm(t) for t in trusted],
    )
    found = lookup(client)
    token_calls = [r for r in requests_mock.request_history if "/token" in r.url]
    if sent:
        assert found == Lookup(digest=digest("a"))
        assert [r.headers["Authorization"] for r in token_calls] == ["Basic bWU6bXktcGFzc3dvcmQ="]
    else:
        assert token_calls == []  # nothing at all goes to the untrusted realm
        assert found.error is not None
        assert "not sending the credentials of user 'me' there" in found.error
        assert "give --trusted-realm" in found.error


def test_docker_hub_realm_is_known_and_anonymous_tokens_go_anywhere(
    requests_mock: requests_mock.Mocker,
) -> None:
    realm = "https://auth.docker.io/token"
    requests_mock.get(
        "https://registry-1.docker.io/v2/",
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
    )
    requests_mock.get(realm, json={"token": "hub-token"})
    requests_mock.head(
        "https://registry-1.docker.io/v2/ns/app/manifests/v1",
        headers={"Docker-Content-Digest": digest("b")},
    )
    client = RegistryClient(Creds(Credential("me", "hub-password")))
    assert client.resolve([ImageRef.parse("ns/app:v1")]) == {
        ImageRef.parse("ns/app:v1"): Lookup(digest=digest("b"))
    }
    challenged(requests_mock, "https://elsewhere.example.org/token")
    requests_mock.get("https://elsewhere.example.org/token", json={"token": "anon-token"})
    assert lookup(RegistryClient(Creds(None))) == Lookup(digest=digest("a"))


@pytest.mark.parametrize(
    ("realm", "why"),
    [
        ("ftp://reg.example.com/token", "expected http(s)://host[:port]/path"),
        ("/token", "expected http(s)://host[:port]/path"),
        ("https://reg.example.com:99999/token", "Port out of range"),
        ("https://[::1/token", "Invalid IPv6 URL"),
        ("https://réalm.example.com/token", "not a URL of printable ASCII"),
        ("https://u:p@reg.example.com/token", "must not carry credentials"),
    ],
)
def test_malformed_realms_are_clear_errors(
    requests_mock: requests_mock.Mocker, realm: str, why: str
) -> None:
    challenged(requests_mock, realm)
    found = lookup(RegistryClient(Creds(None)))
    assert found.error is not None
    assert found.error.startswith("registry reg.example.com: invalid token realm ")
    assert why in found.error


def test_identity_token_is_exchanged_with_the_refresh_token_grant(
    requests_mock: requests_mock.Mocker,
) -> None:
    challenged(requests_mock, f"{REG}/token")
    requests_mock.post(f"{REG}/token", json={"access_token": "acc-tok", "refresh_token": "ref-new"})
    found = lookup(RegistryClient(Creds(Credential("", "", "idtok-secret"))))
    assert found == Lookup(digest=digest("a"))
    [post] = [r for r in requests_mock.request_history if r.method == "POST"]
    assert parse_qs(post.text) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["idtok-secret"],
        "client_id": ["cdhelper"],
        "scope": ["repository:app:pull"],
        "service": ["svc"],
    }
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer acc-tok"
    assert redact.redact("acc-tok ref-new") == "*** ***"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"token": "tök€n"}, "answered with a token that is not printable ASCII"),
        ({"token": "a b"}, "answered with a token that is not printable ASCII"),
        ({"token": "t", "expires_in": 10**400}, "answered without a token"),
        ({"token": {"nested": 1}}, "not printable ASCII"),
    ],
)
def test_odd_tokens_are_errors(
    requests_mock: requests_mock.Mocker, answer: dict[str, object], message: str
) -> None:
    challenged(requests_mock, f"{REG}/token")
    requests_mock.get(f"{REG}/token", text=json.dumps(answer))
    found = lookup(RegistryClient(Creds(None)))
    assert found.error is not None and message in found.error


def test_basic_challenge_with_only_an_identity_token_sends_nothing(
    requests_mock: requests_mock.Mocker,
) -> None:
    requests_mock.get(
        f"{REG}/v2/", status_code=401, headers={"WWW-Authenticate": 'Basic realm="r"'}
    )
    requests_mock.head(f"{REG}/v2/app/manifests/v1", status_code=401)
    found = lookup(RegistryClient(Creds(Credential("", "", "idtok-secret"))))
    assert found.error == (
        "registry reg.example.com refused the credentials of the identity token for app: "
        "check them with 'docker login reg.example.com'"
    )
    assert all("Authorization" not in r.headers for r in requests_mock.request_history)


def test_trusted_realm_values() -> None:
    assert trusted_realm("Auth.Example.com") == "https://auth.example.com"
    assert trusted_realm("http://auth.example.com:80/path") == "http://auth.example.com"
    with pytest.raises(ValueError, match="invalid token service 'ftp://x'"):
        trusted_realm("ftp://x")


def test_a_redirect_elsewhere_carries_no_credentials(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(
        f"{REG}/v2/", status_code=401, headers={"WWW-Authenticate": 'Basic realm="r"'}
    )
    elsewhere = "http://blobs.example.net/app/v1"
    requests_mock.head(
        f"{REG}/v2/app/manifests/v1", status_code=307, headers={"Location": elsewhere}
    )
    requests_mock.head(elsewhere, headers={"Docker-Content-Digest": digest("c")})
    found = lookup(RegistryClient(Creds(Credential("me", "my-password"))))
    assert found == Lookup(digest=digest("c"))
    first, redirected = [r for r in requests_mock.request_history if r.method == "HEAD"]
    assert first.headers["Authorization"].startswith("Basic ")
    assert "Authorization" not in redirected.headers
