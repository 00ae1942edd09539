"""The inbox's configuration (``cdhelper.yaml``): read, validate, resolve its secrets.

One YAML file, validated against ``schemas/config.schema.json`` (every problem with its JSON
path), then checked for what a schema cannot say: unique names, known source and dispatch
types, filters, one service address per environment, authentication on every source.
Secrets are only ever named (``<name>_env`` or ``<name>_file``) and read through
:mod:`cdhelper.inbox.secret`. Paths are relative to the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from cdhelper import documents, filters, planner, sources
from cdhelper.backends import docker_engine, swarmpit
from cdhelper.errors import CdhelperError, ConfigError, InputError
from cdhelper.inbox import dispatchers
from cdhelper.inbox.dispatchers.base import Dispatcher
from cdhelper.inbox.secret import Secret, Secrets
from cdhelper.reference import is_valid_host, normalise_registry
from cdhelper.values import parse_duration as parse_duration  # noqa: PLC0414 (re-exported)
from cdhelper.windows import Window, WindowError

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_STATE = "./cdhelper-state"
DEFAULTS: dict[str, float] = {
    "coalesce_seconds": 10,
    "max_batch_seconds": 60,
    "dispatch_retry_seconds": 3600,
    "max_body_bytes": 1024 * 1024,
}
# The services entry's address keys, and the backend each one names.
ADDRESS_KEYS = {"swarmpit_url": swarmpit.KIND, "docker_host": docker_engine.KIND}
SERVICE_KEYS = ("file", *ADDRESS_KEYS)
# What a source's ``secret`` signs with, per source type; other types take a token only.
SIGNED_TYPES = {"ghcr": "X-Hub-Signature-256", "registry": "Standard Webhooks signatures"}


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    token: Secret | None = None  # a static token: Authorization or the URL's last segment
    secret: Secret | None = None  # a signing secret (ghcr, registry)
    insecure: bool = False
    registry_host: str | None = None


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    services: Mapping[str, Any]  # as validated: file (absolute) | swarmpit_url | docker_host
    dispatch: Mapping[str, Any]  # as validated, for the dispatcher type's build()
    filters: tuple[filters.Filter, ...] = ()
    registry_aliases: Mapping[str, str] = field(default_factory=dict)
    insecure_registries: tuple[str, ...] = ()
    resolve_digests: bool = False
    smart_every: float | None = None
    services_token: Secret | None = None  # Swarmpit's API token
    min_age: timedelta | None = None
    windows: tuple[Window, ...] = ()
    state: str | None = None  # the inbox's state folder: first-seen push times live there

    def environ(self) -> dict[str, str]:
        """The process environment as the backends read it for this environment's services."""
        environ = dict(os.environ)
        if self.services_token is not None:
            environ[swarmpit.TOKEN_ENV] = self.services_token.value
        if self.services.get("allow_http"):
            environ[swarmpit.ALLOW_HTTP_ENV] = "1"
        return environ

    @property
    def dispatch_type(self) -> str:
        return str(self.dispatch["type"])


@dataclass(frozen=True)
class Config:
    path: str
    directory: str  # relative paths in the file are relative to this
    listen: tuple[str, int]
    state: str  # the store's folder, absolute
    sources: tuple[SourceConfig, ...]
    environments: tuple[EnvironmentConfig, ...]
    admin_token: Secret | None = None
    coalesce_seconds: float = DEFAULTS["coalesce_seconds"]
    max_batch_seconds: float = DEFAULTS["max_batch_seconds"]
    dispatch_retry_seconds: float = DEFAULTS["dispatch_retry_seconds"]
    max_body_bytes: int = int(DEFAULTS["max_body_bytes"])

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def environment(self, name: str) -> EnvironmentConfig | None:
        return next((e for e in self.environments if e.name == name), None)

    @property
    def database(self) -> str:
        return os.path.join(self.state, "inbox.sqlite3")


def dispatch_names() -> list[str]:
    return dispatchers.names()


