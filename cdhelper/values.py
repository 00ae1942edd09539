"""Plain values shared by the pure core and the clients that do I/O: no I/O here.

The planner, the registry client and the reports all speak these types, so the planner
can stay a pure function without importing anything that talks to the network.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Lookup:
    """What a tag points to: a digest; ``missing`` when the tag is gone; else an ``error``."""

    digest: str | None = None
    missing: bool = False
    error: str | None = None


@dataclass
class Stats:
    """What the registry client sent, for reports and benchmarks."""

    pings: int = 0
    manifest_heads: int = 0
    manifest_gets: int = 0
    token_requests: int = 0
    tag_lists: int = 0  # GET /v2/<name>/tags/list pages
    blob_gets: int = 0  # image config blobs (their ``created``): never a Docker Hub pull
    ratelimit_remaining: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


def parse_time(text: str) -> datetime:
    """An RFC 3339 / ISO 8601 timestamp as an aware UTC datetime (naive means UTC).

    A ``ValueError`` names the problem, also for a time that exists only in its own offset
    (``0001-01-01T00:00:00+01:00`` is in year 0 in UTC, which datetime cannot hold).
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid timestamp {shown(text)}: expected RFC 3339") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"timestamp {shown(text)} is out of range: in UTC it is before year 1 or after 9999"
        ) from None


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def shown(value: object, limit: int = 60, quote: Callable[[str], str] = repr) -> str:
    """``value`` for a message: quoted, and cut to about ``limit`` characters.

    Messages name what is wrong without repeating a whole input, which may be megabytes.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return quote(value)
        return quote(value[:limit]) + "…"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "…"
    return f"a {type(value).__name__}"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: float | str) -> float:
    """Seconds from a number or ``90s``/``30m``/``2h``/``7d``."""
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([smhd])", value.strip())
    if not match:
        raise ValueError(f"invalid duration {value!r}: expected e.g. 90s, 30m, 2h, 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(delta: timedelta) -> str:
    """A duration for people: ``2d 3h``, ``45m``, ``12s`` (the two largest units)."""
    seconds = max(0, int(delta.total_seconds()))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


@dataclass(frozen=True)
class PushTime:
    """When a digest was pushed, and how cdhelper knows: ``event``, ``first-seen`` or
    ``created`` (the image config's, which its publisher writes)."""

    at: datetime
    source: str

    def describe(self) -> str:
        return {
            "event": "pushed",
            "first-seen": "first seen by cdhelper",
            "created": "created (the image config says so; its publisher controls that)",
        }.get(self.source, self.source)


@dataclass(frozen=True, order=True)
class Platform:
    """An OS/architecture pair (with the ARM variant, when an image or node says)."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def runs(self, image: Platform) -> bool:
        """Whether a node of this platform can run an image built for ``image``."""
        if (self.os, self.architecture) != (image.os, image.architecture):
            return False
        return self.variant is None or image.variant is None or self.variant == image.variant


@dataclass(frozen=True)
class Node:
    """A Swarm node, as far as placement goes."""

    id: str
    hostname: str
    role: str
    platform: Platform
    availability: str = "active"
    labels: Mapping[str, str] = field(default_factory=dict)
    engine_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TagList:
    """A repository's tags (``GET /v2/<name>/tags/list``, every page), or why not."""

    tags: tuple[str, ...] = ()
    error: str | None = None
