"""The cyclic garbage collector paused while a large document becomes records.

Loading 100,000 events allocates millions of dicts, strings and records, and every few
hundred allocations the collector walks the young objects, every few collections all of
them: a quarter of the time of ``validate`` on such a file. Parsed documents and the
records built from them hold no reference cycles, so reference counting frees them
anyway; the collector runs again, as before, once the outermost load is done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_loads = 0  # loads under way (the inbox reads deliveries on several threads)
_was_enabled = False  # the collector's state when the first of them began


@contextmanager
def paused() -> Iterator[None]:
    """Pause the collector for the block; nested and concurrent blocks share one pause."""
    global _loads, _was_enabled  # noqa: PLW0603 (one process-wide switch, so one state)
    with _lock:
        if _loads == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _loads += 1
    try:
        yield
    finally:
        with _lock:
            _loads -= 1
            if _loads == 0 and _was_enabled:
                gc.enable()
