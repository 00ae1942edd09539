"""CNCF Distribution notifications (``registry:2``, GitLab self-managed, Zot, ...).

An envelope ``{"events": [...]}`` of unrelated events. Only a push of a manifest or index
with a tag moves a tag; layer pushes, pulls, mounts and deletes are noise. The registry
host is the host of ``target.url`` (else ``request.host``). Configured on the registry as
``notifications.endpoints[]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdhelper.events import MANIFEST_MEDIA_TYPES, PushEvent
from cdhelper.sources.base import Context, Parsed, Source, digest, image, timestamp, url_host
from cdhelper.values import shown

NAME = "registry"


def detect(payload: Mapping[str, Any]) -> bool:
    return isinstance(payload.get("events"), list)


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    events: list[PushEvent] = []
    ignored: list[str] = []
    for index, event in enumerate(payload["events"]):
        path = f"$.events[{index}]"
        why = not_a_deploy_signal(event)
        if why:
            ignored.append(f"{NAME}: {ctx.at(path)}: {why}")
            continue
        events.append(_event(event, ctx, path))
    return Parsed(tuple(events), tuple(ignored))


def not_a_deploy_signal(event: Mapping[str, Any]) -> str | None:
    """Why an event moves no tag, or None for a tagged manifest push."""
    target = event["target"]
    media_type = target.get("mediaType")
    if event["action"] != "push":
        return f"{shown(event['action'], quote=str)}: not a push"
    if media_type is not None and media_type not in MANIFEST_MEDIA_TYPES:
        return f"push of {shown(media_type, quote=str)}: not a manifest"
    if not target.get("tag"):
        return "push without a tag"
    return None


def _event(event: Mapping[str, Any], ctx: Context, path: str) -> PushEvent:
    target = event["target"]
    try:
        host = url_host(target["url"]) if target.get("url") else ""
    except ValueError as exc:  # "http://[::1" and other URLs urllib cannot split
        raise ctx.error(f"{path}.target.url", f"invalid URL: {exc}") from None
    host = host or (event.get("request") or {}).get("host", "")
    if not host:
        raise ctx.error(f"{path}.target.url", "no registry host in the event")
    return PushEvent(
        NAME,
        image(ctx, f"{path}.target", host, target["repository"], target["tag"]),
        digest(ctx, f"{path}.target.digest", target.get("digest")),
        timestamp(ctx, f"{path}.timestamp", event.get("timestamp")),
        event.get("id"),
        target.get("mediaType"),
    )


SOURCE = Source(
    name=NAME,
    title="registry notification envelope (CNCF Distribution)",
    schema="registry-notification",
    expects="an object with an events array",
    detect=detect,
    parse=parse,
)
