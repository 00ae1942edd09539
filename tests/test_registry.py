from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests_mock

from cdhelper.credentials import Credential, CredentialStore
from cdhelper.errors import ApiError
from cdhelper.reference import ImageRef
from cdhelper.registry import ACCEPT, MANIFEST_TYPES, RegistryClient, is_loopback
from cdhelper.registry_auth import RegistryAuthError
from cdhelper.values import Lookup

from helpers import digest

HUB = "https://registry-1.docker.io"
AUTH = "https://auth.docker.io/token"
CHALLENGE = f'Bearer realm="{AUTH}",service="registry.docker.io"'


class Creds(CredentialStore):
    def __init__(self, found: dict[str, Credential]) -> None:
        super().__init__()
        self.found = found

    def get(self, registry: str) -> Credential | None:
        return self.found.get(registry)


def hub(
    mock: requests_mock.Mocker, repos: dict[str, str], *, remaining: str = "97;w=21600"
) -> None:
    mock.get(f"{HUB}/v2/", status_code=401, headers={"WWW-Authenticate": CHALLENGE})
    mock.get(AUTH, json={"token": "tok-1", "expires_in": 300})
    for path, found in repos.items():
        mock.head(
            f"{HUB}/v2/{path}",
            headers={"Docker-Content-Digest": found, "ratelimit-remaining": remaining},
        )


def test_docker_hub_token_flow_one_token_for_all_repositories(
    requests_mock: requests_mock.Mocker,
) -> None:
    hub(
        requests_mock,
        {"library/nginx/manifests/1.27": digest("a"), "ns/app/manifests/v1": digest("b")},
    )
    client = RegistryClient()
    refs = [ImageRef.parse("nginx:1.27"), ImageRef.parse("ns/app:v1"), ImageRef.parse("ns/app:v1")]
    found = client.resolve(refs)
    assert found == {
        ImageRef.parse("nginx:1.27"): Lookup(digest=digest("a")),
        ImageRef.parse("ns/app:v1"): Lookup(digest=digest("b")),
    }
    [token_call] = [r for r in requests_mock.request_history if r.url.startswith(AUTH)]
    query = parse_qs(urlsplit(token_call.url).query)
    assert query == {
        "scope": ["repository:library/nginx:pull", "repository:ns/app:pull"],
        "service": ["registry.docker.io"],
    }
    heads = [r for r in requests_mock.request_history if r.method == "HEAD"]
    assert len(heads) == 2
    assert all(r.headers["Authorization"] == "Bearer tok-1" for r in heads)
    assert all(r.headers["Accept"] == ACCEPT for r in heads)
    assert set(ACCEPT.split(", ")) == set(MANIFEST_TYPES) and len(MANIFEST_TYPES) == 4
    assert client.stats.manifest_heads == 2 and client.stats.manifest_gets == 0
    assert client.stats.token_requests == 1 and client.stats.pings == 1
    assert client.stats.ratelimit_remaining == "97;w=21600"


def test_token_with_credentials_and_access_token_field(requests_mock: requests_mock.Mocker) -> None:
    hub(requests_mock, {"ns/private/manifests/v1": digest("c")})
    requests_mock.get(AUTH, json={"access_token": "tok-2"})
    client = RegistryClient(Creds({"docker.io": Credential("me", "pw")}))
    assert client.resolve([ImageRef.parse("ns/private:v1")])[
        ImageRef.parse("ns/private:v1")
    ].digest == digest("c")
    token_call = next(r for r in requests_mock.request_history if r.url.startswith(AUTH))
    assert token_call.headers["Authorization"] == "Basic bWU6cHc="
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer tok-2"


def test_refused_credentials_name_the_registry(requests_mock: requests_mock.Mocker) -> None:
    hub(requests_mock, {})
    requests_mock.get(AUTH, status_code=401)
    client = RegistryClient(Creds({"docker.io": Credential("me", "wrong")}))
    [(_, lookup)] = client.resolve([ImageRef.parse("ns/app:v1")]).items()
    assert lookup.error == (
        "registry docker.io refused the credentials of user 'me': "
        "check them with 'docker login docker.io'"
    )
    assert requests_mock.call_count == 2  # ping and token: no manifest request once auth failed


