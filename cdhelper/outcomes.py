"""What an apply yields: each action's outcome, and the options of a health-gated rollout.

Plain records shared by the applier, the rollout, the reports and the revert plans.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from cdhelper.errors import Terminated
from cdhelper.inventory import Service, Target
from cdhelper.plan import Action, ServiceId


class Outcome(enum.Enum):
    REDEPLOYED = "redeployed"
    WOULD_REDEPLOY = "would-redeploy"
    ALREADY_DONE = "already-done"
    ROLLED_BACK = "rolled-back"  # the update failed; the service runs its previous spec again
    FAILED = "failed"
    STALE = "stale"
    NOT_APPLIED = "not-applied"
    UNKNOWN = "unknown"  # the request may have reached the backend, no answer says so


# Outcomes after which the service may differ from the plan: re-read it for the report.
TOUCHED = frozenset({Outcome.REDEPLOYED, Outcome.ROLLED_BACK, Outcome.FAILED, Outcome.UNKNOWN})

# Outcomes that make an apply fail (exit 1), and stop a rollout unless --keep-going.
FAILURES = frozenset({Outcome.FAILED, Outcome.STALE, Outcome.UNKNOWN, Outcome.ROLLED_BACK})
CHECK_IT = "check the service"


class Status(enum.Enum):
    APPLIED = "applied"
    DRY_RUN = "dry-run"
    REFUSED = "refused"
    FAILED = "failed"


class OnFailure(enum.Enum):
    """What ``apply --wait`` does with a service whose update failed."""

    ROLLBACK = "rollback"  # back to its previous spec; the rest is not applied
    PAUSE = "pause"  # left as Swarm left it; the rest is not applied
    CONTINUE = "continue"  # left as Swarm left it; the rest goes on


@dataclass(frozen=True)
class Rollout:
    """``apply --wait``: how updates are watched, and what a failure does."""

    until: float  # time.monotonic() deadline of the whole apply
    monitor: float = 10.0  # seconds the new tasks must keep running once converged
    on_failure: OnFailure = OnFailure.ROLLBACK
    keep_going: bool = False  # start further actions after a failure
    parallel: int = 1


@dataclass(frozen=True)
class ActionResult:
    action: Action
    outcome: Outcome
    message: str
    seconds: float | None = None  # how long the action took, when it ran
    task_errors: tuple[str, ...] = ()  # errors of the new tasks seen while watching
    after: Service | None = None  # the service as re-read when the action ended
    watched: bool = False  # rolled out with --wait: its digests and time are measured

    @property
    def digest_before(self) -> str | None:
        return self.action.current_digest

    @property
    def digest_after(self) -> str | None:
        """What the service's spec pinned when the action ended (None: not known)."""
        if self.after is not None:
            return self.after.digest
        return self.action.target_digest if self.outcome is Outcome.ALREADY_DONE else None


@dataclass(frozen=True)
class ApplyResult:
    target: Target
    status: Status
    results: tuple[ActionResult, ...]

    @property
    def ok(self) -> bool:
        return self.status in (Status.APPLIED, Status.DRY_RUN)


Progress = Callable[[ServiceId, str], None]


class Interrupted(KeyboardInterrupt):
    """An apply stopped by Ctrl-C or SIGTERM, with every action's outcome so far: the one
    being redeployed may have been sent (unknown), those after it were not applied."""

    def __init__(
        self,
        target: Target,
        results: tuple[ActionResult, ...],
        cause: KeyboardInterrupt,
        *,
        abandoned: bool = False,
    ) -> None:
        super().__init__(interruption(cause))
        self.result = ApplyResult(target, Status.FAILED, results)
        self.terminated = isinstance(cause, Terminated)
        self.abandoned = abandoned  # steps still run in other threads: end without them


def interruption(cause: KeyboardInterrupt) -> str:
    """ "interrupted (SIGTERM)" or "interrupted (SIGINT)" (Ctrl-C, or a CI job's cancel)."""
    return f"interrupted ({'SIGTERM' if isinstance(cause, Terminated) else 'SIGINT'})"


def unknown_when_interrupted(action: Action, cause: KeyboardInterrupt, doing: str) -> ActionResult:
    """The action under way when ``cause`` stopped the apply: its request may have been sent."""
    message = f"{interruption(cause)} while {doing}: the request may have been sent: {CHECK_IT}"
    return ActionResult(action, Outcome.UNKNOWN, message)


def not_applied_when_interrupted(action: Action, cause: KeyboardInterrupt) -> ActionResult:
    return ActionResult(action, Outcome.NOT_APPLIED, f"not applied: {interruption(cause)}")


def bug(exc: Exception) -> str:
    """An unexpected exception, as an action's message: a bug, said so."""
    text = " ".join(str(exc).split())[:200]
    return f"unexpected {type(exc).__name__}{': ' + text if text else ''} (a bug in cdhelper)"
