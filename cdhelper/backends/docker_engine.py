"""The Docker Engine backend: read and update Swarm services through the Engine API.

Uses the maintained ``docker`` package (docker-py). To roll a service to a digest, the
client writes ``repo:tag@sha256:<digest>`` into the spec itself (the Engine pins digests
on the client side since API 1.30) and sends the whole spec with the live version.
Registry credentials travel in ``X-Registry-Auth`` from the Docker config, as docker-py
does for every update; the config is the one :mod:`cdhelper.credentials` reads (and
checks) for the registry client, so both paths use the same credentials.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from cdhelper import deadline as deadlines
from cdhelper import documents, platforms
from cdhelper.backends.base import BackendType, Observation, Task
from cdhelper.credentials import CONFIG_ENV, CredentialStore
from cdhelper.errors import ApiError, ConfigError, OutcomeUnknownError
from cdhelper.inventory import (
    STACK_LABEL,
    Inventory,
    Service,
    Spec,
    Target,
    fingerprint,
    kept,
    service,
)
from cdhelper.plan import Action
from cdhelper.reference import short_digest
from cdhelper.values import Node

if TYPE_CHECKING:
    import docker

# docker-py (and requests under it) loads only where the Engine is talked to: reading an
# inventory file of Engine services, or planning from one, needs neither.

HOST_ENV = "DOCKER_HOST"
KIND = "docker"
SCHEMA = "docker-services"
OUT_OF_SEQUENCE = "update out of sequence"
UPDATE_RETRIES = 5
CALL_TIMEOUT = 60  # seconds, for one Engine API call; the command's deadline may cut it
_SPEC_KEYS = (
    "Name",
    "Labels",
    "TaskTemplate",
    "Mode",
    "UpdateConfig",
    "RollbackConfig",
    "EndpointSpec",
)


def connect(base_url: str, environ: Mapping[str, str] = os.environ) -> docker.APIClient:
    """An API client for ``base_url``; TLS from DOCKER_TLS_VERIFY / DOCKER_CERT_PATH."""
    import docker  # noqa: PLC0415 (docker-py: only to talk to an Engine)
    import docker.errors  # noqa: PLC0415
    import requests  # noqa: PLC0415

    credentials = CredentialStore.from_environment(environ)  # a malformed config: ConfigError
    kwargs = docker.utils.kwargs_from_env(environment=dict(environ))
    kwargs["base_url"] = base_url
    if not base_url.startswith(("tcp://", "https://")):
        kwargs.pop("tls", None)
    # Ask the engine its API version first (what version="auto" does), closing the probe
    # whatever happens, then talk that version.
    left = deadlines.time_left(f"Docker Engine at {base_url}", "connect")
    timeout = CALL_TIMEOUT if left is None else min(CALL_TIMEOUT, left)
    probe = _client(
        credentials,
        version=docker.constants.DEFAULT_DOCKER_API_VERSION,
        timeout=timeout,
        **kwargs,
    )
    try:
        version = str(probe.version(api_version=False)["ApiVersion"])
    except (docker.errors.DockerException, requests.RequestException, KeyError) as exc:
        raise ApiError(f"Docker Engine at {base_url}: cannot connect: {_reason(exc)}") from None
    finally:
        probe.close()
    return _client(credentials, version=version, timeout=CALL_TIMEOUT, **kwargs)


def _client(credentials: CredentialStore, **kwargs: Any) -> docker.APIClient:
    """An API client that sends the credentials cdhelper read, not a second reading."""
    import docker  # noqa: PLC0415 (docker-py: only to talk to an Engine)

    try:
        client = docker.APIClient(**kwargs)
    except (ValueError, TypeError, UnicodeError) as exc:
        # docker-py reads a Docker config of its own choosing when it starts, and may fail
        # on it where cdhelper's (checked) reading did not: say so, never a traceback.
        raise ConfigError(
            f"docker-py cannot read the Docker config: {type(exc).__name__}"
        ) from None
    client._auth_configs = credentials.auth_config
    return client


class DockerEngine:
    """A Swarm manager's Docker Engine."""

    def __init__(self, base_url: str, client: docker.APIClient | None = None) -> None:
        self.url = base_url
        self._connected = client
        self._what = f"Docker Engine at {base_url}"
        self._cluster: str | None = None

    @property
    def _client(self) -> docker.APIClient:
        """Connected on first use: choosing a backend must not touch the network."""
        if self._connected is None:
            self._connected = connect(self.url)
        return self._connected

    @property
    def cluster(self) -> str:
        """The Swarm cluster id: a plan applies to its own cluster, whatever address names it."""
        if self._cluster is None:
            info = self._call(self._client.inspect_swarm)
            if not info or not info.get("ID"):
                raise ApiError(f"{self._what}: not a Swarm manager (run 'docker swarm init')")
            self._cluster = str(info["ID"])
        return self._cluster

    @property
    def target(self) -> Target:
        return Target(KIND, self.url, self.cluster)

    def inventory(self) -> Inventory:
        raw = self._call(self._client.services)
        return parse_services(raw, f"{self._what}: GET /services", self.target)

    def nodes(self) -> tuple[Node, ...]:
        """The Swarm's nodes, with their platforms (``GET /nodes``), for the platform check."""
        return tuple(_node(raw) for raw in self._call(self._client.nodes) or ())

    def service(self, service_id: str) -> Service | None:
        """One service as it is now (None: gone): re-read just before it is redeployed."""
        raw = self._inspect(service_id)
        if raw is None:
            return None
        found = parse_services([raw], f"{self._what}: GET /services/{service_id}", self.target)
        return found.services[0] if found.services else None

    def _inspect(self, service_id: str) -> Any:
        """``GET /services/{id}``; None when the service is gone (404)."""
        try:
            return self._call(self._client.inspect_service, service_id)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def check_target(self, planned: Target) -> None:
        """Another address of the same cluster is fine; another cluster is refused."""
        if planned.cluster and self.cluster != planned.cluster:
            raise ConfigError(
                f"refusing to apply: the plan was made for Swarm cluster {planned.cluster}, "
                f"but {self.url} manages cluster {self.cluster}"
            )

    def redeploy(self, action: Action) -> str:
        """Write ``spec_image@target_digest`` into the live spec; retry Swarm's version bumps."""
        import docker.errors  # noqa: PLC0415 (docker-py: only to talk to an Engine)
        import requests  # noqa: PLC0415

        from cdhelper import http  # noqa: PLC0415

        if action.target_digest is None:
            raise ApiError(f"{action.service}: the plan has no target digest to deploy")
        image = f"{action.spec_image}@{action.target_digest}"
        for _ in range(UPDATE_RETRIES):
            service = self._call(self._client.inspect_service, action.service.id)
            spec = service["Spec"]
            if fingerprint(spec) != action.fingerprint:
                raise ApiError(f"{action.service}: changed since the plan (stale): not updated")
            new_spec = _with_image(spec, image)
            self._bound_by_deadline(f"update of {action.service}")
            try:
                self._client.update_service(
                    action.service.id,
                    service["Version"]["Index"],
                    **{_ARGUMENT[key]: new_spec.get(key) for key in _SPEC_KEYS},
                )
            except docker.errors.APIError as exc:
                if OUT_OF_SEQUENCE in str(exc.explanation or exc):
                    continue  # Swarm bumped the version itself: re-inspect, re-check, retry
                raise ApiError(
                    f"{self._what}: update of {action.service} failed: {_reason(exc)}"
                ) from None
            except (docker.errors.DockerException, requests.RequestException) as exc:
                # docker-py's own errors here: a credential helper failing for X-Registry-Auth
                problem = f"{self._what}: update of {action.service}: {_reason(exc)}"
                if isinstance(exc, requests.RequestException) and http.may_have_reached(exc):
                    raise OutcomeUnknownError(
                        f"{problem}; the request may have reached the {self._what}"
                    ) from None
                raise ApiError(problem) from None
            return f"update to {short_digest(action.target_digest)} started"
        raise ApiError(
            f"{action.service}: the version kept moving ({UPDATE_RETRIES} tries): not updated"
        )

    def observe(self, service_id: str) -> Observation | None:
        """The update status and the tasks of one service (None: gone)."""
        raw = self._inspect(service_id)
        if raw is None:
            return None
        tasks = self._call(self._client.tasks, filters={"service": service_id})
        status = raw.get("UpdateStatus") or {}
        image = raw["Spec"]["TaskTemplate"].get("ContainerSpec", {}).get("Image", "")
        return Observation(
            digest=split_image(image)[1],
            update_state=status.get("State"),
            update_message=status.get("Message"),
            update_started=status.get("StartedAt"),
            tasks=tuple(_task(task) for task in tasks),
        )

    def rollback(self, action: Action) -> str:
        """``update?rollback=previous``, as ``docker service rollback`` does: Swarm swaps
        ``PreviousSpec`` back in and reports ``rollback_*`` states while it converges."""
        import docker.errors  # noqa: PLC0415 (docker-py: only to talk to an Engine)
        import requests  # noqa: PLC0415

        for _ in range(UPDATE_RETRIES):
            service = self._call(self._client.inspect_service, action.service.id)
            previous = service.get("PreviousSpec")
            if not previous:
                raise ApiError(f"{action.service}: Swarm holds no previous spec to roll back to")
            image = previous["TaskTemplate"].get("ContainerSpec", {}).get("Image", "")
            self._bound_by_deadline(f"rollback of {action.service}")
            client = self._client
            try:
                answer = client._post_json(  # docker-py has no rollback argument
                    client._url("/services/{0}/update", action.service.id),
                    data=service["Spec"],
                    params={"version": service["Version"]["Index"], "rollback": "previous"},
                    headers=_auth_header(client, image),
                )
                client._raise_for_status(answer)
            except docker.errors.APIError as exc:
                if OUT_OF_SEQUENCE in str(exc.explanation or exc):
                    continue
                raise ApiError(
                    f"{self._what}: rollback of {action.service} failed: {_reason(exc)}"
                ) from None
            except (docker.errors.DockerException, requests.RequestException) as exc:
                raise ApiError(
                    f"{self._what}: rollback of {action.service}: {_reason(exc)}"
                ) from None
            digest = split_image(image)[1]
            return f"rollback to {short_digest(digest) if digest else image} started"
        raise ApiError(
            f"{action.service}: the version kept moving ({UPDATE_RETRIES} tries): not rolled back"
        )

    def _bound_by_deadline(self, doing: str) -> None:
        """No call past the command's deadline, and none that could wait beyond it."""
        left = deadlines.time_left(self._what, doing)
        self._client.timeout = CALL_TIMEOUT if left is None else min(CALL_TIMEOUT, left)

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import docker.errors  # noqa: PLC0415 (docker-py: only to talk to an Engine)
        import requests  # noqa: PLC0415

        self._bound_by_deadline(getattr(method, "__name__", "call").replace("_", " "))
        try:
            return method(*args, **kwargs)
        except docker.errors.NotFound as exc:
            raise ApiError(f"{self._what}: not found: {_reason(exc)}", status=404) from None
        except docker.errors.APIError as exc:
            raise ApiError(f"{self._what}: {_reason(exc)}", status=exc.status_code) from None
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise ApiError(f"{self._what}: cannot reach the engine: {_reason(exc)}") from None


