"""What makes a delivery a duplicate: the sender's id header, else the payload's ids."""

from __future__ import annotations

from typing import Any

import pytest

from cdhelper.inbox.deliveries import delivery_key
from cdhelper.sources.base import Parsed

from helpers import push

NONE = Parsed()


@pytest.mark.parametrize(
    ("kind", "headers", "payload", "parsed", "key"),
    [
        ("ghcr", {"x-github-delivery": "72d3162e"}, {}, NONE, "s:x-github-delivery:72d3162e"),
        (
            "registry",
            {"webhook-id": "msg_1"},
            {"events": [{"id": "e"}]},
            NONE,
            "s:webhook-id:msg_1",
        ),
        ("registry", {}, {"events": [{"id": "b"}, {"id": "a"}]}, NONE, "s:payload:a,b"),
        ("registry", {}, {"events": [{"id": "b"}, {}]}, NONE, None),
        ("ecr", {}, {"id": "eb-1"}, NONE, "s:payload:eb-1"),
        ("gar", {}, {"message": {"messageId": "m-1"}}, NONE, "s:payload:m-1"),
        ("gar", {}, {"message": {"message_id": "m-2"}}, NONE, "s:payload:m-2"),
        ("acr", {}, {"id": "acr-1"}, NONE, "s:payload:acr-1"),
        ("harbor", {}, {"specversion": "1.0", "id": "ce-1"}, NONE, "s:payload:ce-1"),
        ("harbor", {}, {"id": "not-cloudevents"}, NONE, None),
        ("dockerhub", {}, {"push_data": {}}, NONE, None),
        ("quay", {}, {}, Parsed((push("quay.io/a/b:v1"),)), None),
    ],
    ids=[
        "github",
        "standard-webhooks",
        "registry-ids",
        "registry-id-missing",
        "ecr",
        "gar",
        "gar-snake",
        "acr",
        "harbor-cloudevents",
        "harbor-default",
        "dockerhub",
        "no-ids",
    ],
)
def test_delivery_keys(
    kind: str, headers: dict[str, str], payload: Any, parsed: Parsed, key: str | None
) -> None:
    assert delivery_key("s", kind, headers, payload, parsed) == key


def test_event_ids_when_the_payload_has_no_delivery_id() -> None:
    from dataclasses import replace

    events = (replace(push("r.io/a:v1"), event_id="2"), replace(push("r.io/a:v2"), event_id="1"))
    assert delivery_key("s", "other", {}, {}, Parsed(events)) == "s:events:1,2"
