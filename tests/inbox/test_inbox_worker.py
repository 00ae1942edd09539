"""The worker on a fake clock: coalescing, planning per environment, retries, smart runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cdhelper import plan as plans
from cdhelper.errors import InputError
from cdhelper.events import PushEvent
from cdhelper.inbox import config as configuration
from cdhelper.inbox.config import EnvironmentConfig
from cdhelper.inbox.dispatchers.base import DispatchOutcome, DispatchRequest, Mode, Status
from cdhelper.inbox.metrics import Metrics
from cdhelper.inbox.store import Store
from cdhelper.inbox.worker import Worker, backoff
from cdhelper.inventory import Target

from helpers import digest, push
from inboxes import ENVIRON, HOST, RELEASE, write_config


class Inline(Executor):
    """Runs each dispatch at once, in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class Recorder:
    def __init__(self, *outcomes: DispatchOutcome) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[DispatchRequest] = []

    def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        self.requests.append(request)
        if len(self.outcomes) > 1:
            return self.outcomes.pop(0)
        return self.outcomes[0] if self.outcomes else DispatchOutcome(Status.DONE, "ok")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    def __init__(
        self, tmp_path: Path, recorder: Recorder, planner: Any = None, **overrides: Any
    ) -> None:
        self.config = configuration.load(str(write_config(tmp_path, **overrides)), ENVIRON)
        self.store = Store(self.config.database)
        self.clock = Clock()
        self.metrics = Metrics()
        extra = {"planner": planner} if planner else {}
        self.worker = Worker(
            self.config,
            self.store,
            {e.name: recorder for e in self.config.environments},
            self.metrics,
            clock=self.clock,
            executor=Inline(),
            **extra,
        )

    def deliver(self, *events: PushEvent, body: bytes = b"{}") -> None:
        self.store.accept(
            "reg",
            self.clock.now,
            None,
            body,
            events,
            "accepted",
            None,
            self.config.max_batch_seconds,
        )

    def step(self, at: float) -> float:
        self.clock.now = at
        return self.worker.step(at)

    def dispatches(self) -> list[dict[str, Any]]:
        return self.store.recent()["dispatches"]


def release(pushed: str = digest("1")) -> list[PushEvent]:
    return [push(f"{HOST}/app:{tag}", pushed) for tag in RELEASE]


def test_four_tags_of_a_release_make_one_plan(tmp_path: Path) -> None:
    recorder = Recorder()
    s = Setup(tmp_path, recorder)
    for offset, event in enumerate(release()):
        s.clock.now = 1000.0 + offset * 0.1
        s.deliver(event, body=f'{{"n": {offset}}}'.encode())
    assert s.step(1000.5) == pytest.approx(0.1)  # 0.3 s after the last delivery
    assert recorder.requests == []
    s.step(1000.61)
    [request] = recorder.requests
    assert request.environment == "int" and request.mode is Mode.WEBHOOK
    assert request.payloads == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    assert sorted(a.tag for a in request.plan.actions) == sorted(RELEASE)
    assert {a.target_digest for a in request.plan.actions} == {digest("1")}
    [dispatch] = s.dispatches()
    assert (dispatch["status"], dispatch["attempts"], dispatch["detail"]) == ("done", 1, "ok")
    assert s.store.recent()["batches"][0]["status"] == "closed"


def test_a_batch_closes_at_its_maximum_age_however_busy(tmp_path: Path) -> None:
    recorder = Recorder()
    s = Setup(tmp_path, recorder, max_batch_seconds=1)
    for tick in range(5):
        s.step(1000.0 + tick * 0.2)
        s.deliver(release()[0])
    assert recorder.requests == []
    s.step(1001.0)
    assert len(recorder.requests) == 1


def test_identical_events_count_once(tmp_path: Path) -> None:
    recorder = Recorder()
    s = Setup(tmp_path, recorder)
    s.deliver(push(f"{HOST}/app:v1", digest("1")))
    s.deliver(push(f"{HOST}/app:v1", digest("1")))
    s.deliver(push(f"{HOST}/app:v1", digest("2")))
    s.step(1001.0)
    [request] = recorder.requests
    assert [e.digest for e in request.plan.events] == [digest("1"), digest("2")]
    assert len(request.payloads) == 3


def test_a_plan_without_actions_is_nothing_to_do(tmp_path: Path) -> None:
    recorder = Recorder()
    s = Setup(tmp_path, recorder)
    s.deliver(push(f"{HOST}/other:v1", digest("1")))
    s.step(1001.0)
    assert recorder.requests == []
    [dispatch] = s.dispatches()
    assert dispatch["status"] == "nothing"
    assert dispatch["detail"].startswith("nothing to do (1 event(s), 0 action(s)")


def test_retries_back_off_then_fail_when_the_budget_is_spent(tmp_path: Path) -> None:
    recorder = Recorder(DispatchOutcome(Status.RETRY, "503 Service Unavailable"))
    s = Setup(tmp_path, recorder, dispatch_retry_seconds=10)
    s.deliver(*release())
    s.step(1001.0)  # closes the batch at 1001.0 and makes the first attempt
    waits = []
    for _ in range(4):
        [dispatch] = s.store.pending()
        waits.append(round(dispatch.next_attempt_at - s.clock.now, 3))
        s.step(dispatch.next_attempt_at)
    assert waits == [1.0, 2.0, 4.0, 3.0]  # the last one ends at the budget
    [row] = s.dispatches()
    assert row["status"] == "failed" and row["attempts"] == 5
    assert row["detail"] == "gave up after 5 attempt(s) in 10s: 503 Service Unavailable"
    assert len(recorder.requests) == 5
    assert all(r.plan.created_at == recorder.requests[0].plan.created_at for r in recorder.requests)