_ARGUMENT = {
    "Name": "name",
    "Labels": "labels",
    "TaskTemplate": "task_template",
    "Mode": "mode",
    "UpdateConfig": "update_config",
    "RollbackConfig": "rollback_config",
    "EndpointSpec": "endpoint_spec",
}


def _with_image(spec: Mapping[str, Any], image: str) -> dict[str, Any]:
    new = dict(spec)
    template = dict(spec["TaskTemplate"])
    template["ContainerSpec"] = {**template["ContainerSpec"], "Image": image}
    if "Networks" in spec and "Networks" not in template:
        template["Networks"] = spec["Networks"]  # the deprecated top-level field moves here
    new["TaskTemplate"] = template
    return new


def _task(raw: Mapping[str, Any]) -> Task:
    image = raw.get("Spec", {}).get("ContainerSpec", {}).get("Image", "")
    status = raw.get("Status") or {}
    return Task(
        id=str(raw.get("ID", "")),
        state=str(status.get("State", "")),
        desired=str(raw.get("DesiredState", "")),
        digest=split_image(image)[1],
        error=status.get("Err") or None,
    )


def _auth_header(client: docker.APIClient, image: str) -> dict[str, str]:
    """X-Registry-Auth for the image's registry, as docker-py sends it with an update."""
    import docker.auth  # noqa: PLC0415 (docker-py: only to talk to an Engine)

    registry, _ = docker.auth.resolve_repository_name(image)
    header = docker.auth.get_config_header(client, registry)
    return {"X-Registry-Auth": header} if header else {}


