"""Image references, parsed and normalised as distribution/reference does.

``reference := name [":" tag] ["@" digest]`` and ``name := [domain "/"] path``. Two
references name the same image when their normalised registry, repository and tag agree;
digests are compared separately.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from cdhelper.errors import InputError
from cdhelper.values import shown

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DEFAULT_TAG = "latest"
# Names that mean Docker Hub: the legacy index host and the API host.
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# The grammar of distribution/reference, ASCII only (Python's \w would match any letter).
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::(?P<port>[0-9]+))?"
)
_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
# Swarm pins, and registries answer, sha256 digests in lower-case hex; Docker refuses others.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
NAME_MAX = 255  # registry/repository, as Docker counts it


class ReferenceError(InputError):
    """Text that is not a valid image reference."""


@dataclass(order=True, slots=True, unsafe_hash=True)
class ImageRef:
    """A normalised image reference: ``registry/repository[:tag][@digest]``.

    Never changed once made (hashable by value); not ``frozen``, whose field-by-field
    ``object.__setattr__`` is a tenth of the cost of reading a large inventory.
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Parse and normalise; a reference without tag or digest gets ``latest``."""
        name, _, digest = text.partition("@")
        return cls._parse(name, digest, text)

    @classmethod
    def pinned(cls, image: str, digest: str | None) -> ImageRef:
        """``image@digest`` (``image`` alone without a digest) parsed, ``digest`` kept as is:
        a service's spec image and pinned digest, without building the text to split it."""
        if not digest or "@" in image:
            return cls.parse(f"{image}@{digest}" if digest else image)
        return cls._parse(image, digest, None)

    @classmethod
    def _parse(cls, name: str, digest: str, text: str | None) -> ImageRef:
        """``text`` (for messages) is ``name@digest``; None: build it only for a message."""
        if digest and not _DIGEST.fullmatch(digest):
            text = text or f"{name}@{digest}"
            raise ReferenceError(
                f"invalid digest in image reference {shown(text)}: expected sha256:<64 hex digits>"
            )
        parsed = _NAMES.get(name)
        if parsed is None:
            whole = text if text is not None else f"{name}@{digest}" if digest else name
            parsed = _parse_name(name, whole)
            if len(_NAMES) < _NAMES_KEPT:
                _NAMES[name] = parsed
        registry, repository, tag = parsed
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


# A large Swarm runs many services of a few images: each valid name is parsed once (the
# first few thousand names; an invalid one is refused each time, naming the whole text).
_NAMES: dict[str, tuple[str, str, str | None]] = {}
_NAMES_KEPT = 4096


def _parse_name(name: str, text: str) -> tuple[str, str, str | None]:
    """``[domain/]path[:tag]``, checked and normalised: (registry, repository, tag or None)."""
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ReferenceError(f"invalid tag {shown(tag)} in image reference {shown(text)}")
    registry, repository = split_name(name, text)
    return registry, repository, tag


def split_name(name: str, text: str | None = None) -> tuple[str, str]:
    """Split an image name into its normalised (registry, repository)."""
    whole = text if text is not None else name
    first, sep, rest = name.partition("/")
    is_domain = bool(sep) and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    if is_domain:
        registry, path = parse_registry(first, f" in image reference {shown(whole)}"), rest
    else:
        registry, path = DOCKER_HUB, name
    return registry, normalise_repository(registry, path, whole)


def normalise_repository(registry: str, path: str, whole: str | None = None) -> str:
    """Check a repository path; a single component on Docker Hub gets ``library/``."""
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            raise ReferenceError(
                f"invalid repository {shown(path)} in image reference {shown(whole or path)}: "
                "components are lower-case letters, digits and separators (. _ __ -)"
            )
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if len(registry) + 1 + len(path) > NAME_MAX:
        raise ReferenceError(
            f"image name {shown(f'{registry}/{path}')} is longer than {NAME_MAX} characters"
        )
    return path


def parse_registry(host: str, context: str = "") -> str:
    """A registry host as a reference's domain, checked and normalised, or ReferenceError.

    Docker's grammar: DNS labels or a bracketed IPv6 address, and a port 1-65535. The host
    must also read back as a host in ``host/repo``: lower-cased, a name with no dot, no port
    and other than ``localhost`` would be a Docker Hub namespace there.
    """
    match = _DOMAIN.fullmatch(host)
    problem = ""
    if not match:
        pass  # the grammar says it all: no reason to add
    elif match["port"] is not None and (
        len(match["port"]) > 5 or not 0 < int(match["port"]) < 65536
    ):
        problem = ": the port must be 1-65535"
    elif match["ipv6"] is not None and not _is_ipv6(match["ipv6"]):
        problem = ": not an IPv6 address"
    elif not ("." in host or ":" in host or host.lower() == "localhost"):
        problem = (
            ": a name without a dot or a port reads as a Docker Hub namespace: "
            "use its full name or host:port"
        )
    if not match or problem:
        raise ReferenceError(f"invalid registry host {shown(host)}{context}{problem}")
    return normalise_registry(host)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


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
    """A registry host as Docker accepts it in a reference: see :func:`parse_registry`."""
    try:
        parse_registry(text)
    except ReferenceError:
        return False
    return True
