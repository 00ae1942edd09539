"""The one error hierarchy: every failure a user can cause or meet is one of these.

The CLI turns any :class:`CdhelperError` into exit code 1 and its message; anything else
escaping is a bug. Messages are redacted when they are built (a server may echo a token in
the body an error quotes), and again when they are printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cdhelper.redact import redact


class CdhelperError(Exception):
    """Base of every error cdhelper reports to its user (exit code 1)."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.problems = tuple(redact(problem) for problem in problems)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class InputError(CdhelperError):
    """A file or payload is malformed or fails its schema."""


class ConfigError(CdhelperError):
    """Options, environment or credentials are missing or contradict each other."""


class UsageError(ConfigError):
    """Options that cannot be combined, or a missing one: the CLI exits 2, like click does."""


class ApiError(CdhelperError):
    """A remote API (Swarmpit, a registry, the Docker Engine) failed or refused us."""

    def __init__(
        self, message: str, status: int | None = None, problems: Iterable[str] = ()
    ) -> None:
        super().__init__(message, problems)
        self.status = status


class StalePlanError(CdhelperError):
    """The live services no longer match the state the plan was computed from."""


class OutcomeUnknownError(ApiError):
    """A request that changes something was sent, but no clear answer came back.

    The server may have acted (a reset or timeout after sending): the action's outcome is
    unknown, not failed, and the user must look at the service.
    """


class DeadlineError(CdhelperError):
    """The command's overall time limit (``--timeout``) ran out.

    Not an :class:`ApiError`: code that turns one peer's failure into a warning (a registry
    that is down) must not turn "out of time" into a warning and carry on.
    """


class OutsideWindowError(CdhelperError):
    """``apply`` outside every deploy window: nothing was called; the message says when the
    next window opens. The inbox waits until then instead of counting it as a failure."""

    def __init__(self, message: str, next_open: datetime | None) -> None:
        super().__init__(message)
        self.next_open = next_open


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled pipeline job), raised in the command as Ctrl-C raises
    KeyboardInterrupt: an apply it stops still reports what it did."""