def _reason(exc: Exception) -> str:
    import docker.errors  # noqa: PLC0415 (docker-py: only to talk to an Engine)

    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation)
    text = str(exc)
    if "Connection refused" in text or "No such file or directory" in text:
        return "connection refused (is dockerd running, and is this its socket?)"
    return text.split("\n", maxsplit=1)[0][:200]


def split_image(spec_image: str) -> tuple[str, str | None]:
    image, _, digest = spec_image.partition("@")
    return image, digest or None


def from_docker(data: Any, where: str, url: str | None = None) -> Inventory:
    """An Engine service list read from a file (``url`` None) or from ``url``."""
    return parse_services(data, where, Target(KIND, url))


def parse_services(data: Any, where: str, target: Target) -> Inventory:
    documents.validate(data, SCHEMA, where, "Docker Engine service list")
    found = (record(index, raw, kept(raw), where) for index, raw in enumerate(data))
    return Inventory(target, tuple(service for service in found if service is not None))


def record(
    index: int, raw: Mapping[str, Any], again: Callable[[], Any], where: str
) -> Service | None:
    """One valid service of ``GET /services`` (None: a plugin service, which runs no image).

    ``again`` re-reads the record: its spec is hashed only if a plan needs the fingerprint.
    """
    spec = raw["Spec"]
    image = image_of(raw)
    if image is None:
        return None
    labels = spec.get("Labels") or {}
    placement = _placement(spec["TaskTemplate"].get("Placement"))
    return service(
        where,
        f"$[{index}].Spec.TaskTemplate.ContainerSpec.Image",
        id=raw["ID"],
        name=spec["Name"],
        stack=labels.get(STACK_LABEL),
        labels=labels,
        image=image[0],
        digest=image[1],
        version=raw["Version"]["Index"],
        spec=Spec(again, _spec),
        update_state=(raw.get("UpdateStatus") or {}).get("State"),
        constraints=tuple(c for c in placement.get("Constraints") or () if isinstance(c, str)),
        platforms=tuple(
            platforms.node_platform(str(p.get("OS", "")), str(p.get("Architecture", "")))
            for p in placement.get("Platforms") or ()
            if isinstance(p, dict)
        ),
    )


