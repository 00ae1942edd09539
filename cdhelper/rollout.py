"""A health-gated rollout (``apply --wait``): update, watch, and undo what fails.

Actions run in plan order, ``parallel`` at a time. Each update is watched
(:mod:`cdhelper.watch`) until its new tasks have run healthy for the monitor period. A
failed one is rolled back (``--on-failure rollback``: the Engine's ``rollback=previous``,
or Swarmpit's rollback endpoint), or left as Swarm left it (``pause``, ``continue``). After
a failure no further action starts, unless ``--keep-going`` (or ``continue``): they are
``not-applied``, saying why. Actions already started finish and are reported.

The service's own ``UpdateConfig`` (parallelism, delay, order, monitor, failure action)
is never rewritten: cdhelper only watches what Swarm does with it.
"""

from __future__ import annotations

import contextvars
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from cdhelper import watch as watching
from cdhelper.backends.base import Backend, Observation, RolloutBackend
from cdhelper.errors import CdhelperError
from cdhelper.inventory import Service
from cdhelper.outcomes import (
    FAILURES,
    ActionResult,
    Interrupted,
    OnFailure,
    Outcome,
    Progress,
    Rollout,
    bug,
    not_applied_when_interrupted,
    unknown_when_interrupted,
)
from cdhelper.plan import Action
from cdhelper.reference import short_digest

Redeploy = Callable[[Backend, Action], ActionResult]


SIGNAL_CHECK = 0.2  # seconds between the rollout loop's looks at pending signals


def run(
    checked: Sequence[ActionResult],
    backend: RolloutBackend,
    options: Rollout,
    progress: Progress,
    redeploy: Redeploy,
) -> list[ActionResult]:
    """Each checked action's outcome, in plan order; those to redeploy are rolled out."""
    results: list[ActionResult | None] = [
        None if r.outcome is Outcome.WOULD_REDEPLOY else r for r in checked
    ]
    queue = deque(i for i, r in enumerate(checked) if r.outcome is Outcome.WOULD_REDEPLOY)
    keep_going = options.keep_going or options.on_failure is OnFailure.CONTINUE
    first_failure: ActionResult | None = None
    pool = ThreadPoolExecutor(max_workers=options.parallel)
    running: dict[Future[ActionResult], int] = {}
    submitted: dict[Future[ActionResult], int] = {}  # every step handed over, kept
    starting: int | None = None  # the action being handed to the pool
    interrupted = False
    try:
        while queue or running:
            while queue and len(running) < options.parallel and first_failure is None:
                starting = queue[0]
                queue.popleft()
                action = checked[starting].action
                # Each worker runs under a copy of this context: the command's deadline.
                context = contextvars.copy_context()
                step = _Step(backend, action, options, progress, redeploy)
                future = pool.submit(context.run, step.run)
                submitted[future] = running[future] = starting
                starting = None
            if not running:
                break
            # in short waits: a signal (Ctrl-C, SIGTERM) another thread received is
            # handled here at the next one, not once a step ends
            done, _ = wait(running, timeout=SIGNAL_CHECK, return_when=FIRST_COMPLETED)
            for future in done:
                index = running[future]
                result = future.result()
                results[index] = result
                del running[future]
                if result.outcome in FAILURES and first_failure is None and not keep_going:
                    first_failure = result
        for index in queue:
            results[index] = _not_applied(checked[index].action, first_failure)
        return [r for r in results if r is not None]
    except KeyboardInterrupt as stop:
        interrupted = True
        raise _stopped(pool, backend, checked, results, submitted, starting, queue, stop) from None
    finally:
        if not interrupted:  # whatever else ends the rollout, its steps end first
            try:
                pool.shutdown(wait=True)
            except KeyboardInterrupt as stop:  # stopped while waiting for them
                stopped = _stopped(pool, backend, checked, results, submitted, None, queue, stop)
                raise stopped from None


def _stopped(
    pool: ThreadPoolExecutor,
    backend: Backend,
    checked: Sequence[ActionResult],
    results: Sequence[ActionResult | None],
    submitted: dict[Future[ActionResult], int],
    starting: int | None,
    queue: Sequence[int],
    stop: KeyboardInterrupt,
) -> Interrupted:
    """Stopped (Ctrl-C, SIGTERM): no new step starts, the steps under way are not waited
    for (a worker cannot be stopped: the command ends without them). Every action's
    outcome: a step's own if it ended, unknown if it was under way (or being handed
    over), not applied if it never started."""
    pool.shutdown(wait=False, cancel_futures=True)
    final = list(results)
    doing = "it was rolled out (its health not watched to the end)"
    for future, index in submitted.items():
        if final[index] is not None:
            continue
        action = checked[index].action
        if future.cancel() or future.cancelled():  # it had not started: now it never will
            final[index] = not_applied_when_interrupted(action, stop)
        elif future.done() and future.exception() is None:
            final[index] = future.result()
        else:
            final[index] = unknown_when_interrupted(action, stop, doing)
    if starting is not None and final[starting] is None:
        final[starting] = unknown_when_interrupted(checked[starting].action, stop, doing)
    for index in queue:
        if final[index] is None:
            final[index] = not_applied_when_interrupted(checked[index].action, stop)
    abandoned = starting is not None or not all(f.done() for f in submitted)
    so_far = tuple(r for r in final if r is not None)
    return Interrupted(backend.target, so_far, stop, abandoned=abandoned)