def test_403_after_auth_is_an_error_not_a_guess(requests_mock: requests_mock.Mocker) -> None:
    hub(requests_mock, {})
    requests_mock.head(f"{HUB}/v2/ns/secret/manifests/v1", status_code=403)
    with pytest.raises(
        RegistryAuthError, match="registry docker.io requires credentials for ns/secret"
    ):
        client = RegistryClient()
        client.prepare("docker.io", ["ns/secret"])
        client.digest(ImageRef.parse("ns/secret:v1"))


def test_429_retry_after_is_honoured(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.get("http://127.0.0.1:5000/v2/", status_code=200)
    requests_mock.head(
        "http://127.0.0.1:5000/v2/app/manifests/v1",
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            {"status_code": 200, "headers": {"Docker-Content-Digest": digest("d")}},
        ],
    )
    found = RegistryClient().resolve([ImageRef.parse("127.0.0.1:5000/app:v1")])
    assert list(found.values()) == [Lookup(digest=digest("d"))]
    assert no_sleep == [3.0]


def test_head_without_digest_falls_back_to_get(requests_mock: requests_mock.Mocker) -> None:
    body = b'{"schemaVersion": 2}'
    requests_mock.head("http://localhost:5000/v2/app/manifests/v1", status_code=200)
    requests_mock.get("http://localhost:5000/v2/app/manifests/v1", content=body)
    client = RegistryClient()
    assert (
        client.digest(ImageRef.parse("localhost:5000/app:v1"))
        == "sha256:" + hashlib.sha256(body).hexdigest()
    )
    assert client.stats.manifest_gets == 1


def test_404_means_missing_and_no_get(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.head("http://127.0.0.1:5000/v2/app/manifests/v9", status_code=404)
    client = RegistryClient()
    assert client.lookup(ImageRef.parse("127.0.0.1:5000/app:v9")) == Lookup(missing=True)
    assert client.stats.manifest_gets == 0


def test_basic_challenge_learned_on_the_fly(requests_mock: requests_mock.Mocker) -> None:
    url = "https://reg.example.com/v2/app/manifests/v1"
    requests_mock.head(
        url,
        [
            {"status_code": 401, "headers": {"WWW-Authenticate": 'Basic realm="reg"'}},
            {"status_code": 200, "headers": {"Docker-Content-Digest": digest("e")}},
        ],
    )
    client = RegistryClient(Creds({"reg.example.com": Credential("u", "p")}))
    assert client.digest(ImageRef.parse("reg.example.com/app:v1")) == digest("e")
    assert requests_mock.request_history[-1].headers["Authorization"] == "Basic dTpw"


def test_insecure_registries_use_http(requests_mock: requests_mock.Mocker) -> None:
    client = RegistryClient(insecure=["Reg.Lan:5000"])
    assert client.base_url("reg.lan:5000") == "http://reg.lan:5000"
    assert client.base_url("other.lan") == "https://other.lan"
    assert client.base_url("docker.io") == HUB


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("docker.io", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback


def test_ping_failure_fails_the_registry_once(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get("https://reg.example.com/v2/", status_code=404)
    refs = [ImageRef.parse("reg.example.com/a:v1"), ImageRef.parse("reg.example.com/b:v1")]
    found = RegistryClient().resolve(refs)
    assert {lookup.error is not None for lookup in found.values()} == {True}
    assert requests_mock.call_count == 1


def test_token_cache_and_expiry(
    requests_mock: requests_mock.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub(requests_mock, {"ns/app/manifests/v1": digest("f")})
    client = RegistryClient()
    client.prepare("docker.io", ["ns/app"])
    client.digest(ImageRef.parse("ns/app:v1"))
    client.digest(ImageRef.parse("ns/app:v1"))
    assert client.stats.token_requests == 1
    later = time.monotonic() + 10_000
    monkeypatch.setattr(time, "monotonic", lambda: later)
    client.digest(ImageRef.parse("ns/app:v1"))
    assert client.stats.token_requests == 2


def test_token_service_without_token(requests_mock: requests_mock.Mocker) -> None:
    hub(requests_mock, {})
    requests_mock.get(AUTH, json={"nothing": True})
    with pytest.raises(ApiError, match="answered without a token"):
        RegistryClient().prepare("docker.io", ["ns/app"])
