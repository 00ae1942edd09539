"""Helpers for tests against the private Swarm: what services run, what the registry sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import docker

from servers import NotificationReceiver, wait_until

# apply --wait, healthy after 2 s of running (the tests add --timeout)
WAIT = ("--wait", "--monitor", "2")


def spec_image(api: docker.APIClient, name: str) -> str:
    return str(api.inspect_service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def running_digests(api: docker.APIClient, name: str) -> set[str]:
    tasks = api.tasks(filters={"service": name, "desired-state": "running"})
    return {
        t["Spec"]["ContainerSpec"]["Image"].partition("@")[2]
        for t in tasks
        if t["Status"]["State"] == "running"
    }


def notification_file(
    notifications: NotificationReceiver, repository: str, tag: str, digest: str, path: Path
) -> str:
    """The envelope the registry really POSTed for this push, saved as a user's CI would."""

    def delivered() -> list[dict[str, Any]]:
        return [
            body
            for body in notifications.manifest_pushes(repository, tag)
            if any(e["target"].get("digest") == digest for e in body["events"])
        ]

    [envelope, *_] = wait_until(
        delivered, 30, f"the registry's notification for {repository}:{tag}"
    )
    path.write_text(json.dumps(envelope))
    return str(path)


def smart_plan(
    cli_run: Callable[..., Any],
    target: Sequence[str],
    names: str,
    path: Path,
    env: dict[str, str] | None = None,
) -> Path:
    """``plan --smart`` for the services named ``names`` (a glob) on ``target`` (its option
    and address), written to ``path``, as a user would run it."""
    result = cli_run(
        "plan", "--smart", *target, "--filter", f"name={names}", "-o", str(path), env=env
    )
    assert result.exit_code == 0, result.output
    return path
