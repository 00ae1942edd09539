"""One ``apply`` at a time per target on this machine: an advisory lock file per target.

Two applies of the same plan started together (a double-clicked pipeline, a retried job)
must not redeploy a service twice. The second one waits for the first, up to the
command's deadline, then re-checks every service against the plan like any apply: what
the first one redeployed is no longer what the plan was made from, so it is refused or
reported, never redeployed again. Applies from other machines are caught by that re-check
alone (and on the Docker Engine by Swarm's version index).

The lock is ``flock`` on ``cdhelper-apply-<hash>.lock`` in ``$XDG_RUNTIME_DIR`` (else the
system's temporary folder), the hash naming the target: its kind and its Swarm cluster id
(a Docker Engine, whatever address reaches it) or its URL (Swarmpit). The kernel releases
it when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping

from cdhelper import deadline as deadlines
from cdhelper.errors import ConfigError, DeadlineError
from cdhelper.inventory import Target

POLL_INTERVAL = 0.2


def lock_path(target: Target, environ: Mapping[str, str] = os.environ) -> str:
    key = f"{target.kind}:{target.cluster or target.url or ''}"
    name = f"cdhelper-apply-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lock"
    folder = environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(folder, name)


@contextlib.contextmanager
def hold(target: Target, *, on_wait: Callable[[str], None] = lambda _: None) -> Iterator[None]:
    """Hold the apply lock of ``target``; wait for another holder up to the deadline."""
    path = lock_path(target)
    try:
        # O_NOFOLLOW: in a shared /tmp, never follow someone else's symlink.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot open the apply lock {path}: {exc.strerror} (set XDG_RUNTIME_DIR to a "
            "private folder)"
        ) from None
    try:
        _acquire(fd, target, path, on_wait)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, target: Target, path: str, on_wait: Callable[[str], None]) -> None:
    waited = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not waited:
            on_wait(
                f"waiting for another cdhelper apply to {target.describe()} to finish (lock {path})"
            )
            waited = True
        deadline = deadlines.current()
        if deadline is not None and deadline.left() <= POLL_INTERVAL:
            raise DeadlineError(
                f"another cdhelper apply holds the lock for {target.describe()} ({path}); "
                f"it did not finish within the time limit of {deadline.limit:g} s "
                "(--timeout): nothing was changed"
            )
        time.sleep(POLL_INTERVAL)
