"""Apply exactly a reviewed plan: check it against the live services, then redeploy.

The whole plan is refused when any planned service is gone or changed since the plan
(unless it already runs the planned digest). A moved version index alone is Swarm's own
bookkeeping: the spec fingerprint tells the two apart. Each service is checked once more
right before it is redeployed. One failed redeploy does not stop the others; a redeploy
whose request may have reached the backend without a clear answer is ``unknown``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cdhelper.backends.base import Backend, Waiter
from cdhelper.errors import CdhelperError, OutcomeUnknownError
from cdhelper.inventory import Inventory, Service, Target
from cdhelper.plan import Action, Plan
from cdhelper.reference import short_digest


class Outcome(enum.Enum):
    REDEPLOYED = "redeployed"
    WOULD_REDEPLOY = "would-redeploy"
    ALREADY_DONE = "already-done"
    FAILED = "failed"
    STALE = "stale"
    NOT_APPLIED = "not-applied"
    UNKNOWN = "unknown"  # the request may have reached the backend, no answer says so


# Outcomes that make an apply fail (exit 1).
FAILURES = frozenset({Outcome.FAILED, Outcome.STALE, Outcome.UNKNOWN})
CHECK_IT = "check the service"


class Status(enum.Enum):
    APPLIED = "applied"
    DRY_RUN = "dry-run"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class ActionResult:
    action: Action
    outcome: Outcome
    message: str


@dataclass(frozen=True)
class ApplyResult:
    target: Target
    status: Status
    results: tuple[ActionResult, ...]

    @property
    def ok(self) -> bool:
        return self.status in (Status.APPLIED, Status.DRY_RUN)


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
    wait_until: float | None = None,
) -> ApplyResult:
    """Check the whole plan, then redeploy; with ``wait_until`` (a ``time.monotonic()``
    deadline), wait for each redeploy to converge.

    Once the plan passed its check, every action ends with an outcome, whatever the
    backend does: nothing an action meets stops the others.
    """
    checked = check(plan, backend.inventory())
    if any(result.outcome is Outcome.STALE for result in checked):
        return ApplyResult(backend.target, Status.REFUSED, tuple(_refused(checked)))
    if dry_run:
        return ApplyResult(backend.target, Status.DRY_RUN, tuple(checked))
    results = [
        _redeploy(backend, r.action) if r.outcome is Outcome.WOULD_REDEPLOY else r for r in checked
    ]
    if wait_until is not None and isinstance(backend, Waiter):
        results = [
            _wait(backend, r.action, wait_until) if r.outcome is Outcome.REDEPLOYED else r
            for r in results
        ]
    failed = any(r.outcome in FAILURES for r in results)
    return ApplyResult(backend.target, Status.FAILED if failed else Status.APPLIED, tuple(results))


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


def _wait(backend: Waiter, action: Action, deadline: float) -> ActionResult:
    try:
        message = backend.wait(action, deadline)
    except CdhelperError as exc:
        return ActionResult(action, Outcome.FAILED, str(exc))
    except Exception as exc:  # a bug must not cost the other actions their outcome
        return ActionResult(action, Outcome.FAILED, f"while waiting: {_bug(exc)}")
    return ActionResult(action, Outcome.REDEPLOYED, message)


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
        return ActionResult(action, Outcome.FAILED, f"not redeployed: {_bug(exc)}")
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
            action, Outcome.UNKNOWN, f"{_bug(exc)}; the request may have been sent: {CHECK_IT}"
        )
    return ActionResult(action, Outcome.REDEPLOYED, message)


def _bug(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"unexpected {type(exc).__name__}{': ' + text if text else ''} (a bug in cdhelper)"
