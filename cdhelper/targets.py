"""Which backend a command talks to, from its options, the environment and the plan."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cdhelper.backends import Backend
from cdhelper.docker_engine import HOST_ENV, DockerEngine, check_host
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
    swarmpit_url: str | None,
    docker_host: str | None,
    environ: Mapping[str, str] = os.environ,
) -> Backend | None:
    """The backend named by an option, else by the one default the environment sets."""
    if swarmpit_url and docker_host:
        raise UsageError("give either --swarmpit-url or --docker-host, not both")
    if swarmpit_url:
        return Swarmpit(swarmpit_url, token_from_env(environ))
    if docker_host:
        return DockerEngine(check_host(docker_host))
    env_swarmpit, env_docker = environ.get(URL_ENV), environ.get(HOST_ENV)
    if env_swarmpit and env_docker:
        raise UsageError(
            f"both {URL_ENV} and {HOST_ENV} are set: choose with --swarmpit-url or --docker-host"
        )
    if env_swarmpit:
        return Swarmpit(env_swarmpit, token_from_env(environ))
    if env_docker:
        return DockerEngine(check_host(env_docker))
    return None


def source(
    inventory_file: str | None,
    swarmpit_url: str | None,
    docker_host: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Source:
    if inventory_file and (swarmpit_url or docker_host):
        raise UsageError("give either --inventory or a live target (--swarmpit-url, --docker-host)")
    if inventory_file:
        return Source(inventory_file=inventory_file)
    backend = live_source(swarmpit_url, docker_host, environ)
    if backend is None:
        raise UsageError(
            "no services to plan against: give --inventory FILE, --swarmpit-url URL or "
            f"--docker-host URL (or set {URL_ENV} or {HOST_ENV})"
        )
    return Source(backend=backend)


def apply_backend(
    planned: Target,
    swarmpit_url: str | None,
    docker_host: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Backend:
    """The backend a plan is applied to: the target it records; an option may only fill a gap."""
    if planned.kind is TargetKind.DOCKER:
        if swarmpit_url:
            raise ConfigError(
                "refusing to apply: the plan was made for a Docker Engine, not Swarmpit"
            )
        return _docker_for(planned, docker_host)
    if docker_host:
        raise ConfigError("refusing to apply: the plan was made for Swarmpit, not a Docker Engine")
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


def _docker_for(planned: Target, docker_host: str | None) -> DockerEngine:
    """Another address of the same cluster is fine; another cluster is refused."""
    host = docker_host or planned.url
    if host is None:
        raise ConfigError(
            "the plan was computed from an inventory file and names no Docker Engine: "
            "give --docker-host URL (the plan is checked against its live services first)"
        )
    engine = DockerEngine(check_host(host))
    if planned.cluster and engine.cluster != planned.cluster:
        raise ConfigError(
            f"refusing to apply: the plan was made for Swarm cluster {planned.cluster}, "
            f"but {host} manages cluster {engine.cluster}"
        )
    return engine
