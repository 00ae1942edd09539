"""JFrog Artifactory webhooks: the docker domain's ``pushed`` event (a tag was pushed).

A predefined webhook POSTs ``{"domain", "event_type", "data", "subscription_key",
"jpd_origin"?, "source"?, "userContext"?}``. For ``domain: docker``, ``event_type:
pushed``, ``data`` is the tag's manifest file in the repository: ``repo_key``, ``path``
(``<image path>/<tag>/manifest.json``, or ``list.manifest.json`` for a multi-arch index),
``name`` (the file name), ``sha256`` (the checksum of that file; Artifactory stores the
manifest's bytes as they were pushed, so ``sha256:<sha256>`` is taken as the manifest
digest, which the event docs do not state in so many words), ``size``, ``image_name``, ``tag``,
``platforms``, ``image_type``. ``image_name`` is only the last path segment in real
deliveries (the full path in JFrog's example), so the image path is read from ``path``.
Every other event (docker ``deleted`` and ``promoted``; the artifact, build and release
bundle domains) is valid and deploys nothing.

Where the image lives, decided here because the payload cannot say it:

* The registry host is ``--registry-host`` when given (the host ``docker pull`` uses; it
  wins because the platform URL and the Docker host can differ, behind a proxy or a custom
  base URL), else the host of ``jpd_origin`` (the platform URL: JFrog Cloud, or a
  self-hosted instance with its base URL set). Neither: an input error that asks for
  ``--registry-host``; the host is never guessed.
* The image is named by the repository path method, ``<host>/<repo_key>/<image path>``
  (JFrog Cloud's ``<instance>.jfrog.io/<repo_key>``, self-managed ``<host>/<repo_key>``),
  the only method the platform URL implies. The subdomain method (``<repo_key>.<host>``,
  ``<instance>-<repo_key>.jfrog.io``) and the port method (a ``<host>:<port>`` per
  repository) leave the key out of the path; a host alone cannot say which method an
  instance uses (``docker.example.com`` may be an instance or a repository ``docker``), so
  they are not supported yet: their images do not match, and nothing is redeployed. Nor
  are images pulled through a virtual repository, named with the virtual repository's
  key, which the event (about the local repository) does not carry.

Built to: JFrog "Event Types", docker domain
(https://jfrog.com/help/r/jfrog-platform-administration-documentation/domain-docker; events
pushed, deleted, promoted; the ``list.manifest.json`` example); the real delivery quoted in
akuity/kargo#4899 (envelope, ``image_name`` as last segment, ``platforms: []``,
``image_type``, no ``jpd_origin``); JFrog "Additional Docker Information", Docker
repository URL formats (https://docs.jfrog.com/artifactory/docs/additional-docker-information).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from cdhelper.events import PushEvent
from cdhelper.reference import is_valid_host, is_valid_tag
from cdhelper.sources.base import Context, Parsed, Source, digest, image

NAME = "artifactory"
MANIFEST = "manifest.json"
INDEX = "list.manifest.json"
# The file name says index or single manifest, not which flavour; an index is an index.
INDEX_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"


def detect(payload: Mapping[str, Any]) -> bool:
    return "domain" in payload and "event_type" in payload


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    domain, event_type = payload["domain"], payload["event_type"]
    if domain != "docker":
        return Parsed(ignored=(f"{NAME}: {domain} {event_type}: not a Docker tag push",))
    if event_type != "pushed":
        return Parsed(ignored=(f"{NAME}: docker {event_type}: not a push",))
    data = payload["data"]
    tag = data["tag"]
    if tag.startswith(("sha256:", "sha256__")):
        return Parsed(ignored=(f"{NAME}: docker pushed {tag}: a digest, not a tag",))
    if not is_valid_tag(tag):
        raise ctx.error(
            "$.data.tag", f"invalid tag {tag!r}: expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
        )
    image_path, manifest = _image_path(ctx, data["path"], tag)
    host = _host(ctx, payload)
    pushed = image(ctx, "$.data.path", host, f"{data['repo_key']}/{image_path}", tag)
    event = PushEvent(
        NAME,
        pushed,
        digest(ctx, "$.data.sha256", f"sha256:{data['sha256']}"),
        None,
        None,
        INDEX_MEDIA_TYPE if manifest == INDEX else None,
    )
    return Parsed(events=(event,))


def _image_path(ctx: Context, path: str, tag: str) -> tuple[str, str]:
    """``<image path>/<tag>/<manifest file>`` split into the image path and the file name."""
    for manifest in (INDEX, MANIFEST):
        suffix = f"/{tag}/{manifest}"
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)], manifest
    raise ctx.error(
        "$.data.path",
        f"expected <image path>/{tag}/{MANIFEST} or .../{tag}/{INDEX}, got {path!r}",
    )


def _host(ctx: Context, payload: Mapping[str, Any]) -> str:
    """``--registry-host``, else the host of ``jpd_origin``; never a guess."""
    if ctx.registry_host:
        if not _is_host(ctx.registry_host):
            raise ctx.error(
                "$", f"--registry-host {ctx.registry_host!r} is not a registry host[:port]"
            )
        return ctx.registry_host
    origin: str | None = payload.get("jpd_origin")
    if not origin:
        raise ctx.error(
            "$",
            "the payload does not say the registry host (no jpd_origin): pass --registry-host HOST",
        )
    try:
        host = urlsplit(origin).netloc.rpartition("@")[2]
    except ValueError:  # an unclosed IPv6 bracket, say
        host = ""
    if not _is_host(host):
        raise ctx.error(
            "$.jpd_origin", f"no registry host in {origin!r}: pass --registry-host HOST"
        )
    return host


def _is_host(text: str) -> bool:
    """A host an image reference can start with: a dotted name, a port, or localhost."""
    return ("." in text or ":" in text or text == "localhost") and is_valid_host(text)


SOURCE = Source(
    name=NAME,
    title="JFrog Artifactory webhook",
    schema="artifactory-webhook",
    expects="an object with domain, event_type and data",
    detect=detect,
    parse=parse,
)
