"""The inbox's background work: close batches, plan per environment, dispatch, retry.

One thread keeps time: it closes a batch ``coalesce_seconds`` after its last delivery or
``max_batch_seconds`` after its first, queues one dispatch per environment, starts periodic
smart batches (``smart_every``), and hands each environment's oldest pending dispatch to a
thread pool, one at a time per environment (so an environment's plans go out in order).
Everything it decides is in the store first, so a restarted inbox carries on where the
last one stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime

from cdhelper import plan as plans
from cdhelper.errors import CdhelperError
from cdhelper.events import PushEvent
from cdhelper.inbox import log, planning
from cdhelper.inbox.config import Config, EnvironmentConfig
from cdhelper.inbox.dispatchers.base import (
    Dispatcher,
    DispatchOutcome,
    DispatchRequest,
    Mode,
    Status,
)
from cdhelper.inbox.metrics import Metrics
from cdhelper.inbox.records import DONE, FAILED, NOTHING, Dispatch
from cdhelper.inbox.store import Store

FIRST_RETRY = 1.0
MAX_RETRY = 60.0
IDLE = 60.0  # look around at least this often
PRUNE_EVERY = 3600.0

Planner = Callable[[EnvironmentConfig, plans.Mode, Iterable[PushEvent], datetime], plans.Plan]


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """About a second after the first failure, doubling, capped at a minute (or Retry-After)."""
    delay: float = min(MAX_RETRY, FIRST_RETRY * 2.0 ** max(0, attempts - 1))
    return max(delay, retry_after) if retry_after else delay


class Worker:
    def __init__(
        self,
        config: Config,
        store: Store,
        dispatchers: Mapping[str, Dispatcher],
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
        planner: Planner = planning.make_plan,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.dispatchers = dispatchers
        self.metrics = metrics
        self.clock = clock
        self.planner = planner
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._pool = executor or ThreadPoolExecutor(
            max_workers=max(1, len(config.environments)), thread_name_prefix="dispatch"
        )
        self._thread = threading.Thread(target=self._run, name="inbox-worker", daemon=True)
        self._started = clock()
        self._pruned = 0.0
        # environments to plan again (smart) when what a minimum age held back is old enough;
        # in memory: after a restart, smart_every (or POST /smart) catches up
        self._recheck: dict[str, float] = {}

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.step(self.clock())
            except Exception as exc:  # the worker must outlive any one fault
                log.emit("error", where="worker", error=f"{type(exc).__name__}: {exc}")
                delay = FIRST_RETRY
            self._wake.wait(delay)
            self._wake.clear()

    def step(self, now: float) -> float:
        """Do what is due at ``now``; the seconds until something else will be."""
        waits = [IDLE]
        waits += self._close_batches(now)
        waits += self._schedule_smart(now)
        waits += self._start_dispatches(now)
        if now - self._pruned >= PRUNE_EVERY:
            self.store.prune(now)
            self._pruned = now
        return max(0.01, min(waits))

    def _close_batches(self, now: float) -> list[float]:
        waits = []
        targets = [(env.name, env.dispatch_type) for env in self.config.environments]
        for batch in self.store.open_batches():
            due = min(
                batch.last_at + self.config.coalesce_seconds,
                batch.first_at + self.config.max_batch_seconds,
            )
            if due > now:
                waits.append(due - now)
            elif self.store.close_batch(batch.id, targets, now):
                log.emit("batch", batch=batch.id, status="closed", environments=len(targets))
        return waits

    def _schedule_smart(self, now: float) -> list[float]:
        waits = self._schedule_rechecks(now)
        for env in self.config.environments:
            if env.smart_every is None:
                continue
            due = (self.store.last_smart(env.name) or self._started) + env.smart_every
            if due > now:
                waits.append(due - now)
                continue
            batch = self.store.smart_batch(env.name, env.dispatch_type, now, "schedule")
            log.emit("batch", batch=batch, status="closed", mode="smart", environment=env.name)
            waits.append(env.smart_every)
        return waits

    def _schedule_rechecks(self, now: float) -> list[float]:
        waits = []
        for env in self.config.environments:
            due = self._recheck.get(env.name)
            if due is None:
                continue
            if due > now:
                waits.append(due - now)
                continue
            del self._recheck[env.name]
            batch = self.store.smart_batch(env.name, env.dispatch_type, now, "min-age")
            log.emit("batch", batch=batch, status="closed", mode="smart", environment=env.name)
        return waits

    def _hold_back(self, environment: str, made: plans.Plan) -> None:
        """Plan the environment again once what its minimum age skipped is old enough."""
        eligible = [s.eligible_at.timestamp() for s in made.skipped if s.eligible_at]
        if eligible:
            due = min(eligible)
            self._recheck[environment] = min(self._recheck.get(environment, due), due)
            self.notify()

    def _start_dispatches(self, now: float) -> list[float]:
        waits = []
        for dispatch in self.store.pending():
            with self._busy_lock:
                if dispatch.environment in self._busy:
                    continue
                if dispatch.next_attempt_at > now:
                    waits.append(dispatch.next_attempt_at - now)
                    continue
                self._busy.add(dispatch.environment)
            self._pool.submit(self._attempt_guarded, dispatch)
        return waits

    def _attempt_guarded(self, dispatch: Dispatch) -> None:
        try:
            self.attempt(dispatch)
        except Exception as exc:  # a bug must not wedge the environment
            log.emit(
                "error",
                where="dispatch",
                dispatch=dispatch.id,
                error=f"{type(exc).__name__}: {exc}",
            )
            attempts = self.store.dispatch(dispatch.id).attempts
            failure = DispatchOutcome(Status.RETRY, f"internal error: {type(exc).__name__}: {exc}")
            self._retry(dispatch, attempts, failure)  # within the budget, like any failure
        finally:
            with self._busy_lock:
                self._busy.discard(dispatch.environment)
            self.notify()

    def attempt(self, dispatch: Dispatch) -> None:
        """One attempt at one dispatch: plan it (once), hand it on, record what happened."""
        env = self.config.environment(dispatch.environment)
        if env is None or env.name not in self.dispatchers:
            self._finish(dispatch, FAILED, "the environment is no longer configured")
            return
        batch = self.store.batch(dispatch.batch_id)
        mode = Mode(batch.mode)
        attempts = self.store.start_attempt(dispatch.id, self.clock())
        if dispatch.plan is None:
            try:
                made = self.planner(
                    env,
                    plans.Mode(batch.mode),
                    self.store.batch_events(batch.id),
                    datetime.fromtimestamp(self.clock(), UTC),
                )
            except CdhelperError as exc:
                self._retry(
                    dispatch, attempts, DispatchOutcome(Status.RETRY, f"planning failed: {exc}")
                )
                return
            self._hold_back(env.name, made)
            if not made.has_changes:
                summary = f"nothing to do ({_plan_summary(made)})"
                self._finish(dispatch, NOTHING, summary, attempts=attempts)
                return
            self.store.save_plan(dispatch.id, plans.dumps(made))
        else:
            made = plans.loads(dispatch.plan, f"dispatch {dispatch.id}")
        request = DispatchRequest(
            environment=env.name,
            mode=mode,
            batch_id=str(batch.id),
            payloads=self.store.batch_payloads(batch.id) if mode is Mode.WEBHOOK else (),
            plan=made,
        )
        try:
            outcome = self.dispatchers[env.name].dispatch(request)
        except Exception as exc:  # a dispatcher must not raise; if it does, retry
            outcome = DispatchOutcome(Status.RETRY, f"{type(exc).__name__}: {exc}")
        if outcome.status is Status.DONE:
            self._finish(dispatch, DONE, outcome.detail, outcome.record, attempts)
        elif outcome.status is Status.FAILED:
            self._finish(dispatch, FAILED, outcome.detail, outcome.record, attempts)
        else:
            self._retry(dispatch, attempts, outcome)

    def _retry(self, dispatch: Dispatch, attempts: int, outcome: DispatchOutcome) -> None:
        now = self.clock()
        if outcome.not_before is not None and outcome.not_before > now:
            # outside a deploy window: wait for it, whatever the retry budget says
            self.store.retry_at(dispatch.id, outcome.not_before, outcome.detail)
            _log_dispatch(
                dispatch,
                attempts,
                "waiting",
                outcome.detail,
                retry_in=round(outcome.not_before - now, 3),
            )
            return
        deadline = dispatch.created_at + self.config.dispatch_retry_seconds
        if now >= deadline:
            waited = round(now - dispatch.created_at)
            detail = f"gave up after {attempts} attempt(s) in {waited}s: {outcome.detail}"
            self._finish(dispatch, FAILED, detail, outcome.record, attempts)
            return
        when = min(now + backoff(attempts, outcome.retry_after), deadline)
        self.store.retry_at(dispatch.id, when, outcome.detail)
        self.metrics.dispatches.labels(dispatch.environment, dispatch.type, "retry").inc()
        _log_dispatch(dispatch, attempts, "retry", outcome.detail, retry_in=round(when - now, 3))

    def _finish(
        self,
        dispatch: Dispatch,
        status: str,
        detail: str,
        record: object = None,
        attempts: int | None = None,
    ) -> None:
        self.store.finish(dispatch.id, status, detail, self.clock(), record)
        self.metrics.dispatches.labels(dispatch.environment, dispatch.type, status).inc()
        _log_dispatch(dispatch, attempts, status, detail)


def _log_dispatch(
    dispatch: Dispatch, attempts: int | None, outcome: str, detail: str, **more: float
) -> None:
    """The one JSON log line of a dispatch attempt."""
    log.emit(
        "dispatch",
        dispatch=dispatch.id,
        batch=dispatch.batch_id,
        environment=dispatch.environment,
        type=dispatch.type,
        attempt=attempts,
        outcome=outcome,
        **more,
        detail=detail,
    )


def _plan_summary(made: plans.Plan) -> str:
    return (
        f"{len(made.events)} event(s), {len(made.actions)} action(s), {len(made.skipped)} skipped"
    )
