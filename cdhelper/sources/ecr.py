"""Amazon ECR events, delivered as the request body by an EventBridge API destination.

ECR itself calls no webhook: an EventBridge rule on ``source: aws.ecr`` and ``detail-type:
ECR Image Action`` targets an API destination, which POSTs the event unchanged. The event
has ``id``, ``time``, ``account``, ``region`` and ``detail {result, repository-name,
image-digest, action-type, image-tag, manifest-media-type, artifact-media-type}``.

Only ``action-type: PUSH`` with ``result: SUCCESS`` and a non-empty ``image-tag`` moves a
tag. ECR announces the untagged platform manifests of a multi-arch push with an empty tag:
they are ignored, like deletes, failures, archive and restore (``UPDATE_STORAGE_CLASS``),
pushes of non-image manifests, and the other ``aws.ecr`` detail types (scans, replication,
pull through cache, referrers), which are valid payloads that deploy nothing.
``manifest-media-type`` says whether the digest is an index or one manifest.

The registry host is ``<account>.dkr.ecr.<region>.amazonaws.com`` (``.amazonaws.com.cn`` in
the China regions). Services that pull through a FIPS or dual-stack endpoint name the same
registry by another host: match them with ``--registry-alias``.

Built to: Amazon ECR user guide, "Amazon ECR events and EventBridge"
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html, awsdocs
``amazon-ecr-user-guide`` ``ecr-eventbridge.md``: push, delete, scan, archive, restore,
replication, pull through cache and referrer events); the EventBridge schema
``aws.ecr@ECRImageAction`` (AWS CDK ``ECRImageActionProps``, which adds
``manifest-media-type`` and ``artifact-media-type``); EventBridge user guide "API
destinations" (the event is the body).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdhelper.events import MANIFEST_MEDIA_TYPES, PushEvent
from cdhelper.sources.base import Context, Parsed, Source, digest, image, timestamp

NAME = "ecr"
IMAGE_ACTION = "ECR Image Action"


def detect(payload: Mapping[str, Any]) -> bool:
    return payload.get("source") == "aws.ecr" and "detail-type" in payload


def parse(payload: Mapping[str, Any], ctx: Context) -> Parsed:
    why = not_a_deploy_signal(payload)
    if why:
        return Parsed(ignored=(f"{NAME}: {why}",))
    detail = payload["detail"]
    host = registry_host(payload["account"], payload["region"])
    event = PushEvent(
        NAME,
        image(ctx, '$.detail["image-tag"]', host, detail["repository-name"], detail["image-tag"]),
        digest(ctx, '$.detail["image-digest"]', detail["image-digest"]),
        timestamp(ctx, "$.time", payload.get("time")),
        payload.get("id"),
        detail.get("manifest-media-type") or None,
    )
    return Parsed(events=(event,))


def not_a_deploy_signal(payload: Mapping[str, Any]) -> str | None:
    """Why a valid ``aws.ecr`` event moves no tag, or None for a successful tagged push."""
    kind = payload["detail-type"]
    if kind != IMAGE_ACTION:
        return f"{kind}: not an image action"
    detail = payload["detail"]
    action = detail["action-type"]
    if action != "PUSH":
        return f"{action}: not a push"
    if detail["result"] != "SUCCESS":
        return f"PUSH: result {detail['result']}, not SUCCESS"
    media_type = detail.get("manifest-media-type")
    if media_type and media_type not in MANIFEST_MEDIA_TYPES:
        return f"push of {media_type}: not an image manifest"
    if not detail.get("image-tag"):
        return f"push of {detail['repository-name']} without a tag"
    return None


def registry_host(account: str, region: str) -> str:
    """An account's private registry in a region (the China partition ends in ``.cn``)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


SOURCE = Source(
    name=NAME,
    title="Amazon ECR event via EventBridge",
    schema="ecr-event",
    expects='an EventBridge event with source "aws.ecr" and detail-type',
    detect=detect,
    parse=parse,
)
