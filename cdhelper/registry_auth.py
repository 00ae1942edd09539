"""How cdhelper authenticates to registries: it follows their ``WWW-Authenticate`` challenge.

``Bearer`` (the token scheme of Docker Hub, GHCR, Harbor, Quay and the CNCF registry's
token auth): a pull token per ``repository:<name>:pull`` scope, anonymous or with the
registry's credential, several scopes per token request, cached until it expires.
``Basic``: the credential itself. An ``identitytoken`` (what ``docker login`` keeps for
some registries) is exchanged for a pull token with OAuth2's ``refresh_token`` grant.

The registry names its token service (the challenge's ``realm``), so a hostile registry
could name any host: credentials go only to a realm on the registry's own origin (scheme,
host and port), to Docker Hub's ``auth.docker.io``, or to a realm its user trusts
(``--trusted-realm``); anonymous token requests may go anywhere. Credentials and tokens
never appear in messages, and every token received is registered for redaction.
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from cdhelper import answers, cleartext, http, redact
from cdhelper.credentials import Credential, CredentialStore, is_header_safe
from cdhelper.errors import ApiError
from cdhelper.reference import DOCKER_HUB

NO_AUTH = "none"  # the registry answered GET /v2/ without a challenge
DEFAULT_TOKEN_LIFETIME = 60  # seconds, when the token service does not say
SCOPES_PER_TOKEN = 20  # token services take several scopes; keep the URL short
CLIENT_ID = "cdhelper"  # names us to OAuth2 token services (the refresh_token grant)
# Registries whose token service is known to live elsewhere: no opt-in needed for them.
KNOWN_REALMS = {DOCKER_HUB: "https://auth.docker.io"}
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


def trusted_realm(text: str) -> str:
    """The origin of a ``--trusted-realm`` value (``host[:port]`` means https); ValueError."""
    url = text if "://" in text else f"https://{text}"
    try:
        return cleartext.origin(url)
    except ValueError as exc:
        raise ValueError(f"invalid token service {text!r}: {exc}") from None


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
        base_url: Callable[[str], str] = lambda registry: f"https://{registry}",
        trusted_realms: Iterable[str] = (),
    ) -> None:
        self._credentials = credentials
        self._session = session
        self._timeouts = timeouts
        self._retry = retry
        self._count = count
        self._base_url = base_url
        self._trusted = frozenset(trusted_realms)
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
            if credential is None or credential.identity_token:
                return {}  # an identity token is for token services only
            return {"Authorization": _basic(credential)}
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
        realm = _realm(registry, challenge)
        if credential is not None:
            self._check_realm(registry, realm, credential)
        self._count("token_requests")
        what = f"token service of registry {registry}"
        if credential is not None and credential.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.identity_token,
                "client_id": CLIENT_ID,
                "scope": " ".join(scopes),
                **_service(challenge),
            }
            response = self._get_token("POST", realm, what, data=form)
        else:
            headers = {"Authorization": _basic(credential)} if credential else {}
            params = {"scope": scopes, **_service(challenge)}
            response = self._get_token("GET", realm, what, params=params, headers=headers)
        if response.status_code in (401, 403):
            raise RegistryAuthError(_auth_message(registry, credential), response.status_code)
        answers.check(response, what)
        token, lifetime = _token_of(response)
        if not token:
            raise ApiError(f"{what} answered without a token")
        if not is_header_safe(token):
            raise ApiError(f"{what} answered with a token that is not printable ASCII")
        # Renew a little early so a token never expires between the check and its use.
        expires = time.monotonic() + max(lifetime - 5, 1)
        with self._lock:
            self._tokens.update(((registry, scope), (token, expires)) for scope in scopes)
        return token

    def _get_token(self, method: str, realm: str, what: str, **kwargs: Any) -> requests.Response:
        return http.request(
            self._session,
            method,
            realm,
            what=what,
            timeouts=self._timeouts,
            retry=self._retry,
            **kwargs,
        )

    def _check_realm(self, registry: str, realm: str, credential: Credential) -> None:
        """Credentials go to the registry's own origin, a known one, or a trusted one."""
        there = cleartext.origin(realm)
        own = cleartext.origin(self._base_url(registry))
        if there in (own, KNOWN_REALMS.get(registry)) or there in self._trusted:
            return
        why = "plain http" if there.startswith("http:") and own.startswith("https:") else ""
        raise RegistryAuthError(
            f"registry {registry} ({own}) names a token service on another origin, {there}"
            f"{f' over {why}' if why else ''}: not sending the credentials of "
            f"{credential.who} there; if you trust it, give --trusted-realm {there}"
        )


def _realm(registry: str, challenge: Challenge) -> str:
    realm = challenge.params.get("realm")
    if not realm:
        raise ApiError(f"registry {registry}: Bearer challenge without a realm")
    try:
        cleartext.origin(realm)
    except ValueError as exc:
        shown = ascii(realm[:100]) + ("..." if len(realm) > 100 else "")
        raise ApiError(f"registry {registry}: invalid token realm {shown}: {exc}") from None
    return realm


def _service(challenge: Challenge) -> dict[str, str]:
    service = challenge.params.get("service")
    return {"service": service} if service else {}


def _token_of(response: requests.Response) -> tuple[str, float]:
    """The token and its lifetime from a token service's JSON answer ("", 0 if none)."""
    try:
        data = response.json()
        token = str(data.get("token") or data.get("access_token") or "")
        refresh = data.get("refresh_token")
        lifetime = float(data.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
    except (ValueError, AttributeError, TypeError, OverflowError, RecursionError):
        return "", 0.0
    redact.register(token, str(refresh) if refresh else None)
    if not math.isfinite(lifetime) or lifetime <= 0:  # nonsense: take the default
        lifetime = DEFAULT_TOKEN_LIFETIME
    return token, min(lifetime, 86400.0)


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
        f"registry {registry} refused the credentials of {credential.who}{what}: "
        f"check them with 'docker login {registry}'"
    )
