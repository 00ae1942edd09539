"""Plain values shared by the pure core and the clients that do I/O: no I/O here.

The planner, the registry client and the reports all speak these types, so the planner
can stay a pure function without importing anything that talks to the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


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
