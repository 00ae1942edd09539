"""apply with a rollout (--wait): order, stop after a failure, rollback, parallel actions."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from test_applier import NEW, OLD, FakeBackend, live, make_action, make_plan

from cdhelper import applier
from cdhelper.applier import OnFailure, Outcome, Rollout
from cdhelper.backends.base import Observation, Task
from cdhelper.errors import ApiError, Terminated
from cdhelper.inventory import Service
from cdhelper.plan import Action
from cdhelper.rollout import _stopped

EXIT_3 = "task: non-zero exit (3)"


def running(on: str, tid: str = "t") -> Observation:
    return Observation(
        on, "completed", "done", (Task(f"{tid}-{on[7]}", "running", "running", on, None),)
    )


def crashed(on: str = NEW) -> Observation:
    failed = Task("bad", "failed", "shutdown", on, EXIT_3)
    return Observation(on, "updating", "update in progress", (failed,))


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cdhelper.watch.POLL_INTERVAL", 0.0)


@dataclass
class RolloutBackend(FakeBackend):
    """Redeploys move a service to NEW; ``broken`` ones crash there; rollbacks go back."""

    broken: set[str] = field(default_factory=set)
    swarm_rolls_back: set[str] = field(default_factory=set)
    rollback_fails: set[str] = field(default_factory=set)
    stuck: set[str] = field(default_factory=set)  # never healthy
    rollbacks: list[str] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)  # sid: "old" | "new" | "back"
    in_flight: int = 0
    most_in_flight: int = 0
    overlap: threading.Condition = field(default_factory=threading.Condition)
    meet: int = 1  # redeploys that wait for each other
    meet_timeout: float = 5.0

    def redeploy(self, action: Action) -> str:
        message = super().redeploy(action)
        with self.overlap:
            self.state[action.service.id] = "new"
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.overlap.notify_all()
            # parallel actions meet here (a serial rollout waits the short timeout out)
            self.overlap.wait_for(lambda: self.most_in_flight >= self.meet, self.meet_timeout)
            self.in_flight -= 1
        return message

    def service(self, service_id: str) -> Service | None:
        found = super().service(service_id)
        if found is not None and self.state.get(service_id) == "new":
            return replace(found, digest=NEW)
        return found

    def observe(self, service_id: str) -> Observation | None:
        where = self.state.get(service_id, "old")
        if where == "new" and service_id in self.stuck:
            starting = Task("slow", "starting", "running", NEW, None)
            return Observation(NEW, "updating", "update in progress", (starting,))
        if where == "new" and service_id in self.broken:
            if service_id in self.swarm_rolls_back:
                return Observation(OLD, "rollback_completed", "update rolled back", ())
            return crashed()
        return running(NEW if where == "new" else OLD)

    def rollback(self, action: Action) -> str:
        self.rollbacks.append(action.service.id)
        if action.service.id in self.rollback_fails:
            raise ApiError("no previous spec")
        self.state[action.service.id] = "back"
        return "rollback started"


def rollout(**options: object) -> Rollout:
    return Rollout(until=time.monotonic() + 30, monitor=0, **options)  # type: ignore[arg-type]


def apply(backend: RolloutBackend, sids: str, **options: object) -> applier.ApplyResult:
    plan = make_plan(*(make_action(sid) for sid in sids))
    return applier.apply(plan, backend, rollout=rollout(**options))


def summary(result: applier.ApplyResult) -> list[tuple[str, Outcome]]:
    return [(r.action.service.id, r.outcome) for r in result.results]


def test_good_broken_good_rolls_back_and_stops() -> None:
    backend = RolloutBackend([live(s) for s in "abc"], broken={"b"})
    result = apply(backend, "abc")
    assert summary(result) == [
        ("a", Outcome.REDEPLOYED),
        ("b", Outcome.ROLLED_BACK),
        ("c", Outcome.NOT_APPLIED),
    ]
    assert backend.calls == ["a", "b"] and backend.rollbacks == ["b"]
    assert result.status is applier.Status.FAILED
    a, b, c = result.results
    assert a.message == f"healthy for 0 s: completed, 1/1 task(s) running {NEW[:19]}"
    assert (a.digest_before, a.digest_after) == (OLD, NEW) and a.watched
    assert b.task_errors == (EXIT_3,)
    assert b.message == (
        f"a new task failed: {EXIT_3}; rolled back: completed, 1/1 task(s) running {OLD[:19]}"
    )
    assert c.message == (
        "not applied: the rollout stopped after a failure (b (b) was rolled-back); "
        "--keep-going applies the rest anyway"
    )


def test_keep_going_applies_the_rest() -> None:
    backend = RolloutBackend([live(s) for s in "abc"], broken={"b"})
    result = apply(backend, "abc", keep_going=True)
    assert summary(result) == [
        ("a", Outcome.REDEPLOYED),
        ("b", Outcome.ROLLED_BACK),
        ("c", Outcome.REDEPLOYED),
    ]


@pytest.mark.parametrize(
    ("on_failure", "then"),
    [(OnFailure.PAUSE, Outcome.NOT_APPLIED), (OnFailure.CONTINUE, Outcome.REDEPLOYED)],
    ids=["pause", "continue"],
)
def test_pause_and_continue_leave_the_failed_service(on_failure: OnFailure, then: Outcome) -> None:
    backend = RolloutBackend([live(s) for s in "bc"], broken={"b"})
    result = apply(backend, "bc", on_failure=on_failure)
    assert summary(result) == [("b", Outcome.FAILED), ("c", then)]
    assert backend.rollbacks == []
    assert f"left as Swarm left it (--on-failure {on_failure.value})" in result.results[0].message
    assert result.results[0].digest_after == NEW


def test_a_rollback_swarm_did_itself_is_not_asked_again() -> None:
    backend = RolloutBackend([live("b")], broken={"b"}, swarm_rolls_back={"b"})
    result = apply(backend, "b")
    assert backend.rollbacks == []
    [b] = result.results
    assert b.outcome is Outcome.ROLLED_BACK
    assert b.message.startswith("Swarm rolled the update back itself (rollback_completed")


def test_a_failed_rollback_is_a_failure_saying_both() -> None:
    backend = RolloutBackend([live("b")], broken={"b"}, rollback_fails={"b"})
    [b] = apply(backend, "b").results
    assert b.outcome is Outcome.FAILED
    assert b.message == f"a new task failed: {EXIT_3}; the rollback failed: no previous spec"


def test_parallel_actions_overlap_and_keep_plan_order() -> None:
    backend = RolloutBackend([live(s) for s in "abc"], meet=3)
    result = apply(backend, "abc", parallel=3)
    assert summary(result) == [(s, Outcome.REDEPLOYED) for s in "abc"]
    assert backend.most_in_flight == 3


def test_one_at_a_time_by_default() -> None:
    backend = RolloutBackend([live(s) for s in "abc"], meet=2, meet_timeout=0.05)
    apply(backend, "abc")
    assert backend.most_in_flight == 1


def test_already_done_and_stale_rechecks_are_outcomes_not_rollouts() -> None:
    backend = RolloutBackend([live("a", pinned=NEW), live("b")])
    result = apply(backend, "ab")
    assert summary(result) == [("a", Outcome.ALREADY_DONE), ("b", Outcome.REDEPLOYED)]
    assert backend.calls == ["b"]


def test_a_bug_while_watching_is_unknown_and_the_others_go_on() -> None:
    class Buggy(RolloutBackend):
        def observe(self, service_id: str) -> Observation | None:
            if service_id == "a" and self.state.get("a") == "new":
                raise ZeroDivisionError("oops")
            return super().observe(service_id)

    backend = Buggy([live(s) for s in "ab"])
    result = apply(backend, "ab", keep_going=True)
    assert summary(result) == [("a", Outcome.UNKNOWN), ("b", Outcome.REDEPLOYED)]
    assert "unexpected ZeroDivisionError: oops (a bug in cdhelper)" in result.results[0].message


def test_an_api_error_while_watching_fails_that_action() -> None:
    class Flaky(RolloutBackend):
        def observe(self, service_id: str) -> Observation | None:
            if self.state.get(service_id) == "new":
                raise ApiError("engine: HTTP 500")
            return super().observe(service_id)

    [a] = apply(Flaky([live("a")]), "a").results
    assert a.outcome is Outcome.FAILED
    assert a.message == "ok; then: engine: HTTP 500"


def test_a_backend_that_cannot_watch_is_refused() -> None:
    with pytest.raises(ApiError.__mro__[1], match="cannot watch a rollout"):
        applier.apply(make_plan(make_action("a")), FakeBackend([live("a")]), rollout=rollout())


def test_progress_reports_each_state() -> None:
    seen: list[tuple[str, str]] = []
    backend = RolloutBackend([live("b")], broken={"b"})
    applier.apply(
        make_plan(make_action("b")),
        backend,
        rollout=rollout(),
        progress=lambda service, state: seen.append((service.id, state)),
    )
    states = [state for _, state in seen]
    assert states[0] == "redeploying"
    assert f"failed: a new task failed: {EXIT_3}" in states
    assert "rolling back" in states and states[-1] == "rolled-back"


def test_an_update_not_healthy_by_the_deadline_fails_and_is_not_rolled_back() -> None:
    backend = RolloutBackend([live(s) for s in "ab"], stuck={"a"})
    plan = make_plan(make_action("a"), make_action("b"))
    result = applier.apply(plan, backend, rollout=Rollout(until=time.monotonic() + 0.3))
    assert summary(result) == [("a", Outcome.FAILED), ("b", Outcome.NOT_APPLIED)]
    assert backend.rollbacks == []
    assert result.results[0].message == (
        f"timed out waiting for the update (updating, 0/1 task(s) running {NEW[:19]}); "
        "not rolled back: no time left"
    )


def test_a_service_gone_before_its_turn_is_stale_and_stops_the_rollout() -> None:
    class Gone(RolloutBackend):
        def observe(self, service_id: str) -> Observation | None:
            return None if service_id == "a" else super().observe(service_id)

    result = apply(Gone([live(s) for s in "ab"]), "ab")
    assert summary(result) == [("a", Outcome.STALE), ("b", Outcome.NOT_APPLIED)]
    assert result.results[0].message == "service no longer exists (just before its redeploy)"


def test_a_rollback_swarm_paused_itself_is_a_failure_at_once() -> None:
    class Paused(RolloutBackend):
        def observe(self, service_id: str) -> Observation | None:
            if self.state.get(service_id) == "new":
                return Observation(OLD, "rollback_paused", "rollback paused", ())
            return super().observe(service_id)

    [b] = apply(Paused([live("b")], broken={"b"}), "b").results
    assert b.outcome is Outcome.FAILED
    assert b.message == (
        "Swarm rolled the update back itself (rollback_paused: rollback paused); "
        "the rollback failed: Swarm paused its own rollback (rollback paused)"
    )


def test_a_rollout_stopped_by_a_signal_keeps_every_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C or SIGTERM while b rolls out: a's outcome stands, b (under way, not waited
    for) may have been sent, c never started."""
    started, release = threading.Event(), threading.Event()

    class Slow(RolloutBackend):
        def redeploy(self, action: Action) -> str:
            if action.service.id == "b":
                started.set()
                release.wait(30)  # under way until the test is done with it
            return super().redeploy(action)

    def interrupted_wait(*args: Any, **kwargs: Any) -> Any:
        if started.is_set():  # a done, b under way: the signal's exception, here
            raise Terminated
        return futures.wait(*args, **kwargs)

    backend = Slow([live(s) for s in "abc"])
    monkeypatch.setattr("cdhelper.rollout.wait", interrupted_wait)
    try:
        with pytest.raises(applier.Interrupted) as stopped:
            apply(backend, "abc")
    finally:
        release.set()
    assert stopped.value.terminated
    assert [(r.action.service.id, r.outcome) for r in stopped.value.result.results] == [
        ("a", Outcome.REDEPLOYED),
        ("b", Outcome.UNKNOWN),
        ("c", Outcome.NOT_APPLIED),
    ]
    b, c = stopped.value.result.results[1:]
    assert b.message.startswith("interrupted (SIGTERM) while it was rolled out")
    assert c.message == "not applied: interrupted (SIGTERM)"


