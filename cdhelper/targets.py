"""Which backend a command talks to, from its options, the environment and the plan."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cdhelper.backends import Backend
from cdhelper.errors import ConfigError, UsageError
from cdhelper.inventory import Inventory, Target, TargetKind, load_inventory
from cdhelper.swarmpit import URL_ENV, Swarmpit, normalise_url, token_from_env


@dataclass(frozen=True)
class Source:
    """Where ``inventory`` and ``plan`` read the services from: a file or a live backend."""

    inventory_file: str | None = None
    backend: Backend | None = None

    def read(self) -> Inventory:
        if self.backend is not None:
            return self.backend.inventory()
        assert self.inventory_file is not None
        return load_inventory(self.inventory_file)


def live_source(
    swarmpit_url: str | None, environ: Mapping[str, str] = os.environ
) -> Backend | None:
    """The live backend named by an option, else by the environment's default; None if neither."""
    url = swarmpit_url or environ.get(URL_ENV) or None
    if url is None:
        return None
    return Swarmpit(url, token_from_env(environ))


def source(
    inventory_file: str | None,
    swarmpit_url: str | None,
    environ: Mapping[str, str] = os.environ,
) -> Source:
    if inventory_file and swarmpit_url:
        raise UsageError("give either --inventory or --swarmpit-url, not both")
    if inventory_file:
        return Source(inventory_file=inventory_file)
    backend = live_source(swarmpit_url, environ)
    if backend is None:
        raise UsageError(
            f"no services to plan against: give --inventory FILE or --swarmpit-url URL "
            f"(or set {URL_ENV})"
        )
    return Source(backend=backend)


def apply_backend(
    planned: Target, swarmpit_url: str | None, environ: Mapping[str, str] = os.environ
) -> Backend:
    """The backend a plan is applied to: the target it records; an option may only fill a gap."""
    if planned.kind is not TargetKind.SWARMPIT:
        raise ConfigError(f"this cdhelper cannot apply plans for a {planned.kind.value} target")
    given = normalise_url(swarmpit_url) if swarmpit_url else None
    if planned.url and given and given != planned.url:
        raise ConfigError(
            f"refusing to apply: the plan was made for Swarmpit at {planned.url}, not {given}"
        )
    url = planned.url or given
    if url is None:
        raise ConfigError(
            "the plan was computed from an inventory file and names no Swarmpit: "
            "give --swarmpit-url URL (the plan is checked against its live services first)"
        )
    return Swarmpit(url, token_from_env(environ))
