"""What a deploy backend is: one small interface, and a descriptor of what it can do.

Adding a backend is one module in this folder that defines a :class:`BackendType` (its
inventory parser, the option and environment variable that name its address, its
capabilities) and a class implementing :class:`Backend`, plus its line in
:data:`cdhelper.backends.BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cdhelper.inventory import Inventory, Service, Target
from cdhelper.plan import Action
from cdhelper.values import Node


class Backend(Protocol):
    """Reads the live services of one target and redeploys one of them at a time."""

    @property
    def target(self) -> Target: ...

    def inventory(self) -> Inventory:
        """The services running now."""
        ...

    def service(self, service_id: str) -> Service | None:
        """One service as it runs now, read afresh; None when it no longer exists."""
        ...

    def redeploy(self, action: Action) -> str:
        """Start the redeploy of one planned action; a short message on success.

        Raises :class:`~cdhelper.errors.CdhelperError` when the backend refuses or fails,
        :class:`~cdhelper.errors.OutcomeUnknownError` when the request may have reached
        the backend but no answer says what it did.
        """
        ...

    def check_target(self, planned: Target) -> None:
        """Raise ConfigError unless this backend is the target a plan was made for."""
        ...


@dataclass(frozen=True)
class Task:
    """One Swarm task of a service, as a backend reports it."""

    id: str
    state: str  # Swarm's task state: new, pending, ..., starting, running, failed, ...
    desired: str  # its desired state: running, ready (waiting to start), shutdown
    digest: str | None  # the digest its image is pinned to
    error: str | None  # Swarm's Status.Err: "task: non-zero exit (3)", "unhealthy container"


@dataclass(frozen=True)
class Observation:
    """A service and its tasks, seen at one moment while an update or rollback runs."""

    digest: str | None  # what the service's spec pins now
    update_state: str | None  # Swarm's UpdateStatus.State; None when Swarm records none
    update_message: str | None
    tasks: tuple[Task, ...]
    update_started: str | None = None  # UpdateStatus.StartedAt, where the backend shows it


@runtime_checkable
class Rollouts(Protocol):
    """A backend that can watch a started update converge and roll a service back."""

    def observe(self, service_id: str) -> Observation | None:
        """The service's update status and tasks now; None when the service is gone."""
        ...

    def rollback(self, action: Action) -> str:
        """Ask for the service's previous spec back; a short message once it is asked.

        Raises :class:`~cdhelper.errors.CdhelperError` when the backend refuses.
        """
        ...


@runtime_checkable
class RolloutBackend(Backend, Rollouts, Protocol):
    """A backend that redeploys and watches: what ``apply --wait`` needs."""


@runtime_checkable
class NodeReader(Protocol):
    """A backend that knows the Swarm's nodes and their platforms (the Docker Engine)."""

    def nodes(self) -> tuple[Node, ...]: ...


@dataclass(frozen=True)
class BackendType:
    kind: str  # recorded as target.kind in plans and snapshots
    title: str  # "Swarmpit", "Docker Engine"
    noun: str  # in a sentence: "Swarmpit", "a Docker Engine"
    option: str  # the command-line option naming its address: "--swarmpit-url"
    address_env: str  # the environment variable naming it by default
    address_help: str  # what an address looks like, for messages
    deploys_exact_digest: bool  # True: plans must carry the digest it deploys
    can_wait: bool  # apply --wait is possible: the backend implements Rollouts
    detect_inventory: Callable[[Any], bool]  # its raw service list, by shape
    parse_inventory: Callable[[Any, str, str | None], Inventory]  # (data, where, address)
    # its service list read record by record (large files): the list's schema, and one
    # valid record -> a Service, or None to skip it: (index, record, re-read it, where)
    inventory_schema: str
    inventory_record: Callable[[int, Any, Callable[[], Any], str], Service | None]
    # what inventory_record reads of a record, as a msgspec type (see cdhelper.bulk.load)
    inventory_fields: Any
    # those fields -> the spec's image and pinned digest (None: the service runs no image);
    # and the part of them it reads, as a msgspec type
    inventory_image: Callable[[Any], tuple[str, str | None] | None]
    inventory_image_fields: Any
    connect: Callable[[str, Mapping[str, str]], Backend]  # (address, environment)
    # the secrets and settings it reads from the environment, for -h: (variables, what)
    environment: tuple[tuple[str, str], ...] = ()