def test_when_stopped_every_step_handed_over_has_its_outcome() -> None:
    """Whatever the futures' states when the signal came: an ended step's own outcome
    (even one not yet collected), unknown under way, not applied if it never started."""
    actions = [make_action(sid) for sid in "abcde"]
    checked = [applier.ActionResult(a, Outcome.WOULD_REDEPLOY, "") for a in actions]
    ended: Future[applier.ActionResult] = Future()
    under_way: Future[applier.ActionResult] = Future()
    waiting: Future[applier.ActionResult] = Future()
    ended.set_running_or_notify_cancel()
    ended.set_result(applier.ActionResult(actions[0], Outcome.REDEPLOYED, "healthy"))
    under_way.set_running_or_notify_cancel()
    submitted = {ended: 0, under_way: 1, waiting: 2}
    pool = futures.ThreadPoolExecutor(max_workers=1)
    backend = RolloutBackend([live(s) for s in "abcde"])
    stopped = _stopped(
        pool, backend, checked, [None] * 5, submitted, 3, deque([3, 4]), Terminated()
    )
    assert stopped.abandoned
    assert [(r.action.service.id, r.outcome) for r in stopped.result.results] == [
        ("a", Outcome.REDEPLOYED),
        ("b", Outcome.UNKNOWN),
        ("c", Outcome.NOT_APPLIED),
        ("d", Outcome.UNKNOWN),  # being handed over: it may run
        ("e", Outcome.NOT_APPLIED),
    ]
    assert waiting.cancelled()


