"""When cdhelper first saw each digest: a push time the publisher cannot forge.

Smart mode reads no push events, and an image config's ``created`` is whatever its
publisher wrote. With a state folder (``plan --state DIR``, the inbox's ``state``), every
digest a smart plan finds is recorded in ``DIR/first-seen.json`` the first time it is
seen, and a minimum age counts from then. A webhook plan records the digests its events
pushed, at their push times, so a later smart plan counts from the push. Writers take an
exclusive lock on ``DIR/first-seen.lock``; the file is replaced atomically.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cdhelper import documents
from cdhelper.errors import InputError
from cdhelper.values import format_time, parse_time

FILE = "first-seen.json"
FORMAT = "cdhelper-first-seen"
# A digest not seen again for this long is forgotten (so the file does not grow forever);
# if it ever comes back, it waits one minimum age again.
FORGET_AFTER = timedelta(days=400)


def record(
    directory: str,
    digests: Iterable[str],
    now: datetime,
    pushed: Mapping[str, datetime] | None = None,
) -> dict[str, datetime]:
    """Record ``digests`` not seen before as seen ``now`` (or when an event says they were
    ``pushed``, if earlier); when each was first seen."""
    wanted = set(digests)
    try:
        os.makedirs(directory, exist_ok=True)
        lock = open(os.path.join(directory, "first-seen.lock"), "a")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{directory}: cannot use the state folder: {exc.strerror}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = os.path.join(directory, FILE)
        seen = _read(path)
        new = {d: min(now, (pushed or {}).get(d, now)) for d in wanted if d not in seen}
        stale = [d for d, t in seen.items() if d not in wanted and now - t > FORGET_AFTER]
        if new or stale:
            seen.update(new)
            for digest in stale:
                del seen[digest]
            data: dict[str, Any] = {
                "format": FORMAT,
                "digests": {d: format_time(t) for d, t in sorted(seen.items())},
            }
            documents.write_atomic(path, documents.dump_json(data))
    return {digest: seen[digest] for digest in wanted}


def _read(path: str) -> dict[str, datetime]:
    if not os.path.exists(path):
        return {}
    data = documents.parse_json(documents.read_text(path), path)
    digests = data.get("digests") if isinstance(data, dict) else None
    if not isinstance(digests, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path}: not a cdhelper first-seen file: move it away")
    try:
        return {str(d): parse_time(str(t)) for d, t in digests.items()}
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