def test_backoff_doubles_to_a_minute_and_honours_retry_after() -> None:
    assert [backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(1, retry_after=30) == 30
    assert backoff(7, retry_after=5) == 60


def test_a_refusal_fails_at_once(tmp_path: Path) -> None:
    recorder = Recorder(DispatchOutcome(Status.FAILED, "422: workflow has no input payload"))
    s = Setup(tmp_path, recorder)
    s.deliver(*release())
    s.step(1001.0)
    [dispatch] = s.dispatches()
    assert (dispatch["status"], dispatch["detail"]) == (
        "failed",
        "422: workflow has no input payload",
    )
    assert s.store.pending() == []


def test_a_dispatcher_that_raises_is_retried(tmp_path: Path) -> None:
    class Broken:
        def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
            raise RuntimeError("bug")

    s = Setup(tmp_path, Recorder())
    s.worker.dispatchers = {"int": Broken()}
    s.deliver(*release())
    s.step(1001.0)
    [dispatch] = s.store.pending()
    assert dispatch.detail == "RuntimeError: bug" and dispatch.attempts == 1


def test_planning_failures_are_retried(tmp_path: Path) -> None:
    recorder = Recorder()
    s = Setup(tmp_path, recorder)
    (tmp_path / "inventory.json").rename(tmp_path / "moved.json")
    s.deliver(*release())
    s.step(1001.0)
    [dispatch] = s.store.pending()
    assert dispatch.detail is not None and dispatch.detail.startswith("planning failed: ")
    assert "no such file" in dispatch.detail
    (tmp_path / "moved.json").rename(tmp_path / "inventory.json")
    s.step(dispatch.next_attempt_at)
    assert len(recorder.requests) == 1 and s.store.pending() == []


def test_a_stored_plan_is_sent_again_not_made_again(tmp_path: Path) -> None:
    """An attempt cut short (a crash after planning) resends the plan it had made."""
    recorder = Recorder(
        DispatchOutcome(Status.RETRY, "connection refused"), DispatchOutcome(Status.DONE, "ok")
    )
    calls: list[int] = []

    def planner(
        env: EnvironmentConfig, mode: plans.Mode, events: Iterable[PushEvent], now: datetime
    ) -> plans.Plan:
        from cdhelper.inbox.planning import make_plan

        calls.append(1)
        return make_plan(env, mode, events, now)

    s = Setup(tmp_path, recorder, planner)
    s.deliver(*release())
    s.step(1001.0)
    [dispatch] = s.store.pending()
    s.step(dispatch.next_attempt_at + 5)
    assert len(calls) == 1 and len(recorder.requests) == 2
    assert recorder.requests[0].plan == recorder.requests[1].plan


def test_smart_every_queues_smart_batches(tmp_path: Path) -> None:
    recorder = Recorder()
    seen: list[plans.Mode] = []

    def planner(
        env: EnvironmentConfig, mode: plans.Mode, events: Iterable[PushEvent], now: datetime
    ) -> plans.Plan:
        seen.append(mode)
        from cdhelper.inbox.planning import make_plan

        return make_plan(env, plans.Mode.WEBHOOK, release(), now)  # no registry here

    env = {
        "name": "int",
        "services": {"file": "inventory.json"},
        "smart_every": "10s",
        "dispatch": {"type": "plans", "dir": "plans"},
    }
    s = Setup(tmp_path, recorder, planner, environments=[env])
    assert s.step(1005.0) == pytest.approx(5.0)
    s.step(1010.0)
    assert seen == [plans.Mode.SMART]
    [request] = recorder.requests
    assert request.mode is Mode.SMART and request.payloads == ()
    assert s.step(1015.0) == pytest.approx(5.0)
    s.step(1020.0)
    assert len(recorder.requests) == 2


def test_an_environment_no_longer_configured_fails_its_dispatches(tmp_path: Path) -> None:
    s = Setup(tmp_path, Recorder())
    s.store.smart_batch("gone", "plans", 1000.0, "request")
    s.step(1000.0)
    [dispatch] = s.dispatches()
    assert (dispatch["status"], dispatch["detail"]) == (
        "failed",
        "the environment is no longer configured",
    )


def test_the_worker_thread_runs_and_stops(tmp_path: Path) -> None:
    recorder = Recorder()
    config = configuration.load(str(write_config(tmp_path)), ENVIRON)
    store = Store(config.database)
    worker = Worker(config, store, {"int": recorder}, Metrics())
    worker.start()
    import time

    store.accept("reg", time.time(), None, b"{}", release(), "accepted", None, 5)
    worker.notify()
    deadline = time.monotonic() + 10
    while not recorder.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    assert len(recorder.requests) == 1


def test_plan_loads_needs_a_valid_plan() -> None:
    with pytest.raises(InputError):
        plans.loads("{}", "x")
    assert Target("swarmpit", None).kind == "swarmpit"


def test_an_internal_error_is_retried_within_the_budget(tmp_path: Path) -> None:
    def broken(*args: Any) -> plans.Plan:
        raise KeyError("bug")

    s = Setup(tmp_path, Recorder(), broken, dispatch_retry_seconds=2)
    s.deliver(*release())
    s.step(1001.0)
    [dispatch] = s.store.pending()
    assert dispatch.detail == "internal error: KeyError: 'bug'"
    s.step(dispatch.next_attempt_at)
    s.step(1003.0)
    [row] = s.dispatches()
    assert row["status"] == "failed" and row["detail"].startswith("gave up after 3 attempt(s)")
