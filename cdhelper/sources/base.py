"""What a webhook source is: how to recognise its payloads, their schema, how to read them.

Adding a registry is one module in this folder that defines a :class:`Source`, plus its
line in :data:`cdhelper.sources.SOURCES`. The framework validates a payload against the
source's JSON Schema before ``parse`` sees it, so ``parse`` can index required fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cdhelper.errors import InputError
from cdhelper.events import PushEvent
from cdhelper.reference import (
    ImageRef,
    ReferenceError,
    is_digest,
    is_valid_tag,
    normalise_repository,
    parse_registry,
)
from cdhelper.values import parse_time, shown


@dataclass(frozen=True)
class Context:
    """Where a payload sits (for messages) and the options a source may need."""

    where: str  # the file, "<stdin>" or the inbox delivery, for messages
    base: str = "$"  # JSON path of this payload in its document
    registry_host: str | None = None  # --registry-host: for payloads that cannot say it

    def at(self, path: str) -> str:
        """The document's JSON path of ``path``, a path within this payload (``$...``)."""
        return f"{self.base}{path[1:]}"

    def error(self, path: str, message: str) -> InputError:
        """An input error at ``path`` (relative to the payload, starting with ``$``)."""
        return InputError(f"{self.where}: {self.at(path)}: {message}")


@dataclass(frozen=True)
class Parsed:
    """A valid payload's deployable pushes, and why the rest of it deploys nothing."""

    events: tuple[PushEvent, ...] = ()
    ignored: tuple[str, ...] = ()  # e.g. "harbor: DELETE_ARTIFACT: not a push"


@dataclass(frozen=True)
class Source:
    name: str  # the --source name, recorded in plans
    title: str  # for humans: "GitHub Packages (GHCR) package webhook"
    schema: str  # schemas/<schema>.schema.json validates the whole payload
    expects: str  # what its payloads look like: "an object with package and action"
    detect: Callable[[Mapping[str, Any]], bool]  # by the source's distinctive keys only
    parse: Callable[[Mapping[str, Any], Context], Parsed]


def image(ctx: Context, path: str, host: str, repository: str, tag: str) -> ImageRef:
    """The normalised ``host/repository:tag`` a payload names, or an input error at ``path``."""
    if not is_valid_tag(tag):
        raise ctx.error(
            path, f"invalid tag {shown(tag)}: expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
        )
    try:
        registry = _registry(host)
        return ImageRef(registry, normalise_repository(registry, repository), tag)
    except ReferenceError as exc:
        raise ctx.error(path, exc.message) from None


# An envelope of 100,000 events names a handful of hosts: each is checked once. A host
# refused is not cached (lru_cache keeps no exception), so it is refused with its message.
_registry = lru_cache(maxsize=256)(parse_registry)


def url_host(url: str) -> str:
    """The host[:port] of a URL (without user info), as ``urlsplit`` reads it.

    ``urlsplit`` raises ValueError for what it cannot split (an unclosed IPv6 bracket).
    A plain URL is split once per scheme and authority: see :func:`_authority`.
    """
    if url.isascii() and url.isprintable() and " " not in url:
        return _url_host(_authority(url))
    return urlsplit(url).netloc.rpartition("@")[2]


def _authority(url: str) -> str:
    """``url`` up to the ``/`` after its authority: ``urlsplit`` finds the same netloc there.

    Only for printable ASCII without spaces, which ``urlsplit`` neither strips nor removes.
    """
    start = url.find("//")
    end = url.find("/", start + 2) if start >= 0 else -1
    return url if end < 0 else url[:end]


@lru_cache(maxsize=256)
def _url_host(authority: str) -> str:
    return urlsplit(authority).netloc.rpartition("@")[2]


def digest(ctx: Context, path: str, text: str | None) -> str | None:
    """A payload's digest, checked (``sha256:<64 hex>``), or None when absent or empty."""
    if not text:
        return None
    if not is_digest(text):
        raise ctx.error(path, f"invalid digest {shown(text)}: expected sha256:<64 hex digits>")
    return text


def timestamp(ctx: Context, path: str, text: str | None) -> Any:
    """An RFC 3339 timestamp of the payload, or None when absent."""
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ctx.error(path, str(exc)) from None
