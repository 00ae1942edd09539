"""Azure Container Registry (ACR) native webhooks.

Every event is one object: ``id``, ``timestamp``, ``action`` (``push``, ``delete``,
``chart_push``, ``chart_delete``; the portal also offers ``quarantine``, whose payload is
not documented), ``target`` (``mediaType``, ``size``, ``digest``, ``length``,
``repository``, ``tag``; charts add ``name`` and ``version``) and, for image events,
``request`` (``id``, ``host``, ``method``, ``useragent``). Only a ``push`` of a manifest with
a tag moves a tag: the image is ``<request.host>/<target.repository>:<target.tag>`` with the
target's digest and media type (an index wins over its platform manifests, which are pushed
by digest, without a tag, and deploy nothing). Helm chart events carry no ``request``, which
is why a payload is recognised by ``action`` + ``target`` and either ``request`` or a
``chart_`` action, without the ``events`` envelope of a Distribution notification.

Sources: Microsoft Learn "Azure Container Registry webhook reference"
(https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference;
MicrosoftDocs/azure-management-docs
``articles/container-registry/container-registry-webhook-reference.md``: push, chart_push,
delete and chart_delete payloads) and "Using Azure Container Registry webhooks" (actions,
custom headers). ACR signs nothing: authenticate with a custom header set on the webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdhelper.events import MANIFEST_MEDIA_TYPES, PushEvent
from cdhelper.sources.base import Context, Parsed, Source, digest, image, timestamp

NAME = "acr"


def detect(payload: Mapping[str, Any]) -> bool:
    if "events" in payload or not isinstance(payload.get("target"), Mapping):
        return False
    action = payload.get("action")
    return isinstance(action, str) and ("request" in payload or action.startswith("chart_"))


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    why = not_a_deploy_signal(payload)
    if why:
        return Parsed(ignored=(f"{NAME}: {why}",))
    target = payload["target"]
    host = payload["request"]["host"]
    event = PushEvent(
        NAME,
        image(ctx, "$.target.tag", host, target["repository"], target["tag"]),
        digest(ctx, "$.target.digest", target["digest"]),
        timestamp(ctx, "$.timestamp", payload.get("timestamp")),
        payload.get("id"),
        target.get("mediaType") or None,
    )
    return Parsed(events=(event,))


def not_a_deploy_signal(payload: Mapping[str, Any]) -> str | None:
    """Why an event moves no tag, or None for a tagged manifest push."""
    action, target = payload["action"], payload["target"]
    media_type = target.get("mediaType")
    if action != "push":
        return f"{action}: not a push"
    if media_type and media_type not in MANIFEST_MEDIA_TYPES:
        return f"push of {media_type}: not a manifest"
    if not target.get("tag"):
        return f"push of {target['repository']}@{target['digest']} without a tag"
    return None


SOURCE = Source(
    name=NAME,
    title="Azure Container Registry webhook",
    schema="acr-webhook",
    expects="an object with action, target and request (no events envelope)",
    detect=detect,
    parse=parse,
)
