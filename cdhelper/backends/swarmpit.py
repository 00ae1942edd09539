"""The Swarmpit backend: inventory from ``GET /api/services``, ``POST .../redeploy`` to apply.

Swarmpit re-resolves the tag's digest from the registry itself when it redeploys, so
what it deploys is what the tag points to at apply time. ``apply --wait`` watches the
service and its tasks through Swarmpit's API and rolls back through its rollback endpoint.

The API token is a secret: it is registered for redaction the moment it is read, it goes
over plain http only to a loopback Swarmpit or with ``--allow-http``, and once Swarmpit
refuses it (HTTP 401) it is not sent again: the rest of the plan fails with that reason.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote, urlsplit

from cdhelper import answers, cleartext, documents, redact, reference
from cdhelper.backends.base import BackendType, Observation, Task
from cdhelper.credentials import is_header_safe
from cdhelper.errors import ApiError, ConfigError, InputError
from cdhelper.inventory import NO_LABELS, Inventory, Service, Spec, Target, kept
from cdhelper.plan import Action

if TYPE_CHECKING:
    import requests

# cdhelper.http (and requests under it) loads only where Swarmpit is talked to: reading
# an inventory file of Swarmpit services, or planning from one, needs neither.

TOKEN_ENV = "CDHELPER_SWARMPIT_TOKEN"  # noqa: S105 (a variable name, not a secret)
URL_ENV = "CDHELPER_SWARMPIT_URL"
ALLOW_HTTP_ENV = "CDHELPER_ALLOW_HTTP"  # "1": the token may go over plain http
KIND = "swarmpit"
SCHEMA = "swarmpit-services"
SCHEMA_TITLE = "Swarmpit service list"

# Swarmpit fields that change without any change to the service spec.
_RUNTIME_FIELDS = frozenset({"version", "createdAt", "updatedAt", "state", "status"})

_HINTS = {
    401: f"Swarmpit refused the token: set {TOKEN_ENV} to a valid API token "
    "(Swarmpit: user menu > API access)",
    403: "the Swarmpit user behind the token may not do this",
    404: "no such service any more, or the URL is not a Swarmpit API",
}


def normalise_url(url: str) -> str:
    """``http://host:8080``, ``http://host:8080/`` and ``http://host:8080/api`` are one target."""
    parts = urlsplit(url.strip())
    if "@" in parts.netloc:  # checked first: such a URL must never be echoed
        raise ConfigError(
            f"the Swarmpit URL must not carry credentials: put the API token in {TOKEN_ENV}"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid Swarmpit URL {url!r}: expected http(s)://host[:port]")
    if parts.query or parts.fragment:
        raise ConfigError(f"invalid Swarmpit URL {url!r}: no query or fragment expected")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def token_from_env(environ: Mapping[str, str] = os.environ) -> str:
    # Swarmpit's UI shows the token as "Bearer <jwt>": take it with or without the prefix.
    token = re.sub(r"(?i)^bearer(\s+|$)", "", environ.get(TOKEN_ENV, "").strip())
    redact.register(token)
    if not token:
        raise ConfigError(
            f"{TOKEN_ENV} is not set: export the Swarmpit API token "
            "(with or without its 'Bearer ' prefix)"
        )
    if not is_header_safe(token):
        raise ConfigError(
            f"{TOKEN_ENV} is not a Swarmpit API token: it holds spaces, control or "
            "non-ASCII characters (copy the token again from Swarmpit: user menu > API access)"
        )
    return token


def allows_http(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(ALLOW_HTTP_ENV, "").strip().lower() in ("1", "true", "yes")


def check_transport(url: str, allow_http: bool) -> None:
    """The token goes over plain http only to a loopback Swarmpit, or when allowed."""
    if cleartext.plain_http_to_remote(url) and not allow_http:
        raise ConfigError(
            f"refusing to send the Swarmpit API token over plain http to {url}: use https, "
            f"or give --allow-http (or set {ALLOW_HTTP_ENV}=1) if that network path is trusted"
        )


class Swarmpit:
    """A Swarmpit server, addressed by its base URL, authenticated by an API token."""

    def __init__(self, url: str, token: str, session: requests.Session | None = None) -> None:
        from cdhelper import http  # noqa: PLC0415 (requests: only to talk to Swarmpit)

        self.url = normalise_url(url)
        self._session = session or http.new_session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._what = f"Swarmpit at {self.url}"
        self._refused: str | None = None  # why the token was refused; then it is not sent

    @property
    def target(self) -> Target:
        return Target(KIND, self.url)

    def _request(
        self, method: str, url: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One call with the token, unless Swarmpit refused it before: then fail fast.

        With ``missing_ok``, a 404 is an answer (the object is gone), not an error.
        """
        from cdhelper import http  # noqa: PLC0415 (requests: only to talk to Swarmpit)

        if self._refused is not None:
            raise ApiError(f"not tried, the token was refused before: {self._refused}", 401)
        response = http.request(self._session, method, url, what=self._what, **kwargs)
        if response.status_code == 401:
            self._session.headers.pop("Authorization", None)
            try:
                answers.check(response, self._what, _HINTS)
            except ApiError as exc:
                self._refused = exc.message
                raise
        if not (missing_ok and response.status_code == 404):
            answers.check(response, self._what, _HINTS)
        return response

    def inventory(self) -> Inventory:
        data = self._get_json("/api/services")
        return from_swarmpit(data, f"{self._what}: GET /api/services", self.url)

    def service(self, service_id: str) -> Service | None:
        """One service as it is now (None: gone): re-read just before it is redeployed."""
        path = f"/api/services/{quote(service_id, safe='')}"
        data = self._get_json(path, missing_ok=True)
        if data is None:
            return None
        found = from_swarmpit([data], f"{self._what}: GET {path}", self.url).services
        return found[0] if found else None

    def redeploy(self, action: Action) -> str:
        url = f"{self.url}/api/services/{quote(action.service.id, safe='')}/redeploy"
        # The answer is not used, only its status: read no more than an error's worth.
        response = self._request(
            "POST", url, params={"tag": action.tag}, max_body=answers.MAX_ERROR_BODY
        )
        return f"redeploy of tag {action.tag} accepted (HTTP {response.status_code})"

    def observe(self, service_id: str) -> Observation | None:
        """``GET /api/services/{id}`` and ``GET /api/services/{id}/tasks`` (None: gone).

        Both are routes of Swarmpit's API (``:service`` and ``:service-tasks`` in
        ``src/cljc/swarmpit/routes.cljc``). Swarmpit maps Swarm's ``UpdateStatus`` to
        ``status.update`` / ``status.message``,
        and each task's state, desired state, ``Status.Err`` and pinned digest (its task
        mapper: ``src/clj/swarmpit/docker/engine/mapper/inbound.clj``, ``->task``).
        """
        path = f"/api/services/{quote(service_id, safe='')}"
        raw = self._get_json(path, missing_ok=True)
        if raw is None:
            return None
        tasks = self._get_json(f"{path}/tasks", missing_ok=True)
        if not isinstance(raw, dict) or not isinstance(tasks, list | None):
            raise InputError(f"{self._what}: GET {path}: not a Swarmpit service and its tasks")
        status, repository = _object(raw, "status"), _object(raw, "repository")
        return Observation(
            digest=_text(repository.get("imageDigest")),
            update_state=_text(status.get("update")),
            update_message=_text(status.get("message")),
            tasks=tuple(_task(task) for task in tasks or [] if isinstance(task, dict)),
        )

    def rollback(self, action: Action) -> str:
        """``POST /api/services/{id}/rollback`` (202).

        The route is ``:service-rollback`` in Swarmpit's ``src/cljc/swarmpit/routes.cljc``;
        its handler (``service-rollback`` in ``src/clj/swarmpit/handler.clj``) calls
        ``rollback-service`` in ``src/clj/swarmpit/api.clj``, which sends the service's
        ``PreviousSpec`` to Docker as an ordinary update. So Swarm reports ``updating`` /
        ``completed`` for it, not ``rollback_*``; and when Swarm rolled back by itself,
        ``PreviousSpec`` is empty and the call would fail: cdhelper does not ask then, and
        refuses when Swarmpit's service says ``deployment.rollbackAllowed: false``.
        """
        path = f"/api/services/{quote(action.service.id, safe='')}"
        service = self._get_json(path, missing_ok=True)
        deployment = _object(service, "deployment") if isinstance(service, dict) else {}
        # The service mapper's deployment.rollbackAllowed is (some? (:PreviousSpec service)).
        if deployment.get("rollbackAllowed") is False:
            raise ApiError(
                f"{self._what}: {action.service} has no previous spec to roll back to "
                "(deployment.rollbackAllowed is false)"
            )
        response = self._request(
            "POST", f"{self.url}{path}/rollback", max_body=answers.MAX_ERROR_BODY
        )
        return f"rollback accepted (HTTP {response.status_code})"

    def _get_json(self, path: str, *, missing_ok: bool = False) -> Any:
        """The JSON answer to ``GET path``; None for a 404 when ``missing_ok``."""
        response = self._request("GET", f"{self.url}{path}", missing_ok=missing_ok)
        if response.status_code == 404:
            return None
        try:
            return answers.json_body(response)
        except ValueError:
            raise InputError(
                f"{self._what}: GET {path} did not answer JSON: is this a Swarmpit URL?"
            ) from None

    def check_target(self, planned: Target) -> None:
        if planned.url and planned.url != self.url:
            raise ConfigError(
                "refusing to apply: the plan was made for Swarmpit at "
                f"{planned.url}, not {self.url}"
            )


def _object(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _task(raw: Mapping[str, Any]) -> Task:
    """One task of Swarmpit's ``GET /api/services/{id}/tasks``."""
    status, repository = _object(raw, "status"), _object(raw, "repository")
    return Task(
        id=str(raw.get("id", "")),
        state=str(raw.get("state", "")),
        desired=str(raw.get("desiredState", "")),
        digest=_text(repository.get("imageDigest")),
        error=_text(status.get("error")),
    )


def from_swarmpit(data: Any, where: str, url: str | None = None) -> Inventory:
    documents.validate(data, "swarmpit-services", where, SCHEMA_TITLE)
    services = [record(index, raw, kept(raw), where) for index, raw in enumerate(data)]
    return Inventory(Target(KIND, url), tuple(services))


def record(index: int, raw: Mapping[str, Any], again: Callable[[], Any], where: str) -> Service:
    """One valid record of ``GET /api/services``; ``again`` re-reads it for its fingerprint."""
    image, digest = image_of(raw)
    labels = raw.get("labels")
    status = raw.get("status")
    try:
        return Service(
            raw["id"],
            raw["serviceName"],
            _shared(raw.get("stack") or None),
            {item["name"]: item.get("value") or "" for item in labels} if labels else NO_LABELS,
            sys.intern(image),
            digest,
            raw["version"],
            Spec(again, _spec_fields),
            status.get("update") if status else None,
        )
    except reference.ReferenceError as exc:
        raise InputError(f"{where}: $[{index}].repository.image: {exc.message}") from None


def image_of(raw: Mapping[str, Any]) -> tuple[str, str | None]:
    """A valid record's image and its pinned digest (None if it has none)."""
    repository = raw["repository"]
    return repository["image"], repository.get("imageDigest") or None


class _Repository(TypedDict, total=False):
    image: str
    imageDigest: str | None


class _Label(TypedDict, total=False):
    name: str
    value: str | None


class _Image(TypedDict, total=False):
    """What :func:`image_of` reads."""

    repository: _Repository


class _Status(TypedDict, total=False):
    update: str | None


class _Record(TypedDict, total=False):
    """What :func:`record` reads of a service (large files: only this is decoded)."""

    id: str
    serviceName: str
    version: int
    stack: str | None
    labels: list[_Label] | None
    repository: _Repository
    status: _Status | None


def _shared(text: str | None) -> str | None:
    """One copy of a stack name or image that many services share (``sys.intern``)."""
    return sys.intern(text) if text is not None else None


def _spec_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(raw)  # a copy, and a few keys taken out: a third of a comprehension's cost
    for key in _RUNTIME_FIELDS:
        fields.pop(key, None)
    return fields


def is_service_list(data: Any) -> bool:
    """Swarmpit's GET /api/services: a JSON array whose records lack the Engine's ID and Spec."""
    first = data[0] if isinstance(data, list) and data else None
    return isinstance(data, list) and not (
        isinstance(first, dict) and ("Spec" in first or "ID" in first)
    )


def _connect(url: str, environ: Mapping[str, str]) -> Swarmpit:
    url = normalise_url(url)
    check_transport(url, allows_http(environ))
    return Swarmpit(url, token_from_env(environ))


BACKEND = BackendType(
    kind=KIND,
    title="Swarmpit",
    noun="Swarmpit",
    option="--swarmpit-url",
    address_env=URL_ENV,
    address_help="URL",
    deploys_exact_digest=False,
    can_wait=True,
    detect_inventory=is_service_list,
    parse_inventory=from_swarmpit,
    inventory_schema=SCHEMA,
    inventory_record=record,
    inventory_fields=_Record,
    inventory_image=image_of,
    inventory_image_fields=_Image,
    connect=_connect,
    environment=((TOKEN_ENV, "the Swarmpit API token"),),
)