def image_of(raw: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """A valid record's image and pinned digest; None for a plugin service (it runs none)."""
    container = raw["Spec"]["TaskTemplate"].get("ContainerSpec")
    return None if container is None else split_image(container["Image"])


class _Container(TypedDict, total=False):
    Image: str


class _TaskTemplate(TypedDict, total=False):
    ContainerSpec: _Container


class _ImageSpec(TypedDict, total=False):
    TaskTemplate: _TaskTemplate


class _Image(TypedDict, total=False):
    """What :func:`image_of` reads."""

    Spec: _ImageSpec


class _Spec(TypedDict, total=False):
    Name: str
    Labels: Any
    TaskTemplate: Any


class _Record(TypedDict, total=False):
    """What :func:`record` reads of a service (large files: only this is decoded)."""

    ID: str
    Version: Any
    Spec: _Spec
    UpdateStatus: Any


def _spec(raw: Mapping[str, Any]) -> Any:
    return raw["Spec"]


def _placement(raw: Any) -> dict[str, list[Any]]:
    """A spec's placement, as far as it is well formed (the schema does not check it)."""
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in ("Constraints", "Platforms") if isinstance(raw.get(key), list)}


def _node(raw: Mapping[str, Any]) -> Node:
    description = raw.get("Description") or {}
    platform = description.get("Platform") or {}
    spec = raw.get("Spec") or {}
    return Node(
        id=str(raw.get("ID", "")),
        hostname=str(description.get("Hostname", "")),
        role=str(spec.get("Role", "")),
        platform=platforms.node_platform(
            str(platform.get("OS", "")), str(platform.get("Architecture", ""))
        ),
        availability=str(spec.get("Availability", "active")),
        labels=dict(spec.get("Labels") or {}),
        engine_labels=dict((description.get("Engine") or {}).get("Labels") or {}),
    )


def is_service_list(data: Any) -> bool:
    """The Engine's GET /services: an array of objects with ID and Spec."""
    first = data[0] if isinstance(data, list) and data else None
    return isinstance(first, dict) and ("Spec" in first or "ID" in first)


def check_host(url: str) -> str:
    if not url.startswith(("unix://", "tcp://", "http://", "https://", "ssh://", "npipe://")):
        raise ConfigError(f"invalid Docker host {url!r}: expected unix:///path or tcp://host:port")
    return url


def _connect(url: str, environ: Mapping[str, str]) -> DockerEngine:
    return DockerEngine(check_host(url))


BACKEND = BackendType(
    kind=KIND,
    title="Docker Engine",
    noun="a Docker Engine",
    option="--docker-host",
    address_env=HOST_ENV,
    address_help="URL",
    deploys_exact_digest=True,
    can_wait=True,
    detect_inventory=is_service_list,
    parse_inventory=from_docker,
    inventory_schema=SCHEMA,
    inventory_record=record,
    inventory_fields=_Record,
    inventory_image=image_of,
    inventory_image_fields=_Image,
    connect=_connect,
    environment=(
        ("DOCKER_TLS_VERIFY", "1: TLS to a tcp:// Docker Engine"),
        ("DOCKER_CERT_PATH", "its client certificate, key and CA"),
        (CONFIG_ENV, "registry credentials the Engine pulls with (config.json)"),
    ),
)
