"""Image references, parsed and normalised as distribution/reference does.

``reference := name [":" tag] ["@" digest]`` and ``name := [domain "/"] path``. Two
references name the same image when their normalised registry, repository and tag agree;
digests are compared separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdhelper.errors import InputError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DEFAULT_TAG = "latest"
# Names that mean Docker Hub: the legacy index host and the API host.
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


class ReferenceError(InputError):
    """Text that is not a valid image reference."""


@dataclass(frozen=True, order=True)
class ImageRef:
    """A normalised image reference: ``registry/repository[:tag][@digest]``."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Parse and normalise; a reference without tag or digest gets ``latest``."""
        name, _, digest = text.partition("@")
        if digest and not _DIGEST.fullmatch(digest):
            raise ReferenceError(f"invalid digest in image reference {text!r}")
        tag: str | None = None
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            name, tag = name[:colon], name[colon + 1 :]
            if not _TAG.fullmatch(tag):
                raise ReferenceError(f"invalid tag {tag!r} in image reference {text!r}")
        registry, repository = split_name(name, text)
        if tag is None and not digest:
            tag = DEFAULT_TAG
        return cls(registry, repository, tag, digest or None)

    @property
    def name(self) -> str:
        """``registry/repository``, the image's name without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def tagged(self) -> str:
        """``registry/repository:tag`` (the tag is what a service follows)."""
        return f"{self.name}:{self.tag}" if self.tag is not None else self.name

    def without_digest(self) -> ImageRef:
        return ImageRef(self.registry, self.repository, self.tag)

    def with_registry(self, registry: str) -> ImageRef:
        return ImageRef(registry, self.repository, self.tag, self.digest)

    def __str__(self) -> str:
        return f"{self.tagged}@{self.digest}" if self.digest else self.tagged


def split_name(name: str, text: str | None = None) -> tuple[str, str]:
    """Split an image name into its normalised (registry, repository)."""
    shown = text if text is not None else name
    first, sep, rest = name.partition("/")
    is_domain = bool(sep) and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    if is_domain:
        if not _DOMAIN.fullmatch(first):
            raise ReferenceError(f"invalid registry host {first!r} in image reference {shown!r}")
        registry, path = normalise_registry(first), rest
    else:
        registry, path = DOCKER_HUB, name
    return registry, normalise_repository(registry, path, shown)


def normalise_repository(registry: str, path: str, shown: str | None = None) -> str:
    """Check a repository path; a single component on Docker Hub gets ``library/``."""
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            raise ReferenceError(
                f"invalid repository {path!r} in image reference {shown or path!r}: "
                "components are lower-case letters, digits and separators (. _ __ -)"
            )
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return path


def normalise_registry(host: str) -> str:
    """Host names compare case-insensitively; every name of Docker Hub becomes ``docker.io``."""
    host = host.lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def is_digest(text: str) -> bool:
    return bool(_DIGEST.fullmatch(text))


def is_valid_tag(text: str) -> bool:
    return bool(_TAG.fullmatch(text))


def short_digest(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits, as people quote digests."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}"


def is_valid_host(text: str) -> bool:
    """A registry host as the reference grammar allows it: ``host[:port]``, IPv6 in brackets."""
    return bool(_DOMAIN.fullmatch(text))
