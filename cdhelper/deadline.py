"""The overall time limit of a command (``--timeout``), which every network call honours.

Per-request timeouts alone let a server that trickles bytes, or asks to be retried in a
day, hold a command forever. The CLI sets one deadline per command with :func:`limit`;
no request starts, no retry waits and no answer is read past it. It lives in a context
variable, so concurrent commands in one process (threads) each have their own, and HTTP
sessions made under it carry it (:mod:`cdhelper.http`), so registry lookups in worker
threads honour it too. No call in between passes it on: it is policy, like timeouts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from cdhelper.errors import DeadlineError


@dataclass(frozen=True)
class Deadline:
    """When the running command must be done by (``time.monotonic()``), and its limit."""

    at: float
    limit: float  # seconds, as given (--timeout): for messages

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds, seconds)

    def left(self) -> float:
        return self.at - time.monotonic()

    def ran_out(self, while_: str) -> str:
        return f"the time limit of {self.limit:g} s (--timeout) ran out {while_}".rstrip()


_current: ContextVar[Deadline | None] = ContextVar("cdhelper_deadline", default=None)


@contextlib.contextmanager
def limit(seconds: float | None) -> Iterator[Deadline | None]:
    """Run the block under an overall time limit (None: no limit)."""
    with using(Deadline.after(seconds) if seconds is not None else None) as deadline:
        yield deadline


@contextlib.contextmanager
def using(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Run the block under ``deadline`` (one a session carries, say)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def current() -> Deadline | None:
    return _current.get()


def time_left(what: str, doing: str) -> float | None:
    """Seconds left (None: no deadline); DeadlineError naming ``what`` when none are."""
    deadline = _current.get()
    if deadline is None:
        return None
    left = deadline.left()
    if left <= 0:
        raise DeadlineError(f"{what}: {doing}: {deadline.ran_out('')}")
    return left


def out_of_time() -> bool:
    deadline = _current.get()
    return deadline is not None and deadline.left() <= 0
