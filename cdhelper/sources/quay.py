"""Quay (quay.io and Red Hat Quay) repository notifications: the ``repo_push`` event.

A webhook notification POSTs the event data as JSON: ``repository`` (``ns/name``),
``namespace``, ``name``, ``docker_url`` (``<SERVER_HOSTNAME>/<ns>/<name>``, no scheme),
``homepage`` and, for a push, ``updated_tags``: a list of tags in current Quay, a map of
tag to image id in legacy (registry v1 era) payloads. One event per updated tag, on the host
of ``docker_url``. Quay sends no digest, no time and no event type (each notification is
bound to one event when it is created), and no signature.

Sources: quay/quay ``notifications/__init__.py`` (``build_repository_event_data``),
``notifications/notificationevent.py`` (``RepoPushEvent``: ``updated_tags`` list),
``endpoints/v2/manifest.py`` (``spawn_notification(..., "repo_push", {"updated_tags":
[tag]})``, one per manifest PUT), ``notifications/notificationmethod.py`` (``WebhookMethod``);
Red Hat Quay docs, "Use Red Hat Quay", chapter "Repository Notifications" (the Repository
Push example; docs.redhat.com, Red Hat Quay 3.2 to 3.8); the legacy map shape from Quay's
own example payload (gist jakedt/7533338, 2013).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdhelper.documents import json_path
from cdhelper.events import PushEvent
from cdhelper.sources.base import Context, Parsed, Source, image

NAME = "quay"


def detect(payload: Mapping[str, Any]) -> bool:
    return "docker_url" in payload and "updated_tags" in payload


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    host = payload["docker_url"].partition("/")[0]
    repository = payload["repository"]
    tags = payload["updated_tags"]
    if not tags:
        return Parsed(ignored=(f"{NAME}: {payload['docker_url']}: a push without updated tags",))
    # A list in current Quay; a map of tag -> image id in legacy payloads.
    named = [(tag, tag) for tag in tags] if isinstance(tags, Mapping) else list(enumerate(tags))
    events = tuple(
        PushEvent(
            NAME,
            image(ctx, json_path("$", ["updated_tags", key]), host, repository, tag),
            None,
            None,
            None,
        )
        for key, tag in named
    )
    return Parsed(events=events)


SOURCE = Source(
    name=NAME,
    title="Quay repository push notification",
    schema="quay-repo-push",
    expects="an object with docker_url and updated_tags",
    detect=detect,
    parse=parse,
)
