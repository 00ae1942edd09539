"""Small builders for test records."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cdhelper.events import PushEvent
from cdhelper.inventory import Service, Spec
from cdhelper.plan import Action, ServiceId
from cdhelper.reference import ImageRef

DATA = Path(__file__).parent / "data"


def digest(char: str) -> str:
    return "sha256:" + char * 64


def service(
    name: str,
    image: str,
    pinned: str | None = None,
    *,
    version: int = 10,
    labels: dict[str, str] | None = None,
    sid: str | None = None,
    spec_extra: str = "",
    stack: str | None = None,
) -> Service:
    return Service(
        id=sid or f"id-{name}",
        name=name,
        stack=stack,
        labels=labels or {},
        image=image,
        digest=pinned,
        version=version,
        spec=Spec(lambda: {"image": image, "digest": pinned, "extra": spec_extra}),
    )


def push(
    image: str,
    pushed: str | None = None,
    *,
    at: int | None = None,
    source: str = "registry",
) -> PushEvent:
    timestamp = datetime.fromtimestamp(at, UTC) if at is not None else None
    return PushEvent(source, ImageRef.parse(image), pushed, timestamp, None)


def make_action(
    sid: str, *, tag: str = "v1", target: str | None = None, live: Service | None = None
) -> Action:
    """The action a plan would hold for ``live`` (by default a service r.io/app:TAG on 1111…)."""
    live = live or service(sid, f"r.io/app:{tag}", digest("1"), sid=sid)
    return Action(
        service=ServiceId(live.id, live.name),
        image=live.ref.tagged,
        spec_image=live.image,
        tag=tag,
        current_digest=live.digest,
        target_digest=target,
        version=live.version,
        fingerprint=live.fingerprint,
        reason="test",
    )


def docker_inventory(directory: Path, services: list[dict[str, Any]]) -> str:
    """Write a Docker Engine ``GET /services``-shaped file for {name, image[, labels]} items."""
    raw = [
        {
            "ID": f"id{index}{s['name']}",
            "Version": {"Index": 10 + index},
            "Spec": {
                "Name": s["name"],
                "Labels": s.get("labels", {}),
                "TaskTemplate": {"ContainerSpec": {"Image": s["image"]}},
            },
        }
        for index, s in enumerate(services)
    ]
    path = directory / "inventory.json"
    path.write_text(json.dumps(raw))
    return str(path)


def swarmpit_inventory(directory: Path, services: list[dict[str, Any]]) -> str:
    """Write a Swarmpit ``GET /api/services``-shaped file for {name, image[, labels]} items."""
    raw = []
    for index, s in enumerate(services):
        image, _, pinned = s["image"].partition("@")
        raw.append(
            {
                "id": f"sp{index}{s['name']}",
                "version": 10 + index,
                "serviceName": s["name"],
                "labels": [{"name": k, "value": v} for k, v in s.get("labels", {}).items()],
                "repository": {"image": image, "imageDigest": pinned or None},
            }
        )
    path = directory / "swarmpit-inventory.json"
    path.write_text(json.dumps(raw))
    return str(path)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON tree (keys and indexes), its root left out."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def run_fresh(script: str, *args: str) -> Any:
    """What ``script`` prints (JSON), run by a fresh interpreter: no thread of the test
    process runs there, so cdhelper may fork as it does from the command line."""
    ran = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return json.loads(ran.stdout)
