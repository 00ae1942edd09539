"""Apply exactly a reviewed plan: check it against the live services, then redeploy.

The whole plan is refused when any planned service is gone or changed since the plan
(unless it already runs the planned digest). A moved version index alone is Swarm's own
bookkeeping: the spec fingerprint tells the two apart. One failed redeploy does not stop
the others.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cdhelper.backends.base import Backend, Waiter
from cdhelper.errors import CdhelperError
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
    planned = _pinned(action.spec_image, action.current_digest)
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
    wait_timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyResult:
    """Check the whole plan, then redeploy; with ``wait_timeout``, wait for each to converge."""
    deadline = clock() + wait_timeout if wait_timeout is not None else None
    checked = check(plan, backend.inventory())
    if any(result.outcome is Outcome.STALE for result in checked):
        return ApplyResult(backend.target, Status.REFUSED, tuple(_refused(checked)))
    if dry_run:
        return ApplyResult(backend.target, Status.DRY_RUN, tuple(checked))
    results = [
        _redeploy(backend, r.action) if r.outcome is Outcome.WOULD_REDEPLOY else r for r in checked
    ]
    if deadline is not None and isinstance(backend, Waiter):
        results = [
            _wait(backend, r.action, deadline) if r.outcome is Outcome.REDEPLOYED else r
            for r in results
        ]
    failed = any(r.outcome is Outcome.FAILED for r in results)
    return ApplyResult(backend.target, Status.FAILED if failed else Status.APPLIED, tuple(results))


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
    return ActionResult(action, Outcome.REDEPLOYED, message)


def _redeploy(backend: Backend, action: Action) -> ActionResult:
    try:
        message = backend.redeploy(action)
    except CdhelperError as exc:
        return ActionResult(action, Outcome.FAILED, str(exc))
    return ActionResult(action, Outcome.REDEPLOYED, message)
