"""Registry HTTP API v2 client: which digest does a tag point to now?

One ``HEAD /v2/<name>/manifests/<tag>`` per reference, with all four manifest media types
in ``Accept`` so a multi-arch tag answers with its index digest (the one Swarm pins), not
a platform child. A HEAD costs no Docker Hub pull quota; GET (and sha256 of the body) is
used only when a successful HEAD carries no digest. Auth follows ``WWW-Authenticate``:
Bearer tokens (cached per scope until they expire) and Basic.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from cdhelper import http
from cdhelper.credentials import Credential, CredentialStore
from cdhelper.errors import ApiError
from cdhelper.reference import DOCKER_HUB, DOCKER_HUB_API, ImageRef

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
DEFAULT_TOKEN_LIFETIME = 60
SCOPES_PER_TOKEN = 20  # token services take several scopes; keep the URL short
NO_AUTH = "none"
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"|(\w+)=([^\s,]+)')


class RegistryAuthError(ApiError):
    """The registry refused us even after authenticating."""


@dataclass(frozen=True)
class Lookup:
    """What a tag points to: a digest; ``missing`` when the tag is gone; else an ``error``."""

    digest: str | None = None
    missing: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" or "basic"
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


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Stats:
    """What the client sent, for reports and benchmarks."""

    pings: int = 0
    manifest_heads: int = 0
    manifest_gets: int = 0
    token_requests: int = 0
    ratelimit_remaining: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    @property
    def requests(self) -> int:
        return self.pings + self.manifest_heads + self.manifest_gets + self.token_requests


class RegistryClient:
    """Resolves tags to digests across registries, sharing connections and tokens."""

    def __init__(
        self,
        credentials: CredentialStore | None = None,
        *,
        insecure: Iterable[str] = (),
        session: requests.Session | None = None,
        timeouts: http.Timeouts = http.DEFAULT_TIMEOUTS,
        retry: http.RetryPolicy = http.DEFAULT_RETRY,
        pool_size: int = 10,
    ) -> None:
        self._credentials = credentials or CredentialStore()
        self._insecure = {h.lower() for h in insecure}
        self._session = session or http.new_session(pool_size)
        self._timeouts = timeouts
        self._retry = retry
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._challenges: dict[str, Challenge] = {}
        self.stats = Stats()

    def base_url(self, registry: str) -> str:
        host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
        scheme = "http" if is_loopback(registry) or registry in self._insecure else "https"
        return f"{scheme}://{host}"

    def resolve(self, refs: Iterable[ImageRef], parallel: int = 8) -> dict[ImageRef, Lookup]:
        """Look up every unique reference once: one manifest HEAD each, ``parallel`` at a time.

        Each registry is asked once, first, how it authenticates (``GET /v2/``), and Bearer
        tokens are fetched for many repositories per request. A registry that cannot be
        reached or refuses us fails all of its references without a request per reference.
        """
        unique = sorted({ref.without_digest() for ref in refs if ref.tag is not None})
        by_registry: dict[str, list[ImageRef]] = {}
        for ref in unique:
            by_registry.setdefault(ref.registry, []).append(ref)
        results: dict[ImageRef, Lookup] = {}
        ready: list[ImageRef] = []
        for registry, group in by_registry.items():
            try:
                self.prepare(registry, sorted({ref.repository for ref in group}))
            except ApiError as exc:
                results.update((ref, Lookup(error=exc.message)) for ref in group)
                continue
            ready.extend(group)
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            results.update(zip(ready, pool.map(self.lookup, ready), strict=True))
        return results

    def prepare(self, registry: str, repositories: Iterable[str] = ()) -> None:
        """Learn how ``registry`` authenticates, and fetch pull tokens for ``repositories``."""
        self.stats.count("pings")
        url = f"{self.base_url(registry)}/v2/"
        response = self._request("GET", url, registry, {})
        if response.ok:
            challenge = Challenge(NO_AUTH)
        elif response.status_code == 401:
            found = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if found is None:
                raise ApiError(
                    f"registry {registry}: HTTP 401 without a WWW-Authenticate challenge"
                )
            challenge = found
        else:
            http.check(response, f"registry {registry}")
            return  # pragma: no cover (check raises for every non-2xx)
        with self._lock:
            self._challenges[registry] = challenge
        if challenge.scheme == "bearer":
            scopes = [f"repository:{name}:pull" for name in repositories]
            credential = self._credentials.get(registry)
            for start in range(0, len(scopes), SCOPES_PER_TOKEN):
                self._fetch_token(
                    registry, challenge, scopes[start : start + SCOPES_PER_TOKEN], credential
                )

    def lookup(self, ref: ImageRef) -> Lookup:
        """The digest ``ref``'s tag points to; errors become a Lookup, never an exception."""
        try:
            digest = self.digest(ref)
        except ApiError as exc:
            return Lookup(error=exc.message)
        return Lookup(missing=True) if digest is None else Lookup(digest=digest)

    def digest(self, ref: ImageRef) -> str | None:
        """The digest of ``ref``'s tag, or None when the tag does not exist (HTTP 404)."""
        assert ref.tag is not None
        url = f"{self.base_url(ref.registry)}/v2/{ref.repository}/manifests/{ref.tag}"
        response = self._send("HEAD", url, ref)
        if response.status_code == 404:
            return None
        self._check(response, ref)
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        response = self._send("GET", url, ref)
        self._check(response, ref)
        return "sha256:" + hashlib.sha256(response.content).hexdigest()

    def _send(self, method: str, url: str, ref: ImageRef) -> requests.Response:
        self.stats.count("manifest_heads" if method == "HEAD" else "manifest_gets")
        scope = f"repository:{ref.repository}:pull"
        headers = {"Accept": ACCEPT, **self._auth_header(ref.registry, scope)}
        response = self._request(method, url, ref.registry, headers)
        if response.status_code == 401 and "Authorization" not in headers:
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is not None:
                with self._lock:
                    self._challenges[ref.registry] = challenge
                headers.update(self._auth_header(ref.registry, scope))
                if "Authorization" in headers:
                    self.stats.count("manifest_heads" if method == "HEAD" else "manifest_gets")
                    response = self._request(method, url, ref.registry, headers)
        remaining = response.headers.get("ratelimit-remaining")
        if remaining:
            self.stats.ratelimit_remaining = remaining
        return response

    def _request(
        self, method: str, url: str, registry: str, headers: Mapping[str, str]
    ) -> requests.Response:
        return http.request(
            self._session,
            method,
            url,
            what=f"registry {registry}",
            headers=dict(headers),
            timeouts=self._timeouts,
            retry=self._retry,
            allow_redirects=True,
        )

    def _auth_header(self, registry: str, scope: str) -> dict[str, str]:
        """The Authorization header for a registry whose challenge we know; {} if none."""
        challenge = self._challenges.get(registry)
        if challenge is None:
            return {}
        credential = self._credentials.get(registry)
        if challenge.scheme == "basic":
            if credential is None:
                return {}
            return {"Authorization": _basic(credential)}
        if challenge.scheme == "bearer":
            return {
                "Authorization": f"Bearer {self._token(registry, challenge, scope, credential)}"
            }
        return {}

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
        self.stats.count("token_requests")
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
            data = response.json()
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

    def _check(self, response: requests.Response, ref: ImageRef) -> None:
        if response.status_code in (401, 403):
            credential = self._credentials.get(ref.registry)
            raise RegistryAuthError(
                _auth_message(ref.registry, credential, ref), response.status_code
            )
        http.check(response, f"registry {ref.registry}")


def _basic(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _auth_message(registry: str, credential: Credential | None, ref: ImageRef | None = None) -> str:
    what = f" for {ref.repository}" if ref else ""
    if credential is None:
        return (
            f"registry {registry} requires credentials{what}: run 'docker login {registry}' "
            f"or add them to the Docker config.json (DOCKER_CONFIG)"
        )
    return (
        f"registry {registry} refused the credentials of user {credential.username!r}{what}: "
        f"check them with 'docker login {registry}'"
    )
