"""The live service inventory: what runs, which image and digest it follows, and its state.

Each backend's raw service list (Swarmpit's ``GET /api/services``, the Docker Engine's
``GET /services``) and cdhelper's own snapshot become one :class:`Inventory`. Each service
carries a *fingerprint* of the spec fields that matter, so that ``apply`` can tell a real
change from Swarm's own bookkeeping (which moves the version index but not the spec).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from cdhelper import __version__, documents
from cdhelper.errors import InputError
from cdhelper.reference import ImageRef, ReferenceError
from cdhelper.values import Platform, format_time

SNAPSHOT_FORMAT = "cdhelper-inventory"
SNAPSHOT_VERSION = 1
STACK_LABEL = "com.docker.stack.namespace"
OPT_OUT_LABEL = "cdhelper.redeploy"


@dataclass(frozen=True)
class Target:
    """Where services live: a backend kind and its address (``None`` when read from a file)."""

    kind: str  # the backend's name: "swarmpit", "docker"
    url: str | None = None
    cluster: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "cluster": self.cluster}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        return cls(data["kind"], data["url"], data.get("cluster"))

    def describe(self) -> str:
        where = self.url or "an inventory file"
        return f"{self.kind} at {where}" if self.url else f"{self.kind} ({where})"


class Spec:
    """The spec fields a service's fingerprint covers, hashed when first asked for.

    Most services of a large Swarm are never planned, so their specs are never hashed:
    ``load`` gives the fields again when needed (a backend's inventory keeps a way to
    re-read its record, not the record). A snapshot or a plan records only the hash.
    """

    __slots__ = ("_load", "_select", "_value")

    def __init__(
        self,
        load: Callable[[], Any] | None = None,
        select: Callable[[Any], Any] | None = None,
        *,
        hashed: str | None = None,
    ) -> None:
        """``select(load())`` (or ``load()``) are the fields; or ``hashed``, their hash."""
        assert (load is None) != (hashed is None), "a spec to hash, or its hash"
        self._load, self._select, self._value = load, select, hashed

    @classmethod
    def hashed(cls, value: str) -> Spec:
        return cls(hashed=value)

    @property
    def fingerprint(self) -> str:
        if self._value is None:
            assert self._load is not None
            fields = self._load()
            if self._select is not None:
                fields = self._select(fields)
            self._value, self._load, self._select = fingerprint(fields), None, None
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spec) and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"Spec({self.fingerprint!r})"


@dataclass(slots=True, unsafe_hash=True)
class Service:
    """One running Swarm service, as far as redeploys are concerned (never changed once made).

    Not ``frozen``: a frozen dataclass sets each field through ``object.__setattr__``,
    which is a third of the cost of reading a service from a large inventory.
    """

    id: str
    name: str
    stack: str | None
    labels: Mapping[str, str]
    image: str  # the spec's image as written, without "@digest"
    digest: str | None  # the pinned digest, None when the service has none
    version: int
    spec: Spec = field(repr=False)  # see fingerprint
    update_state: str | None = None
    # Where Swarm may place its tasks (Docker Engine only; not in snapshots): placement
    # constraints as written, and the platforms the spec lists.
    constraints: tuple[str, ...] = field(default=(), compare=False)
    platforms: tuple[Platform, ...] = field(default=(), compare=False)
    ref: ImageRef = field(init=False, compare=False, repr=False)
    # label cdhelper.redeploy=false: never planned (asked of every service by every plan)
    opted_out: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.ref = ImageRef.pinned(self.image, self.digest)
        opt_out = self.labels.get(OPT_OUT_LABEL) if self.labels else None
        self.opted_out = opt_out is not None and opt_out.strip().lower() == "false"

    @property
    def fingerprint(self) -> str:
        """The spec's sha256: ``apply`` tells a real change from Swarm's bookkeeping by it."""
        return self.spec.fingerprint

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "stack": self.stack,
            "labels": dict(sorted(self.labels.items())),
            "image": self.image,
            "digest": self.digest,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "update_state": self.update_state,
        }


@dataclass(frozen=True)
class Inventory:
    target: Target
    services: tuple[Service, ...]

    def by_id(self) -> dict[str, Service]:
        return {service.id: service for service in self.services}

    def to_snapshot(self, created_at: datetime) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "format_version": SNAPSHOT_VERSION,
            "cdhelper_version": __version__,
            "created_at": format_time(created_at),
            "target": self.target.to_dict(),
            "services": [s.to_dict() for s in sorted(self.services, key=lambda s: (s.name, s.id))],
        }


def fingerprint(data: Any) -> str:
    """The sha256 of ``data`` as canonical JSON: keys sorted, no whitespace, UTF-8.

    orjson writes it (five times faster than ``json``: a large plan hashes thousands of
    specs); what orjson cannot write (an integer past 64 bits) ``json`` writes. The two
    write the same text but for floats past 1e16 or under 1e-4, which orjson always
    writes its way: one spec, one fingerprint.
    """
    import orjson  # noqa: PLC0415 (only when a spec is hashed)

    try:
        canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        canonical = text.encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def split_image(spec_image: str) -> tuple[str, str | None]:
    image, _, digest = spec_image.partition("@")
    return image, digest or None


def from_snapshot(data: Any, where: str) -> Inventory:
    if isinstance(data.get("format_version"), int) and data["format_version"] > SNAPSHOT_VERSION:
        raise InputError(
            f"{where}: $.format_version: inventory format {data['format_version']} is newer than "
            f"this cdhelper understands ({SNAPSHOT_VERSION}): upgrade cdhelper"
        )
    documents.validate(data, "inventory", where, "cdhelper inventory snapshot")
    services = tuple(
        service(where, f"$.services[{index}].image", **raw)
        for index, raw in enumerate(data["services"])
    )
    return Inventory(Target.from_dict(data["target"]), services)


# One empty label set for the many services without labels (a large Swarm has thousands).
NO_LABELS: Mapping[str, str] = MappingProxyType({})


def kept(record: Any) -> Callable[[], Any]:
    """A record parsed and kept whole, given again when its spec is hashed."""
    return lambda: record


def service(where: str, path: str, **fields: Any) -> Service:
    """A Service, its image reference refused with ``path``; ``fingerprint=`` as recorded."""
    if "fingerprint" in fields:
        fields["spec"] = Spec.hashed(fields.pop("fingerprint"))
    try:
        return Service(**fields)
    except ReferenceError as exc:
        raise InputError(f"{where}: {path}: {exc.message}") from None