def test_a_step_that_raises_still_waits_for_the_others() -> None:
    """A bug in one step (here: its progress line cannot be written) ends the rollout once
    the other steps have ended: none is left running behind the command."""
    before = set(threading.enumerate())

    def progress(service: object, state: str) -> None:
        if state == "redeployed" and getattr(service, "id", "") == "a":
            raise OSError("stderr is gone")

    backend = RolloutBackend([live(s) for s in "ab"], meet=2)
    plan = make_plan(*(make_action(sid) for sid in "ab"))
    with pytest.raises(OSError, match="stderr is gone"):
        applier.apply(plan, backend, rollout=rollout(parallel=2), progress=progress)
    assert sorted(backend.calls) == ["a", "b"]
    assert backend.state == {"a": "new", "b": "new"}
    assert not set(threading.enumerate()) - before  # (an earlier test's may have ended)


def test_a_signal_while_the_rollout_waits_for_its_steps_keeps_every_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step raised (a bug) and the rollout waits for the others: a signal then (the user
    gave up waiting) still reports each one, and says steps were left under way."""
    started, release = threading.Event(), threading.Event()

    class Slow(RolloutBackend):
        def redeploy(self, action: Action) -> str:
            if action.service.id == "b":
                started.set()
                release.wait(30)
            return super().redeploy(action)

    def progress(service: object, state: str) -> None:
        if state == "redeployed" and getattr(service, "id", "") == "a":
            started.wait(30)  # b is under way
            raise OSError("stderr is gone")

    class Pool(futures.ThreadPoolExecutor):
        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            if wait:
                raise Terminated  # the signal, while it waits
            super().shutdown(wait=False, cancel_futures=cancel_futures)

    monkeypatch.setattr("cdhelper.rollout.ThreadPoolExecutor", Pool)
    backend = Slow([live(s) for s in "abc"])
    plan = make_plan(*(make_action(sid) for sid in "abc"))
    try:
        with pytest.raises(applier.Interrupted) as stopped:
            applier.apply(plan, backend, rollout=rollout(parallel=2), progress=progress)
    finally:
        release.set()
    assert stopped.value.abandoned
    assert [(r.action.service.id, r.outcome) for r in stopped.value.result.results] == [
        ("a", Outcome.UNKNOWN),  # its step raised after its redeploy
        ("b", Outcome.UNKNOWN),  # under way
        ("c", Outcome.NOT_APPLIED),
    ]
