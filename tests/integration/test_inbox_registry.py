"""The real CNCF registry's notifications into the inbox: a push becomes a plan file."""

from __future__ import annotations

from pathlib import Path

import yaml

from images import index
from inboxes import REG_TOKEN, inbox_in_thread, wait_until, write_config
from servers import Registry


def test_registry_notifications_become_one_plan(servers_ready: None, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    # a window wide enough for both pushes, however slow the machine
    config = write_config(tmp_path, registry_host=registry.host, coalesce_seconds=2)
    with inbox_in_thread(config) as inbox:
        # the registry can only send static headers: the token goes in the URL path here
        registry.notify_url = f"{inbox.url}/hooks/reg/{REG_TOKEN}"
        registry.start()
        try:
            pushed = {
                tag: registry.push("app", tag, index("inbox-release")) for tag in ("v1", "v1.2")
            }
            [path] = wait_until(inbox.plans, 30, "the plan from the registry's notifications")
        finally:
            registry.stop()
    plan = yaml.safe_load(path.read_text())
    actions = {a["service"]["name"]: a["target_digest"] for a in plan["actions"]}
    assert actions == {"int_app-v1": pushed["v1"], "int_app-v1.2": pushed["v1.2"]}
    # the platform manifests, pushed without a tag, and the blobs deploy nothing
    assert {e["image"] for e in plan["events"]} == {
        f"{registry.host}/app:v1",
        f"{registry.host}/app:v1.2",
    }
