"""Plain values shared by the pure core and the clients that do I/O: no I/O here.

The planner, the registry client and the reports all speak these types, so the planner
can stay a pure function without importing anything that talks to the network.
"""

from __future__ import annotations

import threading
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
    """An RFC 3339 / ISO 8601 timestamp as an aware UTC datetime (naive means UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid timestamp {text!r}: expected RFC 3339") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