def _not_applied(action: Action, failure: ActionResult | None) -> ActionResult:
    what = f"{failure.action.service} was {failure.outcome.value}" if failure else "stopped"
    return ActionResult(
        action,
        Outcome.NOT_APPLIED,
        f"not applied: the rollout stopped after a failure ({what}); "
        "--keep-going applies the rest anyway",
    )


def reread(backend: Backend, action: Action) -> Service | None:
    """The service as it is now, for the report; None when that cannot be said."""
    try:
        return backend.service(action.service.id)
    except Exception:  # the report says "unknown" rather than lose the outcome
        return None


@dataclass
class _Step:
    """One action of a rollout: re-check, redeploy, watch, and handle a failure."""

    backend: RolloutBackend
    action: Action
    options: Rollout
    progress: Progress
    redeploy: Redeploy

    def run(self) -> ActionResult:
        started = time.monotonic()
        try:
            result = self._run()
        except Exception as exc:  # a bug must not cost the other actions their outcome
            result = ActionResult(self.action, Outcome.UNKNOWN, f"{bug(exc)}: check the service")
        self._say(result.outcome.value)
        after = reread(self.backend, self.action) if result.outcome is not Outcome.STALE else None
        return replace(result, seconds=time.monotonic() - started, after=after, watched=True)

    def _run(self) -> ActionResult:
        self._say("redeploying")
        try:
            before = self.backend.observe(self.action.service.id)
        except CdhelperError as exc:
            return ActionResult(self.action, Outcome.FAILED, f"not redeployed: {exc}")
        if before is None:
            gone = "service no longer exists (just before its redeploy)"
            return ActionResult(self.action, Outcome.STALE, gone)
        sent = self.redeploy(self.backend, self.action)
        if sent.outcome is not Outcome.REDEPLOYED:
            return sent
        try:
            expected = self._observe().digest  # Swarmpit resolves the tag itself
            verdict = watching.watch(
                self.backend,
                self.action.service.id,
                before,
                expected,
                watching.Phase.UPDATE,
                self._how(self.options.monitor),
            )
        except CdhelperError as exc:
            return ActionResult(self.action, Outcome.FAILED, f"{sent.message}; then: {exc}")
        if verdict.failure is None:
            return ActionResult(
                self.action,
                Outcome.REDEPLOYED,
                f"healthy for {self.options.monitor:g} s: {verdict.summary}",
            )
        return self._failed(verdict)

    def _failed(self, verdict: watching.Verdict) -> ActionResult:
        reason = verdict.failure or "failed"
        self._say(f"failed: {reason}")
        errors = verdict.task_errors
        if verdict.timed_out:
            left = "not rolled back: no time left" if self._rolls_back else "left as it is"
            return ActionResult(
                self.action, Outcome.FAILED, f"{reason}; {left}", task_errors=errors
            )
        if not self._rolls_back:
            how = (
                "Swarm is rolling it back itself (its update failure action)"
                if verdict.rolled_back_by_swarm
                else "left as Swarm left it (--on-failure "
                f"{self.options.on_failure.value}): it may keep restarting on the new image"
            )
            return ActionResult(self.action, Outcome.FAILED, f"{reason}; {how}", task_errors=errors)
        try:
            rolled = self._roll_back(verdict.rolled_back_by_swarm)
        except CdhelperError as exc:
            rolled = watching.Verdict("", failure=str(exc))
        if rolled.failure is not None:
            return ActionResult(
                self.action,
                Outcome.FAILED,
                f"{reason}; the rollback failed: {rolled.failure}",
                task_errors=errors + rolled.task_errors,
            )
        return ActionResult(
            self.action,
            Outcome.ROLLED_BACK,
            f"{reason}; rolled back: {rolled.summary}",
            task_errors=errors,
        )

    @property
    def _rolls_back(self) -> bool:
        return self.options.on_failure is OnFailure.ROLLBACK

    def _roll_back(self, swarm_does_it: bool) -> watching.Verdict:
        """Back to the previous spec, and wait until its tasks run again.

        When Swarm rolls back by itself it clears ``PreviousSpec``, and asking again would
        fail: then cdhelper only watches Swarm's rollback.
        """
        before = self._observe()
        if before.update_state == "rollback_paused":
            message = before.update_message or ""
            return watching.Verdict("", failure=f"Swarm paused its own rollback ({message})")
        if not swarm_does_it and before.update_state not in watching.SWARM_ROLLBACK:
            self._say("rolling back")
            self.backend.rollback(self.action)
        else:
            self._say("Swarm is rolling it back; watching")
        expected = self._observe().digest
        verdict = watching.watch(
            self.backend,
            self.action.service.id,
            before,
            expected,
            watching.Phase.ROLLBACK,
            self._how(0),
        )
        if verdict.failure is None and expected != self.action.current_digest:
            was = short_digest(self.action.current_digest) if self.action.current_digest else "-"
            return replace(verdict, summary=f"{verdict.summary} (the plan saw {was})")
        return verdict

    def _observe(self) -> Observation:
        seen = self.backend.observe(self.action.service.id)
        if seen is None:
            raise CdhelperError("the service no longer exists")
        return seen

    def _how(self, monitor: float) -> watching.Watch:
        return watching.Watch(monitor=monitor, until=self.options.until, progress=self._say)

    def _say(self, state: str) -> None:
        self.progress(self.action.service, state)
