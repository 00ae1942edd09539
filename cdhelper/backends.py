"""The one small interface every deploy backend (Swarmpit, Docker Engine) implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cdhelper.inventory import Inventory, Target
from cdhelper.plan import Action


class Backend(Protocol):
    """Reads the live services of one target and redeploys one of them at a time."""

    @property
    def target(self) -> Target: ...

    def inventory(self) -> Inventory:
        """The services running now."""
        ...

    def redeploy(self, action: Action) -> str:
        """Start the redeploy of one planned action; a short message on success.

        Raises :class:`~cdhelper.errors.CdhelperError` when the backend refuses or fails.
        """
        ...


@runtime_checkable
class Waiter(Protocol):
    """A backend that can wait for a started redeploy to converge (the Docker Engine)."""

    def wait(self, action: Action, deadline: float) -> str:
        """Block until done; a message, or raise CdhelperError on failure or the deadline."""
        ...
