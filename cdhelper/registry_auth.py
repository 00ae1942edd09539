"""How cdhelper authenticates to registries: it follows their ``WWW-Authenticate`` challenge.

``Bearer`` (the token scheme of Docker Hub, GHCR, Harbor, Quay and the CNCF registry's
token auth): a pull token per ``repository:<name>:pull`` scope, anonymous or with the
registry's credential, several scopes per token request, cached until it expires.
``Basic``: the credential itself. Credentials and tokens never appear in messages.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import requests

from cdhelper import http
from cdhelper.credentials import Credential, CredentialStore
from cdhelper.errors import ApiError

NO_AUTH = "none"  # the registry answered GET /v2/ without a challenge
DEFAULT_TOKEN_LIFETIME = 60  # seconds, when the token service does not say
SCOPES_PER_TOKEN = 20  # token services take several scopes; keep the URL short
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"|(\w+)=([^\s,]+)')


class RegistryAuthError(ApiError):
    """The registry refused us even after authenticating, or wants credentials we lack."""


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer", "basic", or NO_AUTH
    params: Mapping[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="...",service="...",scope="..."`` or ``Basic realm="..."``."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        key = match.group(1) or match.group(3)
        params[key.lower()] = match.group(2) if match.group(1) else match.group(4)
    return Challenge(scheme.lower(), params)


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


class RegistryAuth:
    """Challenges learnt per registry and pull tokens per scope, shared by all lookups."""

    def __init__(
        self,
        credentials: CredentialStore,
        session: requests.Session,
        *,
        timeouts: http.Timeouts = http.DEFAULT_TIMEOUTS,
        retry: http.RetryPolicy = http.DEFAULT_RETRY,
        count: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._credentials = credentials
        self._session = session
        self._timeouts = timeouts
        self._retry = retry
        self._count = count
        self._lock = threading.Lock()
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def learn(self, registry: str, challenge: Challenge) -> None:
        with self._lock:
            self._challenges[registry] = challenge

    def prefetch(self, registry: str, repositories: Iterable[str]) -> None:
        """Fetch the pull tokens of ``repositories`` in as few token requests as possible."""
        challenge = self._challenges.get(registry)
        if challenge is None or challenge.scheme != "bearer":
            return
        scopes = [pull_scope(name) for name in repositories]
        credential = self._credentials.get(registry)
        for start in range(0, len(scopes), SCOPES_PER_TOKEN):
            self._fetch_token(
                registry, challenge, scopes[start : start + SCOPES_PER_TOKEN], credential
            )

    def header(self, registry: str, repository: str) -> dict[str, str]:
        """The Authorization header for pulling ``repository``; {} if none is known to help."""
        challenge = self._challenges.get(registry)
        if challenge is None:
            return {}
        credential = self._credentials.get(registry)
        if challenge.scheme == "basic":
            return {"Authorization": _basic(credential)} if credential else {}
        if challenge.scheme == "bearer":
            token = self._token(registry, challenge, pull_scope(repository), credential)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def refused(
        self, registry: str, status: int, repository: str | None = None
    ) -> RegistryAuthError:
        """The error for a 401/403 that authenticating did not cure."""
        return RegistryAuthError(
            _auth_message(registry, self._credentials.get(registry), repository), status
        )

    def _token(
        self, registry: str, challenge: Challenge, scope: str, credential: Credential | None
    ) -> str:
        with self._lock:
            cached = self._tokens.get((registry, scope))
        if cached and cached[1] > time.monotonic():
            return cached[0]
        return self._fetch_token(registry, challenge, [scope], credential)

    def _fetch_token(
        self,
        registry: str,
        challenge: Challenge,
        scopes: list[str],
        credential: Credential | None,
    ) -> str:
        """One token for all ``scopes`` (anonymous, or with the registry's credential)."""
        realm = challenge.params.get("realm")
        if not realm:
            raise ApiError(f"registry {registry}: Bearer challenge without a realm")
        params: dict[str, str | list[str]] = {"scope": scopes}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        headers = {"Authorization": _basic(credential)} if credential else {}
        self._count("token_requests")
        what = f"token service of registry {registry}"
        response = http.request(
            self._session,
            "GET",
            realm,
            what=what,
            params=params,
            headers=headers,
            timeouts=self._timeouts,
            retry=self._retry,
        )
        if response.status_code in (401, 403):
            raise RegistryAuthError(_auth_message(registry, credential), response.status_code)
        http.check(response, what)
        try:
            data = http.json_body(response)  # never RecursionError on a deep answer
            token = str(data.get("token") or data.get("access_token") or "")
            lifetime = float(data.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = "", 0.0
        if not token:
            raise ApiError(f"{what} answered without a token")
        # Renew a little early so a token never expires between the check and its use.
        expires = time.monotonic() + max(lifetime - 5, 1)
        with self._lock:
            self._tokens.update(((registry, scope), (token, expires)) for scope in scopes)
        return token


def _basic(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _auth_message(
    registry: str, credential: Credential | None, repository: str | None = None
) -> str:
    what = f" for {repository}" if repository else ""
    if credential is None:
        return (
            f"registry {registry} requires credentials{what}: run 'docker login {registry}' "
            f"or add them to the Docker config.json (DOCKER_CONFIG)"
        )
    return (
        f"registry {registry} refused the credentials of user {credential.username!r}{what}: "
        f"check them with 'docker login {registry}'"
    )
