"""Harbor webhooks, in both payload formats a webhook policy can choose.

*Default* format (``Content-Type: application/json``): ``type`` (``PUSH_ARTIFACT``,
``PULL_ARTIFACT``, ``DELETE_ARTIFACT``, ``SCANNING_COMPLETED``, ``QUOTA_EXCEED``,
``REPLICATION``, ``TAG_RETENTION``, ...), ``occur_at`` (Unix seconds), ``operator`` and
``event_data``. *CloudEvents* format (Harbor 2.8 and later, ``application/cloudevents+json``):
``specversion``, ``id``, ``source``, ``type`` (``harbor.artifact.pushed``, ``.pulled``,
``.deleted``, ...), ``time``, ``datacontenttype``, the extensions ``requestid`` and
``operator``, and ``data`` holding the same object as ``event_data``. A payload is told
apart by ``event_data`` + ``occur_at`` or by ``specversion`` + a ``harbor.`` type.

Only an artifact push moves a tag. Its ``resources[]`` each carry ``digest``, ``tag`` and
``resource_url`` (``<external host>/<project>/<repo>:<tag>``, no scheme): one event per
tagged resource, on the host of ``resource_url``, repository ``repository.repo_full_name``.
A push without a tag (each platform manifest of a multi-platform image is pushed by digest
before its index) puts the digest in ``tag`` and ``@`` in ``resource_url``: it deploys
nothing. Harbor reports only the first tag of a push and never a media type.

Sources: goharbor/harbor ``src/pkg/notifier/formats/default.go`` and ``cloudevents.go``
(payload examples, ``eventTypeMapping``), ``src/pkg/notifier/model/event.go`` (fields),
``src/controller/event/handler/webhook/artifact/artifact.go`` (one resource, the first tag or
else the digest; ``BuildImageResourceURL``); goharbor.io "Configure Webhooks":
https://goharbor.io/docs/main/working-with-projects/project-configuration/configure-webhooks/
The webhook policy's "Auth Header" arrives verbatim as ``Authorization``; no body signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cdhelper.events import PushEvent
from cdhelper.reference import is_digest
from cdhelper.sources.base import Context, Parsed, Source, digest, image, timestamp

NAME = "harbor"
_PUSHES = frozenset({"PUSH_ARTIFACT", "harbor.artifact.pushed"})


def detect(payload: Mapping[str, Any]) -> bool:
    if "specversion" in payload:
        kind = payload.get("type")
        return isinstance(kind, str) and kind.startswith("harbor.")
    return "event_data" in payload and "occur_at" in payload


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    cloudevents = "specversion" in payload
    key = "data" if cloudevents else "event_data"
    kind = payload["type"]
    if kind not in _PUSHES:
        return Parsed(ignored=(f"{NAME}: {kind}: not a push",))
    if cloudevents:
        when = timestamp(ctx, "$.time", payload.get("time"))
    else:
        when = _epoch(ctx, payload["occur_at"])
    repository = payload[key]["repository"]["repo_full_name"]
    events: list[PushEvent] = []
    ignored: list[str] = []
    for index, resource in enumerate(payload[key]["resources"]):
        path = f"$.{key}.resources[{index}]"
        tag, url = resource["tag"], resource["resource_url"]
        if not tag or is_digest(tag) or "@" in url:
            ignored.append(f"{NAME}: {ctx.at(path)}: push of {url} without a tag")
            continue
        events.append(
            PushEvent(
                NAME,
                image(ctx, f"{path}.tag", _host(url), repository, tag),
                digest(ctx, f"{path}.digest", resource.get("digest")),
                when,
                payload.get("id") if cloudevents else None,
            )
        )
    return Parsed(tuple(events), tuple(ignored))


def _host(resource_url: str) -> str:
    """``harbor.example.com:8443/library/app:v1`` -> ``harbor.example.com:8443``."""
    return resource_url.split("://", 1)[-1].partition("/")[0]


def _epoch(ctx: Context, seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ctx.error("$.occur_at", f"time out of range: {seconds}") from None


SOURCE = Source(
    name=NAME,
    title="Harbor webhook (Default or CloudEvents format)",
    schema="harbor-webhook",
    expects="an object with type, occur_at and event_data, or a CloudEvent of a harbor.* type",
    detect=detect,
    parse=parse,
)
