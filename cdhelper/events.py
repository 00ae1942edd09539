"""Webhook payloads in, normalised push events out.

A payload is a *hint* about what was pushed: cdhelper routes on it, and never trusts it for
more than the image, the tag and (where the registry signed off on it) the digest.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cdhelper import documents
from cdhelper.errors import InputError
from cdhelper.reference import ImageRef, ReferenceError, normalise_registry, normalise_repository

# Manifest and index media types: a push of one of these with a tag moves the tag.
MANIFEST_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)


class EventSource(enum.Enum):
    DOCKERHUB = "dockerhub"
    REGISTRY = "registry"


@dataclass(frozen=True)
class PushEvent:
    """One tag pushed: the normalised image (with its tag), and the digest when known."""

    source: EventSource
    image: ImageRef
    digest: str | None
    timestamp: datetime | None
    event_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "image": self.image.tagged,
            "digest": self.digest,
            "timestamp": format_time(self.timestamp),
            "id": self.event_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PushEvent:
        """Rebuild an event recorded in a plan (already schema-validated)."""
        return cls(
            source=EventSource(data["source"]),
            image=ImageRef.parse(data["image"]),
            digest=data["digest"],
            timestamp=parse_time(data["timestamp"]) if data["timestamp"] else None,
            event_id=data["id"],
        )


def load_events(paths: Sequence[str]) -> list[PushEvent]:
    """Every push event in the files, in input order. A file with none is fine."""
    events: list[PushEvent] = []
    for path in paths:
        where = documents.display_name(path)
        data = documents.parse_json(documents.read_text(path), where)
        events.extend(parse_document(data, where))
    return events


def parse_document(data: Any, where: str) -> list[PushEvent]:
    """A payload, or a JSON list of payloads (each of either source)."""
    if isinstance(data, list):
        events: list[PushEvent] = []
        for index, payload in enumerate(data):
            events.extend(parse_payload(payload, where, f"$[{index}]"))
        return events
    return parse_payload(data, where, "$")


def detect_source(payload: Any) -> EventSource | None:
    if not isinstance(payload, dict):
        return None
    if "events" in payload:
        return EventSource.REGISTRY
    if "push_data" in payload or "repository" in payload:
        return EventSource.DOCKERHUB
    return None


def parse_payload(payload: Any, where: str, base: str = "$") -> list[PushEvent]:
    source = detect_source(payload)
    if source is EventSource.DOCKERHUB:
        documents.validate(payload, "dockerhub-webhook", where, "Docker Hub webhook payload", base)
        return [_from_dockerhub(payload)]
    if source is EventSource.REGISTRY:
        documents.validate(
            payload, "registry-notification", where, "registry notification envelope", base
        )
        return list(_from_registry(payload, where, base))
    raise InputError(
        f"{where}: {base}: unknown payload: expected a Docker Hub webhook (an object with "
        "push_data and repository) or a registry notification envelope (an object with events)"
    )


def _from_dockerhub(payload: Mapping[str, Any]) -> PushEvent:
    repository = payload["repository"]
    name = repository.get("repo_name") or f"{repository['namespace']}/{repository['name']}"
    pushed_at = payload["push_data"].get("pushed_at")
    return PushEvent(
        source=EventSource.DOCKERHUB,
        image=ImageRef(
            "docker.io", normalise_repository("docker.io", name), payload["push_data"]["tag"]
        ),
        digest=None,
        timestamp=datetime.fromtimestamp(pushed_at, UTC) if pushed_at else None,
        event_id=None,
    )


def _from_registry(payload: Mapping[str, Any], where: str, base: str) -> Iterable[PushEvent]:
    for index, event in enumerate(payload["events"]):
        target = event["target"]
        if not is_deploy_signal(event):
            continue
        path = f"{base}.events[{index}]"
        host = urlsplit(target["url"]).netloc if target.get("url") else ""
        host = host.rpartition("@")[2] or event.get("request", {}).get("host", "")
        if not host:
            raise InputError(f"{where}: {path}.target.url: no registry host in the event")
        try:
            image = ImageRef(
                normalise_registry(host),
                normalise_repository(normalise_registry(host), target["repository"]),
                target["tag"],
            )
            timestamp = parse_time(event["timestamp"]) if event.get("timestamp") else None
        except (ReferenceError, ValueError) as exc:
            raise InputError(f"{where}: {path}: {exc}") from None
        yield PushEvent(EventSource.REGISTRY, image, target["digest"], timestamp, event.get("id"))


def is_deploy_signal(event: Mapping[str, Any]) -> bool:
    """A tagged manifest push; layer pushes, pulls, mounts and deletes are noise."""
    target = event["target"]
    media_type = target.get("mediaType")
    return (
        event["action"] == "push"
        and bool(target.get("tag"))
        and (media_type is None or media_type in MANIFEST_MEDIA_TYPES)
    )


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid timestamp {text!r}: expected RFC 3339") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
