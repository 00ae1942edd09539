"""Apply exactly a reviewed plan: check it against the live services, then redeploy.

The whole plan is refused when any planned service is gone or changed since the plan
(unless it already runs the planned digest). A moved version index alone is Swarm's own
bookkeeping: the spec fingerprint tells the two apart. Each service is checked once more
right before it is redeployed. A redeploy whose request may have reached the backend
without a clear answer is ``unknown``.

Without ``--wait`` every redeploy is started and one failure does not stop the others.
With it, :mod:`cdhelper.rollout` runs a health-gated rollout: each update watched until
healthy, a failed one rolled back (or left), and nothing more started after a failure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from cdhelper import rollout as rollouts
from cdhelper.backends.base import Backend, RolloutBackend
from cdhelper.errors import CdhelperError, ConfigError, OutcomeUnknownError
from cdhelper.inventory import Inventory, Service
from cdhelper.outcomes import (
    CHECK_IT,
    FAILURES,
    TOUCHED,
    ActionResult,
    ApplyResult,
    Interrupted,
    OnFailure,
    Outcome,
    Progress,
    Rollout,
    Status,
    bug,
    not_applied_when_interrupted,
    unknown_when_interrupted,
)
from cdhelper.plan import Action, Plan

__all__ = [
    "FAILURES",
    "ActionResult",
    "ApplyResult",
    "Interrupted",
    "OnFailure",
    "Outcome",
    "Progress",
    "Rollout",
    "Status",
    "apply",
    "check",
    "not_started",
]
from cdhelper.reference import short_digest


def check(plan: Plan, live: Inventory) -> list[ActionResult]:
    """Each action against the live services: to do, already done, or stale."""
    services = live.by_id()
    return [_check_one(action, services.get(action.service.id)) for action in plan.actions]


def _check_one(action: Action, service: Service | None) -> ActionResult:
    if service is None:
        return ActionResult(action, Outcome.STALE, "service no longer exists")
    if action.target_digest is not None and service.digest == action.target_digest:
        done = f"already runs {short_digest(action.target_digest)}"
        return ActionResult(action, Outcome.ALREADY_DONE, done)
    planned = _pinned(action.running_image, action.current_digest)
    running = _pinned(service.image, service.digest)
    if planned != running:
        return ActionResult(
            action, Outcome.STALE, f"image changed since the plan: {planned} -> {running}"
        )
    if service.fingerprint != action.fingerprint:
        return ActionResult(
            action,
            Outcome.STALE,
            f"spec changed since the plan (version {action.version} -> {service.version})",
        )
    return ActionResult(action, Outcome.WOULD_REDEPLOY, "matches the plan")


def _pinned(image: str, digest: str | None) -> str:
    return f"{image}@{digest}" if digest else image


def apply(
    plan: Plan,
    backend: Backend,
    *,
    dry_run: bool = False,
    rollout: Rollout | None = None,
    progress: Progress = lambda _service, _state: None,
    wait_until: float | None = None,
) -> ApplyResult:
    """Check the whole plan, then redeploy; with ``rollout`` (``--wait``), a health-gated
    rollout: in plan order, ``parallel`` at a time, each update watched until it is healthy
    for the monitor period, a failed one handled as ``on_failure`` says.

    Once the plan passed its check, every action ends with an outcome, whatever the
    backend does: nothing an action meets costs another its outcome.

    ``wait_until`` (a ``time.monotonic()`` deadline) is a rollout with the defaults, for
    callers that know no more (the inbox's apply dispatcher), on a backend that can watch.
    """
    if rollout is None and wait_until is not None and isinstance(backend, RolloutBackend):
        rollout = Rollout(until=wait_until)
    checked = check(plan, backend.inventory())
    if any(result.outcome is Outcome.STALE for result in checked):
        return ApplyResult(backend.target, Status.REFUSED, tuple(_refused(checked)))
    if dry_run:
        return ApplyResult(backend.target, Status.DRY_RUN, tuple(checked))
    if rollout is not None and not isinstance(backend, RolloutBackend):
        raise ConfigError("this backend cannot watch a rollout (--wait)")
    results: list[ActionResult] = []  # in plan order, as the actions end
    try:
        if rollout is None:
            for checked_one in checked:
                if checked_one.outcome is Outcome.WOULD_REDEPLOY:
                    results.append(_timed(checked_one.action, backend))
                else:
                    results.append(checked_one)
        else:
            assert isinstance(backend, RolloutBackend)
            results = rollouts.run(checked, backend, rollout, progress, _redeploy)
        failed = any(r.outcome in FAILURES for r in results)
        status = Status.FAILED if failed else Status.APPLIED
        return ApplyResult(backend.target, status, tuple(results))
    except Interrupted:
        raise
    except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM: what was done so far
        raise Interrupted(backend.target, _when_stopped(checked, results, stop), stop) from None


def _when_stopped(
    checked: Sequence[ActionResult], done: Sequence[ActionResult], stop: KeyboardInterrupt
) -> tuple[ActionResult, ...]:
    """Every action's outcome when a signal stopped the apply after ``done`` ended: the
    next one to redeploy may have been sent, those after it were not."""
    rest = []
    under_way = True
    for result in checked[len(done) :]:
        if result.outcome is not Outcome.WOULD_REDEPLOY:
            rest.append(result)
        elif under_way:
            rest.append(unknown_when_interrupted(result.action, stop, "it was redeployed"))
            under_way = False
        else:
            rest.append(not_applied_when_interrupted(result.action, stop))
    return (*done, *rest)


def not_started(plan: Plan, reason: str) -> ApplyResult:
    """The result of an apply that failed before touching anything: every action failed."""
    results = (ActionResult(a, Outcome.FAILED, f"not applied: {reason}") for a in plan.actions)
    return ApplyResult(plan.target, Status.FAILED, tuple(results))


def _refused(checked: Sequence[ActionResult]) -> list[ActionResult]:
    return [
        ActionResult(r.action, Outcome.NOT_APPLIED, "plan refused: not applied")
        if r.outcome is Outcome.WOULD_REDEPLOY
        else r
        for r in checked
    ]


def _timed(action: Action, backend: Backend) -> ActionResult:
    """Redeploy one action; record how long it took and the service as it is afterwards."""
    started = time.monotonic()
    result = _redeploy(backend, action)
    after = rollouts.reread(backend, result.action) if result.outcome in TOUCHED else None
    return replace(result, seconds=time.monotonic() - started, after=after)


def _redeploy(backend: Backend, action: Action) -> ActionResult:
    """Re-check the one service right before touching it, then redeploy it.

    The re-check closes the window between the plan's check and this action: another
    apply (from another machine, or one that held the lock before us) may have redeployed
    it meanwhile.
    """
    recheck = _recheck(backend, action)
    return _send(backend, action) if recheck.outcome is Outcome.WOULD_REDEPLOY else recheck


def _recheck(backend: Backend, action: Action) -> ActionResult:
    try:
        recheck = _check_one(action, backend.service(action.service.id))
    except CdhelperError as exc:
        return ActionResult(action, Outcome.FAILED, f"not redeployed: cannot re-check it: {exc}")
    except Exception as exc:  # a bug must not cost the other actions their outcome
        return ActionResult(action, Outcome.FAILED, f"not redeployed: {bug(exc)}")
    if recheck.outcome is Outcome.STALE:
        return replace(recheck, message=f"{recheck.message} (just before its redeploy)")
    return recheck


def _send(backend: Backend, action: Action) -> ActionResult:
    try:
        message = backend.redeploy(action)
    except OutcomeUnknownError as exc:
        return ActionResult(action, Outcome.UNKNOWN, f"{exc}: {CHECK_IT}")
    except CdhelperError as exc:
        return ActionResult(action, Outcome.FAILED, str(exc))
    except Exception as exc:  # after sending, or before? We cannot tell: unknown
        return ActionResult(
            action, Outcome.UNKNOWN, f"{bug(exc)}; the request may have been sent: {CHECK_IT}"
        )
    return ActionResult(action, Outcome.REDEPLOYED, message)
