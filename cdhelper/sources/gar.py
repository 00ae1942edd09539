"""Google Artifact Registry notifications, delivered by a Pub/Sub push subscription.

Artifact Registry (and Container Registry) publish to the project's ``gcr`` topic; a push
subscription POSTs the envelope ``{"message": {"data", "messageId", "message_id",
"publishTime", "publish_time", "attributes"?, "orderingKey"?}, "subscription",
"deliveryAttempt"?}``. ``message.data`` is base64 of the notification JSON
``{"action": "INSERT" | "DELETE", "digest": "<host>/<path>@sha256:…", "tag":
"<host>/<path>:<tag>"}``, checked against its own schema (``gar-notification``).

An ``INSERT`` with a ``tag`` moves that tag to ``digest``. The image and its registry host
(``europe-west1-docker.pkg.dev``, ``gcr.io``, ...) come from the references, which must
name the same image (a bare ``tag``, without host and path, is tolerated). An ``INSERT``
with only a digest (an untagged upload, or a platform manifest of a multi-arch push) and
every ``DELETE`` deploy nothing. The notification does not say whether the digest is an
index. The timestamp is ``publishTime``, the id ``messageId``.

Only the wrapped format is read: a subscription with payload unwrapping ("no wrapper")
POSTs the bare notification and moves the metadata to headers, which a file cannot carry.

Built to: Artifact Registry "Configure Pub/Sub notifications"
(https://cloud.google.com/artifact-registry/docs/configure-notifications: topic ``gcr``,
the three notification examples, tag absent for a digest-only insert, digest absent for a
tag delete); Pub/Sub "Push subscriptions" (https://cloud.google.com/pubsub/docs/push: the
push request body) and the ``PubsubMessage`` REST reference (``publishTime`` is RFC 3339
with up to nine fractional digits).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cdhelper import documents, parsers
from cdhelper.events import PushEvent
from cdhelper.reference import ReferenceError, split_name
from cdhelper.sources.base import Context, Parsed, Source, digest, image, timestamp

NAME = "gar"
DATA = "$.message.data"


def detect(payload: Mapping[str, Any]) -> bool:
    return isinstance(payload.get("message"), Mapping) and "subscription" in payload


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    message = payload["message"]
    notification = decode(message["data"], ctx)
    action = notification["action"]
    if action != "INSERT":
        return Parsed(ignored=(f"{NAME}: {action}: not a push",))
    if not notification.get("tag"):
        return Parsed(ignored=(f"{NAME}: INSERT of {notification['digest']} without a tag",))
    name, _, pinned = notification["digest"].partition("@")
    host, repository = _split(ctx, f"{DATA}.digest", name)
    pushed = image(ctx, f"{DATA}.tag", host, repository, _tag(ctx, notification["tag"], name))
    time_key = "publishTime" if "publishTime" in message else "publish_time"
    event = PushEvent(
        NAME,
        pushed,
        digest(ctx, f"{DATA}.digest", pinned),
        timestamp(ctx, f"$.message.{time_key}", message.get(time_key)),
        message.get("messageId") or message.get("message_id"),
    )
    return Parsed(events=(event,))


def decode(data: str, ctx: Context) -> dict[str, Any]:
    """``message.data``: base64 of a JSON notification, checked against its schema."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ctx.error(DATA, "not valid base64") from None
    try:
        notification = json.loads(raw.decode("utf-8"), **parsers.JSON_HOOKS)
    except RecursionError:
        raise ctx.error(
            DATA, f"decodes to JSON nested deeper than {parsers.MAX_DEPTH} levels"
        ) from None
    except UnicodeDecodeError:
        raise ctx.error(DATA, "decodes to bytes that are not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ctx.error(
            DATA, f"decodes to text that is not JSON: {exc.msg} at column {exc.colno}"
        ) from None
    parsers.check_tree(notification, ctx.where, "JSON", ctx.at(DATA))
    documents.validate(
        notification,
        "gar-notification",
        ctx.where,
        "Artifact Registry notification",
        ctx.at(DATA),
    )
    result: dict[str, Any] = notification
    return result


def _tag(ctx: Context, text: str, name: str) -> str:
    """The tag of ``<host>/<path>:<tag>`` (documented), which must name the digest's image.

    A bare ``<tag>`` is taken as it is (some receivers accept that form too).
    """
    if "/" not in text:
        return text
    path = f"{DATA}.tag"
    tagged, _, tag = text.rpartition(":")  # the schema made sure there is one after the path
    if _split(ctx, path, tagged) != _split(ctx, f"{DATA}.digest", name):
        raise ctx.error(path, f"a tag of {tagged}, but the digest is of {name}")
    return tag


def _split(ctx: Context, path: str, name: str) -> tuple[str, str]:
    """The (registry, repository) of a reference that must start with its registry host."""
    first = name.partition("/")[0]
    if not ("." in first or ":" in first or first == "localhost"):
        raise ctx.error(path, f"no registry host in {name!r}: expected <host>/<path>")
    try:
        return split_name(name)
    except ReferenceError as exc:
        raise ctx.error(path, exc.message) from None


SOURCE = Source(
    name=NAME,
    title="Google Artifact Registry notification via Pub/Sub push",
    schema="gar-push",
    expects="a Pub/Sub push envelope: message (with data) and subscription",
    detect=detect,
    parse=parse,
)
