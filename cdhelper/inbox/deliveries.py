"""What identifies a delivery, so that a registry's retry of it is answered as a duplicate.

In order: the sender's delivery header (``X-GitHub-Delivery``, Standard Webhooks'
``webhook-id``), then an id the source's payload carries for the whole delivery (the CNCF
registry's event ids, an EventBridge event id, a Pub/Sub message id, an ACR event id, a
Harbor CloudEvents id), then the ids of every push event parsed from it. Docker Hub, Quay
and Artifactory payloads carry none: their deliveries are never deduplicated by id (the
batch still counts identical pushes once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cdhelper.sources.base import Parsed

HEADERS = ("x-github-delivery", "webhook-id")


def _registry(payload: Mapping[str, Any]) -> str | None:
    ids = [event.get("id") for event in payload.get("events", []) if isinstance(event, Mapping)]
    named = [i for i in ids if isinstance(i, str) and i]
    return ",".join(sorted(named)) if named and len(named) == len(ids) else None


def _field(*path: str) -> Callable[[Mapping[str, Any]], str | None]:
    def get(payload: Mapping[str, Any]) -> str | None:
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value if isinstance(value, str) and value else None

    return get


def _gar(payload: Mapping[str, Any]) -> str | None:
    return _field("message", "messageId")(payload) or _field("message", "message_id")(payload)


def _harbor(payload: Mapping[str, Any]) -> str | None:
    # only the CloudEvents format has an id; the default format has none
    return _field("id")(payload) if "specversion" in payload else None


# Per source type: the id of a whole delivery in its payload.
PAYLOAD_IDS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "registry": _registry,
    "ecr": _field("id"),
    "gar": _gar,
    "acr": _field("id"),
    "harbor": _harbor,
}


def delivery_key(
    source_name: str, source_type: str, headers: Mapping[str, str], payload: Any, parsed: Parsed
) -> str | None:
    for header in HEADERS:
        value = headers.get(header, "").strip()
        if value:
            return f"{source_name}:{header}:{value}"
    find = PAYLOAD_IDS.get(source_type)
    if find is not None and isinstance(payload, Mapping):
        found = find(payload)
        if found:
            return f"{source_name}:payload:{found}"
    ids = [event.event_id for event in parsed.events]
    if ids and all(ids):
        return f"{source_name}:events:{','.join(sorted(i for i in ids if i))}"
    return None
