"""Watching one update (or rollback) converge: when it counts as done, when as failed.

:func:`assess` is a pure rule over what a backend observes; :func:`watch` polls the
backend with it until the update is done, failed or out of time.

What the rules rest on (measured on Docker 20.10, single node):

- Swarm reports a task ``running`` only once its container's health check (the image's or
  the service's) passed; a task that turns unhealthy is killed and fails with
  ``unhealthy container``. So "running" is "healthy" wherever a health check exists.
- A failing new task is seen before Swarm pauses or rolls back the update: its error is
  on the task ("task: non-zero exit (3)"), the service's message only names the task.
- Right after an update Swarm may keep the previous update's status for a moment (or none
  at all), so a ``paused`` or ``rollback_*`` state counts only once it differs from the
  one seen before the update was sent.
- New tasks wait with desired state ``ready`` while the old ones stop (``stop-first``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from cdhelper.backends.base import Observation, Rollouts, Task
from cdhelper.errors import ApiError
from cdhelper.reference import short_digest

POLL_INTERVAL = 0.5
TO_RUN = frozenset({"running", "ready"})  # desired states of the tasks that are to run
FAILED_TASK = frozenset({"failed", "rejected", "complete", "orphaned"})  # "complete": it exited
SWARM_ROLLBACK = frozenset({"rollback_started", "rollback_paused", "rollback_completed"})


class Phase(enum.Enum):
    UPDATE = "update"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Verdict:
    """Where an update stands: done (converged), failed (``failure`` says why), or neither."""

    summary: str  # for progress lines: "updating, 0/1 task(s) running sha256:…"
    done: bool = False
    failure: str | None = None
    task_errors: tuple[str, ...] = ()
    rolled_back_by_swarm: bool = False  # Swarm is rolling it back itself: never ask again
    timed_out: bool = False


def assess(seen: Observation, before: Observation, expected: str | None, phase: Phase) -> Verdict:
    """Judge ``seen`` against ``before`` (observed just before the request was sent)."""
    old = {task.id for task in before.tasks}
    new = [task for task in seen.tasks if task.id not in old and task.digest == expected]
    errors = tuple(dict.fromkeys(_error(task) for task in new if _failed(task)))
    to_run = [task for task in seen.tasks if task.desired in TO_RUN]
    running = [task for task in to_run if task.state == "running" and task.digest == expected]
    state = seen.update_state
    summary = (
        f"{state or 'no update status'}, {len(running)}/{len(to_run)} task(s) "
        f"running {_short(expected)}"
    )
    status_is_new = (state, seen.update_message, seen.update_started) != (
        before.update_state,
        before.update_message,
        before.update_started,
    )
    swarm_did = _swarm_failure(seen, phase) if status_is_new else None
    if swarm_did is not None:
        error = f"; task error: {errors[-1]}" if errors else ""
        return Verdict(
            summary,
            failure=f"{swarm_did}{error}",
            task_errors=errors,
            rolled_back_by_swarm=phase is Phase.UPDATE and state in SWARM_ROLLBACK,
        )
    if errors:
        return Verdict(summary, failure=f"a new task failed: {errors[-1]}", task_errors=errors)
    finished = state in (None, "completed", "rollback_completed")
    return Verdict(summary, done=finished and len(running) == len(to_run))


def _swarm_failure(seen: Observation, phase: Phase) -> str | None:
    state, message = seen.update_state, seen.update_message or ""
    if phase is Phase.UPDATE and state in SWARM_ROLLBACK:
        return f"Swarm rolled the update back itself ({state}: {message})"
    if state in ("paused", "rollback_paused"):
        return f"Swarm paused the {phase.value} ({state}: {message})"
    return None


def _failed(task: Task) -> bool:
    return task.state in FAILED_TASK or (task.state == "shutdown" and bool(task.error))


def _error(task: Task) -> str:
    return task.error or f"task {task.state}"


def _short(digest: str | None) -> str:
    return short_digest(digest) if digest else "an unpinned image"


Clock = Callable[[], float]


@dataclass(frozen=True)
class Watch:
    """How long to watch: the monitor period once converged, and the deadline."""

    monitor: float  # seconds the converged tasks must keep running
    until: float  # time.monotonic() deadline
    progress: Callable[[str], None] = lambda _: None
    clock: Clock = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def watch(
    backend: Rollouts,
    service_id: str,
    before: Observation,
    expected: str | None,
    phase: Phase,
    how: Watch,
) -> Verdict:
    """Poll until the tasks converged and stayed so for the monitor period, or a failure."""
    stable_since: float | None = None
    while True:
        seen = backend.observe(service_id)
        if seen is None:
            raise ApiError("the service no longer exists")
        verdict = assess(seen, before, expected, phase)
        now = how.clock()
        if verdict.failure is not None:
            return verdict
        if not verdict.done:
            stable_since = None
            how.progress(verdict.summary)
        else:
            stable_since = now if stable_since is None else stable_since
            if now - stable_since >= how.monitor:
                return verdict
            how.progress(f"{verdict.summary}, monitoring for {how.monitor:g} s")
        if now >= how.until:
            return Verdict(
                verdict.summary,
                failure=f"timed out waiting for the {phase.value} ({verdict.summary})",
                timed_out=True,
            )
        how.sleep(max(0.0, min(POLL_INTERVAL, how.until - now)))
