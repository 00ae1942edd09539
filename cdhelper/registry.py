"""Registry HTTP API v2 client: which digest does a tag point to now?

One ``HEAD /v2/<name>/manifests/<tag>`` per reference, with all four manifest media types
in ``Accept`` so a multi-arch tag answers with its index digest (the one Swarm pins), not
a platform child. A HEAD costs no Docker Hub pull quota; GET (and sha256 of the body) is
used only when a successful HEAD carries no digest. Each registry is pinged once to learn
how it authenticates (see :mod:`cdhelper.registry_auth`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from cdhelper import answers, cleartext, http
from cdhelper.credentials import CredentialStore
from cdhelper.errors import ApiError
from cdhelper.events import INDEX_MEDIA_TYPES
from cdhelper.progress import Report
from cdhelper.reference import DOCKER_HUB, DOCKER_HUB_API, ImageRef
from cdhelper.registry_auth import NO_AUTH, Challenge, RegistryAuth, parse_challenge
from cdhelper.values import Lookup, Platform, Stats, TagList, parse_time

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
MAX_TAG_PAGES = 1000  # a registry that keeps sending "next" links is cut off here
TAGS_PAGE_SIZE = 1000  # asked for with ?n= (the CNCF registry 2.8 ignores it)


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    return cleartext.is_loopback(host)


class RegistryClient:
    """Resolves tags to digests across registries, sharing connections and tokens."""

    def __init__(
        self,
        credentials: CredentialStore | None = None,
        *,
        insecure: Iterable[str] = (),
        trusted_realms: Iterable[str] = (),
        session: requests.Session | None = None,
        timeouts: http.Timeouts = http.DEFAULT_TIMEOUTS,
        retry: http.RetryPolicy = http.DEFAULT_RETRY,
        pool_size: int = 10,
        progress: Report | None = None,
    ) -> None:
        self._progress = progress  # told (done, total) as lookups finish
        self._insecure = {h.lower() for h in insecure}
        self._session = session or http.new_session(pool_size)
        self._timeouts = timeouts
        self._retry = retry
        self.stats = Stats()
        self._manifests: dict[tuple[str, str, str], tuple[str, Any]] = {}
        self._manifests_lock = threading.Lock()
        self._auth = RegistryAuth(
            credentials or CredentialStore(),
            self._session,
            timeouts=timeouts,
            retry=retry,
            count=self.stats.count,
            base_url=self.base_url,
            trusted_realms=trusted_realms,
        )

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
            # in input order, in this thread: the count only lags a slow lookup a little
            answers = zip(ready, pool.map(self.lookup, ready), strict=True)
            for done, (ref, found) in enumerate(answers, 1):
                results[ref] = found
                if self._progress is not None:
                    self._progress(len(unique) - len(ready) + done, len(unique))
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
            answers.check(response, f"registry {registry}")
            return  # pragma: no cover (check raises for every non-2xx)
        self._auth.learn(registry, challenge)
        self._auth.prefetch(registry, repositories)

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

    def list_tags(self, refs: Iterable[ImageRef], parallel: int = 8) -> dict[ImageRef, TagList]:
        """Every tag of each repository (``GET /v2/<name>/tags/list``, following ``Link``
        pagination): one listing per repository; errors become a TagList, never raised."""
        unique = sorted({ImageRef(r.registry, r.repository, None) for r in refs})
        results: dict[ImageRef, TagList] = {}
        ready: list[ImageRef] = []
        for registry in sorted({ref.registry for ref in unique}):
            group = [ref for ref in unique if ref.registry == registry]
            try:
                self.prepare(registry, [ref.repository for ref in group])
            except ApiError as exc:
                results.update((ref, TagList(error=exc.message)) for ref in group)
                continue
            ready.extend(group)
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            results.update(zip(ready, pool.map(self._tag_list, ready), strict=True))
        return results

    def _tag_list(self, ref: ImageRef) -> TagList:
        try:
            return TagList(tuple(self.tags(ref)))
        except ApiError as exc:
            return TagList(error=exc.message)

    def tags(self, ref: ImageRef) -> list[str]:
        """The repository's tags, page after page as long as the registry links a next one."""
        base = self.base_url(ref.registry)
        url = f"{base}/v2/{ref.repository}/tags/list?n={TAGS_PAGE_SIZE}"
        found: list[str] = []
        for _ in range(MAX_TAG_PAGES):
            response = self._send("GET", url, ref, counter="tag_lists", accept="application/json")
            if response.status_code == 404:
                raise ApiError(f"registry {ref.registry}: no repository {ref.repository}")
            self._check(response, ref)
            found.extend(_tag_page(response, ref))
            following = response.links.get("next", {}).get("url")
            if not following:
                return found
            url = urljoin(url, following)
            if urlsplit(url)[:2] != urlsplit(base)[:2]:
                raise ApiError(
                    f"registry {ref.registry}: the tag list links another origin: refused"
                )
        raise ApiError(f"registry {ref.registry}: more than {MAX_TAG_PAGES} pages of tags")

    def index_platforms(self, ref: ImageRef) -> tuple[Platform, ...] | None:
        """The platforms of the index ``ref.digest`` names; None when it is one manifest.

        Attestation entries (platform ``unknown/unknown``) are not platforms.
        """
        media_type, manifest = self.manifest(ref)
        if media_type not in INDEX_MEDIA_TYPES:
            return None
        return tuple(_platform(entry) for entry in _runnable(manifest))

    def created(self, ref: ImageRef) -> datetime | None:
        """The image config's ``created`` of ``ref.digest`` (for an index: of its
        linux/amd64 image, else its first). Blob reads are not Docker Hub pulls."""
        media_type, manifest = self.manifest(ref)
        if media_type in INDEX_MEDIA_TYPES:
            entries = _runnable(manifest)
            if not entries:
                return None
            amd64 = [e for e in entries if str(_platform(e)) == "linux/amd64"]
            child = ImageRef(ref.registry, ref.repository, None, (amd64 or entries)[0]["digest"])
            media_type, manifest = self.manifest(child)
        config = manifest.get("config") if isinstance(manifest, dict) else None
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            return None
        url = f"{self.base_url(ref.registry)}/v2/{ref.repository}/blobs/{config['digest']}"
        response = self._send("GET", url, ref, counter="blob_gets", accept="*/*")
        self._check(response, ref)
        created = _json(response, ref).get("created")
        try:
            return parse_time(created) if isinstance(created, str) else None
        except ValueError:
            return None

    def manifest(self, ref: ImageRef) -> tuple[str, Any]:
        """The manifest ``ref.digest`` names (media type, parsed JSON), read once per plan."""
        assert ref.digest is not None
        key = (ref.registry, ref.repository, ref.digest)
        with self._manifests_lock:
            if key in self._manifests:
                return self._manifests[key]
        url = f"{self.base_url(ref.registry)}/v2/{ref.repository}/manifests/{ref.digest}"
        response = self._send("GET", url, ref)
        self._check(response, ref)
        data = _json(response, ref)
        media_type = str(data.get("mediaType") or response.headers.get("Content-Type", ""))
        with self._manifests_lock:
            self._manifests[key] = (media_type.split(";", maxsplit=1)[0].strip(), data)
        return self._manifests[key]

    def _send(
        self,
        method: str,
        url: str,
        ref: ImageRef,
        *,
        counter: str | None = None,
        accept: str = ACCEPT,
    ) -> requests.Response:
        counter = counter or ("manifest_heads" if method == "HEAD" else "manifest_gets")
        self.stats.count(counter)
        headers = {"Accept": accept, **self._auth.header(ref.registry, ref.repository)}
        response = self._request(method, url, ref.registry, headers)
        if response.status_code == 401 and "Authorization" not in headers:
            # Not pinged first (or the registry changed its mind): learn, retry once.
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is not None:
                self._auth.learn(ref.registry, challenge)
                headers.update(self._auth.header(ref.registry, ref.repository))
                if "Authorization" in headers:
                    self.stats.count(counter)
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

    def _check(self, response: requests.Response, ref: ImageRef) -> None:
        if response.status_code in (401, 403):
            raise self._auth.refused(ref.registry, response.status_code, ref.repository)
        answers.check(response, f"registry {ref.registry}")


def _json(response: requests.Response, ref: ImageRef) -> dict[str, Any]:
    try:
        data = answers.json_body(response)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(f"registry {ref.registry}: {ref.repository}: not a JSON object")
    return data


def _tag_page(response: requests.Response, ref: ImageRef) -> list[str]:
    tags = _json(response, ref).get("tags") or []
    if not isinstance(tags, list):
        raise ApiError(f"registry {ref.registry}: {ref.repository}: tags is not a list")
    return [tag for tag in tags if isinstance(tag, str)]


def _runnable(index: Any) -> list[dict[str, Any]]:
    """An index's image entries, without attestations (platform unknown/unknown)."""
    entries = index.get("manifests") if isinstance(index, dict) else None
    return [
        entry
        for entry in entries or []
        if isinstance(entry, dict)
        and isinstance(entry.get("digest"), str)
        and isinstance(entry.get("platform"), dict)
        and entry["platform"].get("os", "unknown") != "unknown"
    ]


def _platform(entry: Mapping[str, Any]) -> Platform:
    platform = entry["platform"]
    return Platform(
        str(platform.get("os", "")),
        str(platform.get("architecture", "")),
        platform.get("variant") or None,
    )
