"""GitHub Packages (GHCR): the ``package`` webhook, and the legacy ``registry_package`` one.

GitHub sends ``X-GitHub-Event: package`` with ``action`` ``published`` or ``updated`` and the
package under ``package`` (the legacy ``registry_package`` event carries the same object
under ``registry_package``). Only ``package_type`` ``CONTAINER`` (upper case in real
deliveries; compared case-insensitively) is an image: npm, maven, ... packages deploy
nothing. The image is ``ghcr.io/<package.namespace>/<package.name>``, lower-cased:
``namespace`` is the owner's login (lower case in real deliveries; ``owner.login`` is the
fallback) and ``name`` may hold slashes (``repo/frontend``). The tag is
``package_version.container_metadata.tag.name`` and the digest ``...tag.digest``;
``package_version.version`` and ``name`` hold a digest or a version, never a tag.

A multi-platform push fires one delivery per manifest: the index with the tag, and each
platform's manifest with an empty tag name, which deploys nothing. Where
``container_metadata.manifest.media_type`` says whether the digest is an index, the event
carries it, so :func:`cdhelper.sources.collapse` keeps the index.

Sources: docs.github.com "Webhook events and payloads" (package, registry_package;
https://docs.github.com/en/webhooks/webhook-events-and-payloads#package) and GitHub's
OpenAPI description (``webhook-package-published``: ``container_metadata {tag, labels,
manifest}``, nullable);
octokit/webhooks ``payload-examples/api.github.com/package/published.docker.payload.json``
and ``registry_package/published.docker.payload.json`` (field layout; their ``namespace``
and ``package_type`` values are placeholders); real deliveries quoted in JRoy/disgit#3
(``"namespace": "noahvdaa"``, ``"name": "repositoryname/frontend"``, ``"package_type":
"CONTAINER"``) and google/go-github#2033; keel-hq/keel#728 (``CONTAINER``); github/docs#22091
(one event per manifest of a multi-arch push). Deliveries are signed with
``X-Hub-Signature-256`` (HMAC-SHA256 of the body), which is checked where the request is
received, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cdhelper.events import PushEvent
from cdhelper.sources.base import Context, Parsed, Source, digest, image, timestamp

NAME = "ghcr"
HOST = "ghcr.io"
_PUBLISHING = frozenset({"published", "updated"})
# GitHub leaves version times at Go's zero time in container deliveries: no time at all.
_ZERO_TIME = "0001-01-01T00:00:00Z"


def detect(payload: Mapping[str, Any]) -> bool:
    return "action" in payload and any(
        isinstance(payload.get(key), Mapping) for key in ("package", "registry_package")
    )


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    key = "package" if isinstance(payload.get("package"), Mapping) else "registry_package"
    package = payload[key]
    action = payload["action"]
    if action not in _PUBLISHING:
        return _ignored(f"{action}: not a publish")
    kind = package["package_type"]
    if kind.lower() != "container":
        return _ignored(f"{kind} package {package['name']!r}: not a container image")
    namespace = package.get("namespace") or package["owner"]["login"]
    repository = f"{namespace}/{package['name']}".lower()
    version = package.get("package_version") or {}
    metadata = version.get("container_metadata") or {}
    named = metadata.get("tag") or {}
    tag = named.get("name") or ""
    path = f"$.{key}.package_version.container_metadata.tag"
    found = digest(ctx, f"{path}.digest", named.get("digest"))
    if not tag:
        shown = f"{repository}@{found}" if found else repository
        return _ignored(f"{HOST}/{shown}: no tag (a per-platform or untagged version)")
    media_type = (metadata.get("manifest") or {}).get("media_type") or None
    event = PushEvent(
        NAME,
        image(ctx, f"{path}.name", HOST, repository, tag),
        found,
        _version_time(ctx, f"$.{key}.package_version", version),
        None,
        media_type,
    )
    return Parsed(events=(event,))


def _version_time(ctx: Context, path: str, version: Mapping[str, Any]) -> datetime | None:
    for field in ("updated_at", "created_at"):
        text = version.get(field)
        if text and text != _ZERO_TIME:
            when: datetime | None = timestamp(ctx, f"{path}.{field}", text)
            return when
    return None


def _ignored(why: str) -> Parsed:
    return Parsed(ignored=(f"{NAME}: {why}",))


SOURCE = Source(
    name=NAME,
    title="GitHub Packages (GHCR) package webhook",
    schema="ghcr-package",
    expects="an object with action and package (or registry_package)",
    detect=detect,
    parse=parse,
)
