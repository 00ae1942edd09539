"""Deploy backends: where services live, and which one a command talks to.

Each backend is one module in this package; :data:`BACKENDS` lists them, and that list is
the only place that names them all. A command names a live backend by its option
(``--swarmpit-url``, ``--docker-host``) or, failing that, by the one environment variable
that is set; a plan is applied to the target it records, an option only filling a gap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdhelper import bulk, documents
from cdhelper.backends import docker_engine, swarmpit
from cdhelper.backends.base import (
    Backend,
    BackendType,
    NodeReader,
    Observation,
    Rollouts,
    Task,
)
from cdhelper.errors import ConfigError, InputError, UsageError
from cdhelper.inventory import Inventory, Service, Target, from_snapshot
from cdhelper.plan import Action
from cdhelper.reference import ImageRef

BACKENDS: tuple[BackendType, ...] = (
    swarmpit.BACKEND,
    docker_engine.BACKEND,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendType",
    "NodeReader",
    "Observation",
    "Rollouts",
    "Source",
    "Task",
]

# What each backend's option was given: {kind: address or None}.
Addresses = Mapping[str, str | None]


def by_kind(kind: str) -> BackendType:
    for backend in BACKENDS:
        if backend.kind == kind:
            return backend
    raise InputError(f"unknown target kind {kind!r}")


# Which services a reader is asked for, by image (all when None). A hint: a reader may
# give more (a large inventory file builds only these; every record is checked all the same).
Wanted = Callable[[ImageRef], bool] | None


def load_inventory(path: str, wanted: Wanted = None) -> Inventory:
    """An inventory file: a backend's service list (read record by record), or a snapshot."""
    where = documents.display_name(path)
    data = documents.read_bytes(path)
    records = bulk.elements(data) if len(data) >= bulk.WORTH_IT else None
    if records is not None:
        loaded = _load_records(records, where, wanted)
        if loaded is not None:
            return loaded
    return parse_inventory(documents.parse_json(documents.decode(data, where), where), where)


def _load_records(records: list[Any], where: str, wanted: Wanted) -> Inventory | None:
    """A service list read record by record; None: read it whole (see :mod:`cdhelper.bulk`)."""
    sample = [bulk.first(records)] if records else []
    backend = next((b for b in BACKENDS if b.detect_inventory(sample)), None)
    if backend is None:
        return None
    record, image_of = backend.inventory_record, backend.inventory_image

    def admits(fields: Any) -> bool:
        # a reference refused raises here: the whole read then says where it is
        image = image_of(fields)
        return image is not None and wanted is not None and wanted(ImageRef.pinned(*image))

    services = bulk.load(
        records,
        backend.inventory_schema,
        lambda index, raw, again: record(index, raw, again, where),
        backend.inventory_fields,
        None if wanted is None else bulk.Keep(admits, backend.inventory_image_fields),
    )
    return None if services is None else Inventory(Target(backend.kind), tuple(services))


def parse_inventory(data: Any, where: str, url: str | None = None) -> Inventory:
    """Detect the inventory's kind (a backend's raw list, or a snapshot) and normalise it."""
    if isinstance(data, dict) and "format" in data:
        return from_snapshot(data, where)
    for backend in BACKENDS:
        if backend.detect_inventory(data):
            return backend.parse_inventory(data, where, url)
    lists = " or ".join(f"the {b.title} service list" for b in BACKENDS)
    raise InputError(
        f"{where}: $: unknown inventory: expected {lists} (a JSON array), "
        "or a cdhelper inventory snapshot object"
    )


@dataclass(frozen=True)
class Source:
    """Where ``inventory`` and ``plan`` read the services from: a file or a live backend."""

    inventory_file: str | None = None
    backend: Backend | None = None

    def read(self, wanted: Wanted = None) -> Inventory:
        """The services (or at least those ``wanted`` admits: see :data:`Wanted`)."""
        if self.backend is not None:
            return self.backend.inventory()
        assert self.inventory_file is not None
        return load_inventory(self.inventory_file, wanted)


