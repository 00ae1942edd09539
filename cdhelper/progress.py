"""Progress of long work on a terminal: one line on stderr, rewritten in place.

Only a person watching a terminal wants it: when the stream is not a TTY (CI logs, pipes,
files) nothing is written at all, so logs hold results, not hundreds of counter lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from cdhelper.redact import redact

# A callback for long work: (done, total), called as each step finishes.
Report = Callable[[int, int], None]

_INTERVAL = 0.1  # seconds between two redraws: fast enough to look alive, no flicker


class ProgressLine:
    """``checked 120/300 references``, redrawn at most every 0.1 s, erased when done."""

    def __init__(
        self, stream: TextIO, template: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._template = template  # with {done} and {total}
        self._clock = clock
        self._drawn_at: float | None = None

    @classmethod
    def on_terminal(cls, stream: TextIO, template: str) -> ProgressLine | None:
        """A progress line for ``stream`` if a person is watching it, else None."""
        return cls(stream, template) if stream.isatty() else None

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        last = done >= total
        if not last and self._drawn_at is not None and now - self._drawn_at < _INTERVAL:
            return
        self._drawn_at = now
        text = redact(self._template.format(done=done, total=total))
        self._stream.write(f"\r\x1b[K{text}")
        self._stream.flush()

    def clear(self) -> None:
        """Erase the line, so that what is printed next starts on a clean one."""
        if self._drawn_at is not None:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn_at = None
