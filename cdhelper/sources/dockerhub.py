"""Docker Hub webhooks: one push of one tag, no digest, no signature.

Docker Hub sends ``push_data`` (the tag, ``pushed_at``) and ``repository`` (``repo_name``).
The registry is always Docker Hub. Set the webhook URL in the repository's Webhooks tab.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cdhelper.events import PushEvent
from cdhelper.reference import DOCKER_HUB
from cdhelper.sources.base import Context, Parsed, Source, image

NAME = "dockerhub"


def detect(payload: Mapping[str, Any]) -> bool:
    return "push_data" in payload and "repository" in payload


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    repository = payload["repository"]
    name = repository.get("repo_name") or f"{repository['namespace']}/{repository['name']}"
    pushed_at = payload["push_data"].get("pushed_at")
    try:
        when = datetime.fromtimestamp(pushed_at, UTC) if pushed_at else None
    except (OverflowError, OSError, ValueError):
        raise ctx.error("$.push_data.pushed_at", f"time out of range: {pushed_at}") from None
    pushed = image(ctx, "$.push_data.tag", DOCKER_HUB, name, payload["push_data"]["tag"])
    return Parsed(events=(PushEvent(NAME, pushed, None, when, None),))


SOURCE = Source(
    name=NAME,
    title="Docker Hub webhook payload",
    schema="dockerhub-webhook",
    expects="an object with push_data and repository",
    detect=detect,
    parse=parse,
)