@dataclass(frozen=True)
class InventoryFile:
    """The services of an inventory file standing in for a live target (``apply --dry-run
    --inventory FILE``): a plan is checked against them offline; nothing is redeployed."""

    services: Inventory

    @property
    def target(self) -> Target:
        return self.services.target

    def inventory(self) -> Inventory:
        return self.services

    def service(self, service_id: str) -> Service | None:
        return self.services.by_id().get(service_id)

    def redeploy(self, action: Action) -> str:
        raise ConfigError(f"{action.service}: an inventory file cannot be redeployed")

    def check_target(self, planned: Target) -> None:
        """The file must list services of the plan's kind, and of its target if it says so."""
        recorded = self.services.target
        if recorded.kind != planned.kind:
            raise ConfigError(
                f"the plan is for {by_kind(planned.kind).noun}, but the inventory file lists "
                f"{by_kind(recorded.kind).title} services"
            )
        for field, planned_value, recorded_value in (
            ("target", planned.url, recorded.url),
            ("Swarm cluster", planned.cluster, recorded.cluster),
        ):
            if planned_value and recorded_value and planned_value != recorded_value:
                raise ConfigError(
                    f"the plan is for the {field} {planned_value}, but the inventory file "
                    f"is a snapshot of {recorded_value}"
                )


def inventory_file(path: str, planned: Target) -> Backend:
    """An inventory file as the target of a dry run: any kind ``plan --inventory`` reads."""
    loaded = InventoryFile(load_inventory(path))
    loaded.check_target(planned)
    # what a snapshot records is where it was taken, not what is checked now: a file
    return InventoryFile(Inventory(Target(planned.kind), loaded.services.services))


def _options() -> str:
    return " or ".join(f"{b.option} {b.address_help}" for b in BACKENDS)


def _variables() -> str:
    return " or ".join(b.address_env for b in BACKENDS)


def live_source(addresses: Addresses, environ: Mapping[str, str] = os.environ) -> Backend | None:
    """The backend named by an option, else by the one default the environment sets."""
    given = [(b, addresses[b.kind]) for b in BACKENDS if addresses.get(b.kind)]
    if len(given) > 1:
        raise UsageError(f"give either {' or '.join(b.option for b, _ in given)}, not both")
    if given:
        backend, address = given[0]
        assert address is not None
        return backend.connect(address, environ)
    from_env = [(b, environ[b.address_env]) for b in BACKENDS if environ.get(b.address_env)]
    if len(from_env) > 1:
        names = " and ".join(b.address_env for b, _ in from_env)
        choose = " or ".join(b.option for b, _ in from_env)
        raise UsageError(f"both {names} are set: choose with {choose}")
    if from_env:
        backend, address = from_env[0]
        return backend.connect(address, environ)
    return None


def source(
    inventory_file: str | None, addresses: Addresses, environ: Mapping[str, str] = os.environ
) -> Source:
    if inventory_file and any(addresses.values()):
        live = ", ".join(b.option for b in BACKENDS)
        raise UsageError(f"give either --inventory or a live target ({live})")
    if inventory_file:
        return Source(inventory_file=inventory_file)
    backend = live_source(addresses, environ)
    if backend is None:
        raise UsageError(
            "no services to plan against: give --inventory FILE, "
            f"{_options().replace(' or ', ', ')} (or set {_variables()})"
        )
    return Source(backend=backend)


def apply_backend(
    planned: Target, addresses: Addresses, environ: Mapping[str, str] = os.environ
) -> Backend:
    """The backend a plan is applied to: the target it records; an option may only fill a gap."""
    kind = by_kind(planned.kind)
    for other in BACKENDS:
        if other is not kind and addresses.get(other.kind):
            raise ConfigError(
                f"refusing to apply: the plan was made for {kind.noun}, not {other.noun}"
            )
    address = addresses.get(kind.kind) or planned.url
    if address is None:
        raise ConfigError(
            f"the plan was computed from an inventory file and names no {kind.title}: "
            f"give {kind.option} {kind.address_help} "
            "(the plan is checked against its live services first)"
        )
    backend = kind.connect(address, environ)
    backend.check_target(planned)
    return backend
