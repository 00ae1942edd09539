"""``cdhelper serve`` as a real process: signed deliveries in, plan files out, a ``kill -9``
between accepting and dispatching, and no secret ever in its log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cdhelper.cli import cli

from helpers import digest
from inboxes import (
    ENVIRON,
    HUB_TOKEN,
    REG_TOKEN,
    RELEASE,
    SECRETS,
    InboxProcess,
    hub_push,
    registry_push,
    standard_headers,
    wait_until,
    write_config,
)


@pytest.fixture
def started() -> Iterator[list[InboxProcess]]:
    processes: list[InboxProcess] = []
    yield processes
    for process in processes:
        process.stop()


def plans(folder: Path) -> list[Path]:
    return sorted((folder / "plans").glob("*.yaml")) if (folder / "plans").exists() else []


def status(config: Path) -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(
        cli, ["inbox", "status", "--config", str(config), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    loaded: dict[str, list[dict[str, object]]] = json.loads(result.output)
    return loaded


def test_signed_deliveries_become_one_plan_file(
    tmp_path: Path, started: list[InboxProcess]
) -> None:
    # long enough that a release's deliveries share a batch on a busy machine
    config = write_config(tmp_path, coalesce_seconds=2, max_batch_seconds=10)
    inbox = InboxProcess(config, tmp_path / "inbox.log").start()
    started.append(inbox)
    for number, tag in enumerate(RELEASE):
        body = registry_push(tag, digest("2"), f"evt-{number}")
        assert (
            inbox.post("/hooks/signed", body, standard_headers(body, f"msg-{number}")).status_code
            == 202
        )
    assert inbox.post(f"/hooks/hub/{HUB_TOKEN}", hub_push("INT")).status_code == 202
    assert inbox.post("/hooks/hub/not-the-token", hub_push("INT")).status_code == 401
    [path] = wait_until(lambda: plans(tmp_path), what="the plan file")
    plan = yaml.safe_load(path.read_text())
    assert sorted(a["service"]["name"] for a in plan["actions"]) == sorted(
        [f"int_app-{t}" for t in RELEASE] + ["int_hub"]
    )
    hub_action = next(a for a in plan["actions"] if a["service"]["name"] == "int_hub")
    assert hub_action["target_digest"] is None
    assert hub_action["reason"].startswith(
        "tag INT pushed (the webhook gives no digest) via dockerhub"
    )
    wait_until(lambda: status(config)["dispatches"][0]["status"] == "done", what="the dispatch")
    recent = status(config)
    assert [d["outcome"] for d in recent["deliveries"]] == ["accepted"] * 5
    assert recent["batches"][0]["deliveries"] == 5
    inbox.stop()
    text = CliRunner().invoke(cli, ["inbox", "status", "--config", str(config)]).output
    assert f"batch 1 -> int (plans): done after 1 attempt(s): wrote {path}" in text
    logged = inbox.log.read_text()
    assert '"event": "delivery"' in logged and '"event": "dispatch"' in logged
    assert not any(secret in logged for secret in SECRETS)  # nor the token in the URL path
    assert "/hooks/" not in logged


def test_kill_9_between_accepting_and_dispatching(
    tmp_path: Path, started: list[InboxProcess]
) -> None:
    slow = write_config(tmp_path, coalesce_seconds=30, max_batch_seconds=60)
    first = InboxProcess(slow, tmp_path / "first.log").start()
    started.append(first)
    bearer = {"Authorization": f"Bearer {REG_TOKEN}"}
    for number, tag in enumerate(RELEASE):
        answer = first.post("/hooks/reg", registry_push(tag, digest("3"), f"k-{number}"), bearer)
        assert answer.status_code == 202
    first.kill()
    assert plans(tmp_path) == []
    # the same store, a short coalescing window: the batch is due at once after the restart
    quick = write_config(tmp_path, coalesce_seconds=0.3, max_batch_seconds=60)
    second = InboxProcess(quick, tmp_path / "second.log").start()
    started.append(second)
    [path] = wait_until(lambda: plans(tmp_path), what="the plan after the restart")
    assert len(yaml.safe_load(path.read_text())["actions"]) == len(RELEASE)
    wait_until(lambda: status(quick)["dispatches"][0]["status"] == "done", what="the dispatch")
    # a delivery retried by the registry after the crash is still a duplicate
    retried = second.post("/hooks/reg", registry_push("v1", digest("3"), "k-0"), bearer)
    assert retried.json() == {"status": "duplicate"}
    second.kill()
    third = InboxProcess(quick, tmp_path / "third.log").start()
    started.append(third)
    assert third.post("/hooks/reg", b"{}", {}).status_code == 401  # up and answering
    assert plans(tmp_path) == [path]  # nothing confirmed is dispatched twice
    dispatches = status(quick)["dispatches"]
    assert [(d["status"], d["attempts"]) for d in dispatches] == [("done", 1)]


def test_serve_refuses_a_bad_config_before_listening(tmp_path: Path) -> None:
    config = write_config(tmp_path, sources=[{"name": "a", "type": "dockerhub"}])
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)], env=ENVIRON)
    assert result.exit_code == 1
    assert "$.sources[0]: no authentication" in result.output
    bad_listen = CliRunner().invoke(cli, ["serve", "--config", str(config), "--listen", "nowhere"])
    assert bad_listen.exit_code == 2
    assert "invalid listen address 'nowhere'" in bad_listen.output


def test_inbox_status_before_any_serve(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(cli, ["inbox", "status", "--config", str(config)])
    assert result.exit_code == 1
    assert "no inbox store yet" in result.output