def build_dispatchers(
    config: Config, environ: Mapping[str, str] = os.environ
) -> dict[str, Dispatcher]:
    """Every environment's dispatcher, by environment name; every problem at once.

    A dispatcher type's ``build`` gets the environment's ``dispatch`` entry plus
    ``services`` (the environment's services entry, its file path absolute).
    """
    secrets = Secrets(config.directory, environ)
    built: dict[str, Dispatcher] = {}
    problems: list[str] = []
    for index, env in enumerate(config.environments):
        entry = {**env.dispatch, "services": env.services}
        try:
            built[env.name] = dispatchers.by_name(env.dispatch_type).build(
                entry, config.directory, secrets.read
            )
        except CdhelperError as exc:
            problems.append(f"$.environments[{index}].dispatch: {exc}")
    if problems:
        where = documents.display_name(config.path)
        raise InputError(f"{where}: not a valid cdhelper inbox configuration", problems)
    return built


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``) as (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid listen address {text!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def load(
    path: str, environ: Mapping[str, str] = os.environ, *, resolve_secrets: bool = True
) -> Config:
    """Read, validate and check a config file; resolve its secrets. Every problem at once."""
    where = documents.display_name(path)
    data = documents.parse_yaml(documents.read_text(path), where)
    documents.validate(data, "config", where, "cdhelper inbox configuration")
    directory = os.path.dirname(os.path.abspath(path))
    secrets = Secrets(directory, environ, resolve_secrets)
    problems: list[str] = []
    config = _build(data, path, directory, secrets, problems)
    if problems:
        raise InputError(f"{where}: not a valid cdhelper inbox configuration", problems)
    return config


def _build(
    data: Mapping[str, Any],
    path: str,
    directory: str,
    secrets: Secrets,
    problems: list[str],
) -> Config:
    def secret(entry: Mapping[str, Any], key: str, at: str) -> Secret | None:
        try:
            return secrets.get(entry, key)
        except ConfigError as exc:
            problems.append(f"{at}.{exc.message}")
            return None

    _unique(data["sources"], "$.sources", problems)
    _unique(data["environments"], "$.environments", problems)
    found = [_source(s, f"$.sources[{i}]", secret, problems) for i, s in enumerate(data["sources"])]
    envs = [
        _environment(e, f"$.environments[{i}]", directory, secret, problems)
        for i, e in enumerate(data["environments"])
    ]
    state = os.path.normpath(os.path.join(directory, data.get("state", DEFAULT_STATE)))
    envs = [replace(env, state=state) for env in envs]
    try:
        listen = parse_listen(data.get("listen", DEFAULT_LISTEN))
    except ValueError as exc:
        problems.append(f"$.listen: {exc}")
        listen = parse_listen(DEFAULT_LISTEN)
    settings = {key: data.get(key, default) for key, default in DEFAULTS.items()}
    if settings["coalesce_seconds"] > settings["max_batch_seconds"]:
        problems.append(
            f"$.coalesce_seconds: {settings['coalesce_seconds']:g} s is longer than "
            f"max_batch_seconds ({settings['max_batch_seconds']:g} s)"
        )
    return Config(
        path=path,
        directory=directory,
        listen=listen,
        state=state,
        sources=tuple(found),
        environments=tuple(envs),
        admin_token=secret(data, "admin_token", "$"),
        coalesce_seconds=float(settings["coalesce_seconds"]),
        max_batch_seconds=float(settings["max_batch_seconds"]),
        dispatch_retry_seconds=float(settings["dispatch_retry_seconds"]),
        max_body_bytes=int(settings["max_body_bytes"]),
    )


def _unique(entries: list[Mapping[str, Any]], at: str, problems: list[str]) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        name = entry["name"]
        if name in seen:
            problems.append(
                f"{at}[{index}].name: {name!r} is already the name of {at}[{seen[name]}]"
            )
        else:
            seen[name] = index


def _source(entry: Mapping[str, Any], at: str, secret: Any, problems: list[str]) -> SourceConfig:
    kind = entry["type"]
    if kind not in sources.names():
        problems.append(
            f"{at}.type: unknown source {kind!r}: expected one of {', '.join(sources.names())}"
        )
    token = secret(entry, "token", at)
    signing = secret(entry, "secret", at)
    has_token = "token_env" in entry or "token_file" in entry
    has_secret = "secret_env" in entry or "secret_file" in entry
    if has_secret and kind not in SIGNED_TYPES:
        signed = ", ".join(f"{t} ({how})" for t, how in SIGNED_TYPES.items())
        problems.append(
            f"{at}: a {kind} source signs nothing: use token_env or token_file "
            f"(secret_* is for {signed})"
        )
    if has_secret and has_token:
        problems.append(f"{at}: give a token or a secret, not both")
    insecure = bool(entry.get("insecure", False))
    if not (has_token or has_secret or insecure):
        problems.append(
            f"{at}: no authentication: give token_env or token_file"
            + (" (or secret_env / secret_file)" if kind in SIGNED_TYPES else "")
            + ", or say insecure: true to accept anyone's deliveries"
        )
    host = entry.get("registry_host")
    if host is not None and not is_valid_host(host):
        problems.append(f"{at}.registry_host: invalid registry host {host!r}: expected HOST[:PORT]")
        host = None
    return SourceConfig(
        name=entry["name"],
        type=kind,
        token=token,
        secret=signing,
        insecure=insecure,
        registry_host=normalise_registry(host) if host else None,
    )


def _environment(
    entry: Mapping[str, Any], at: str, directory: str, secret: Any, problems: list[str]
) -> EnvironmentConfig:
    services = dict(entry["services"])
    given = [key for key in SERVICE_KEYS if key in services]
    if len(given) != 1:
        which = ", ".join(given) if given else "none"
        problems.append(
            f"{at}.services: give exactly one of {', '.join(SERVICE_KEYS)} (got {which})"
        )
    if "file" in services:
        services["file"] = os.path.normpath(os.path.join(directory, services["file"]))
    has_token = "token_env" in services or "token_file" in services
    if has_token and "swarmpit_url" not in services:
        problems.append(f"{at}.services: a token is for swarmpit_url only")
    if "swarmpit_url" in services and not has_token:
        problems.append(
            f"{at}.services: swarmpit_url needs token_env or token_file (its API token)"
        )
    if "swarmpit_url" in services:
        try:
            url = swarmpit.normalise_url(services["swarmpit_url"])
            swarmpit.check_transport(url, bool(services.get("allow_http")))
        except ConfigError as exc:
            hint = " (here: allow_http: true)" if "plain http" in exc.message else ""
            problems.append(f"{at}.services.swarmpit_url: {exc.message}{hint}")
    elif "allow_http" in services:
        problems.append(f"{at}.services: allow_http is for swarmpit_url only")
    token = secret(services, "token", f"{at}.services") if has_token else None
    try:
        scope = filters.parse_filters(entry.get("filters", []))
    except ValueError as exc:
        problems.append(f"{at}.filters: {exc}")
        scope = ()
    try:
        aliases = planner.parse_aliases(
            [f"{k}={v}" for k, v in entry.get("registry_aliases", {}).items()]
        )
    except ValueError as exc:
        problems.append(f"{at}.registry_aliases: {exc}")
        aliases = {}
    insecure = entry.get("insecure_registries", [])
    for index, host in enumerate(insecure):
        if not is_valid_host(host):
            problems.append(f"{at}.insecure_registries[{index}]: invalid registry host {host!r}")
    kind = entry["dispatch"]["type"]
    if kind not in dispatch_names():
        known = ", ".join(dispatch_names())
        problems.append(
            f"{at}.dispatch.type: unknown dispatch type {kind!r}: expected one of {known}"
        )
    every = entry.get("smart_every")
    deploy_windows = _windows(entry.get("windows", []), f"{at}.windows", problems)
    min_age = entry.get("min_age")
    return EnvironmentConfig(
        name=entry["name"],
        services=services,
        dispatch=dict(entry["dispatch"]),
        filters=scope,
        registry_aliases=aliases,
        insecure_registries=tuple(normalise_registry(h) for h in insecure if is_valid_host(h)),
        resolve_digests=bool(entry.get("resolve_digests", False)),
        smart_every=parse_duration(every) if every is not None else None,
        services_token=token,
        min_age=timedelta(seconds=parse_duration(min_age)) if min_age is not None else None,
        windows=deploy_windows,
    )


def _windows(texts: list[str], at: str, problems: list[str]) -> tuple[Window, ...]:
    found = []
    for index, text in enumerate(texts):
        try:
            found.append(Window.parse(text))
        except WindowError as exc:
            problems.append(f"{at}[{index}]: {exc}")
    return tuple(found)
