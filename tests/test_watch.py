"""The rules of when an update is done or failed, over observations as Swarm reports them."""

from __future__ import annotations

import pytest

from cdhelper import watch
from cdhelper.backends.base import Observation, Task
from cdhelper.errors import ApiError
from cdhelper.watch import Phase, Watch, assess

from helpers import digest

OLD, NEW = digest("1"), digest("2")


def task(
    tid: str, state: str, on: str = NEW, desired: str = "running", err: str | None = None
) -> Task:
    return Task(tid, state, desired, on, err)


def seen(state: str | None, *tasks: Task, message: str | None = None) -> Observation:
    return Observation(NEW, state, message, tasks)


BEFORE = Observation(OLD, "completed", "update completed", (task("old", "running", OLD),))


@pytest.mark.parametrize(
    ("observation", "done", "failure"),
    [
        (seen(None, task("old", "running", OLD)), False, None),
        (
            seen(
                "updating",
                task("old", "shutdown", OLD, "shutdown"),
                task("n", "preparing", desired="ready"),
            ),
            False,
            None,
        ),
        (seen("updating", task("n", "running")), False, None),
        (seen("completed", task("n", "running")), True, None),
        (seen(None, task("n", "running")), True, None),
        (seen("completed", task("n", "starting")), False, None),
        (
            seen(
                "updating", task("n", "failed", desired="shutdown", err="task: non-zero exit (3)")
            ),
            False,
            "a new task failed: task: non-zero exit (3)",
        ),
        (
            seen("updating", task("n", "complete", desired="shutdown")),
            False,
            "a new task failed: task complete",
        ),
        (
            seen(
                "paused",
                task(
                    "n",
                    "failed",
                    desired="shutdown",
                    err="task: non-zero exit (137): dockerexec: unhealthy container",
                ),
                message="update paused due to failure or early termination of task n",
            ),
            False,
            "Swarm paused the update (paused: update paused due to failure or early termination "
            "of task n); task error: task: non-zero exit (137): dockerexec: unhealthy container",
        ),
        (
            seen("rollback_started", task("r", "running", OLD), message="update rolled back"),
            False,
            "Swarm rolled the update back itself (rollback_started: update rolled back)",
        ),
        # an old task's failure is not the update's
        (
            seen("completed", task("old", "failed", OLD, "shutdown", "boom"), task("n", "running")),
            True,
            None,
        ),
        # a new task shut down without an error (scaled down, replaced) is no failure
        (
            seen("completed", task("x", "shutdown", desired="shutdown"), task("n", "running")),
            True,
            None,
        ),
    ],
    ids=[
        "not-started",
        "new-task-waits-ready",
        "running-but-swarm-still-updating",
        "completed-and-running",
        "no-update-status-but-running",
        "health-check-not-passed-yet",
        "task-exited",
        "task-exited-zero",
        "swarm-paused",
        "swarm-rolled-back",
        "old-task-failure",
        "shutdown-without-error",
    ],
)
def test_assess_update(observation: Observation, done: bool, failure: str | None) -> None:
    verdict = assess(observation, BEFORE, NEW, Phase.UPDATE)
    assert (verdict.done, verdict.failure) == (done, failure)


def test_a_status_left_from_before_the_update_is_no_failure() -> None:
    paused = Observation(
        OLD, "paused", "update paused due to task t0", (task("old", "running", OLD),)
    )
    now = Observation(NEW, "paused", "update paused due to task t0", (task("old", "running", OLD),))
    assert assess(now, paused, NEW, Phase.UPDATE).failure is None


def test_swarm_rolling_back_is_said_so() -> None:
    verdict = assess(seen("rollback_started", message="x"), BEFORE, NEW, Phase.UPDATE)
    assert verdict.rolled_back_by_swarm


def test_assess_rollback_expects_rollback_states() -> None:
    rolling = Observation(
        OLD, "rollback_completed", "rollback completed", (task("r", "running", OLD),)
    )
    failed = Observation(NEW, "paused", "x", (task("n", "failed", NEW, "shutdown", "e"),))
    verdict = assess(rolling, failed, OLD, Phase.ROLLBACK)
    assert verdict.done and verdict.failure is None
    stuck = Observation(OLD, "rollback_paused", "rollback paused", ())
    assert assess(stuck, failed, OLD, Phase.ROLLBACK).failure == (
        "Swarm paused the rollback (rollback_paused: rollback paused)"
    )


class Script:
    """A backend whose observations are scripted, and a clock that ticks per poll."""

    def __init__(self, *observations: Observation | None) -> None:
        self.observations = list(observations)
        self.now = 0.0
        self.lines: list[str] = []

    def observe(self, service_id: str) -> Observation | None:
        return self.observations.pop(0) if len(self.observations) > 1 else self.observations[0]

    def rollback(self, action: object) -> str:
        raise AssertionError("not here")

    def sleep(self, seconds: float) -> None:
        self.now += 1.0

    def how(self, monitor: float, until: float = 100.0) -> Watch:
        return Watch(monitor, until, self.lines.append, lambda: self.now, self.sleep)


def test_watch_waits_the_monitor_period_and_starts_it_again_after_a_blip() -> None:
    good, blip = seen("completed", task("n", "running")), seen("completed", task("n", "starting"))
    script = Script(seen("updating"), good, good, blip, good, good, good, good)
    verdict = watch.watch(script, "s", BEFORE, NEW, Phase.UPDATE, script.how(monitor=2))
    assert verdict.done and verdict.failure is None
    assert script.now == 6  # converged at 1, blip at 3, then 4, 5, 6
    assert f"completed, 1/1 task(s) running {NEW[:19]}, monitoring for 2 s" in script.lines


def test_watch_times_out_saying_where_it_stood() -> None:
    script = Script(seen("updating", task("n", "starting")))
    verdict = watch.watch(script, "s", BEFORE, NEW, Phase.UPDATE, script.how(2, until=3))
    assert verdict.timed_out
    assert verdict.failure == (
        f"timed out waiting for the update (updating, 0/1 task(s) running {NEW[:19]})"
    )


def test_watch_a_service_that_went_away() -> None:
    script = Script(None)
    with pytest.raises(ApiError, match="no longer exists"):
        watch.watch(script, "s", BEFORE, NEW, Phase.UPDATE, script.how(0))
