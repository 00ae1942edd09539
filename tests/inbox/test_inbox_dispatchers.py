"""The plans and apply dispatchers, and the registry of dispatcher types."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdhelper import backends, plan
from cdhelper.errors import ApiError, ConfigError, InputError
from cdhelper.inbox import dispatchers
from cdhelper.inbox.dispatchers import apply, plans
from cdhelper.inbox.dispatchers.base import DispatchRequest, Mode, Status
from cdhelper.inventory import Inventory, Service, Target

import helpers
from helpers import digest, service

OLD, NEW = digest("1"), digest("2")
TARGET = Target("swarmpit", "http://127.0.0.1:1")


def request(*actions: plan.Action, target: Target = TARGET) -> DispatchRequest:
    made = plan.Plan(
        plan.Mode.WEBHOOK, target, (), actions, (), (), datetime(2026, 11, 30, 5, 1, 2, tzinfo=UTC)
    )
    return DispatchRequest("int", Mode.WEBHOOK, "7", [{"p": 1}], made)


def no_secret(entry: Any, key: str) -> str | None:
    return None


def test_the_registry_names_every_type() -> None:
    assert dispatchers.names()[:2] == ["plans", "apply"]
    assert dispatchers.by_name("plans") is plans.TYPE
    with pytest.raises(ConfigError, match="unknown dispatch type 'fax'"):
        dispatchers.by_name("fax")


def test_plans_writes_one_file_per_batch_atomically(tmp_path: Path) -> None:
    dispatcher = plans.build({"dir": "out/int", "services": {}}, str(tmp_path), no_secret)
    action = helpers.make_action("s1", target=NEW)
    outcome = dispatcher.dispatch(request(action))
    path = tmp_path / "out" / "int" / "int-20261130T050102Z-7.yaml"
    assert outcome.status is Status.DONE
    assert outcome.detail == f"wrote {path}"
    assert outcome.record == {"file": str(path)}
    assert yaml.safe_load(path.read_text())["actions"][0]["service"]["id"] == "s1"
    again = dispatcher.dispatch(request(action))  # a retry after a crash: the same file
    assert again.status is Status.DONE
    assert os.listdir(path.parent) == [path.name]


def test_plans_retries_when_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file, not a folder")
    dispatcher = plans.build({"dir": "blocked", "services": {}}, str(tmp_path), no_secret)
    outcome = dispatcher.dispatch(request(helpers.make_action("s1")))
    assert outcome.status is Status.RETRY
    assert outcome.detail.startswith(f"cannot write {tmp_path}/blocked/int-")


class FakeBackend:
    def __init__(self, services: list[Service], fail: Exception | None = None) -> None:
        self.services = services
        self.fail = fail
        self.calls: list[str] = []
        self.target = TARGET

    def inventory(self) -> Inventory:
        if self.fail:
            raise self.fail
        return Inventory(self.target, tuple(self.services))

    def check_target(self, planned: Target) -> None:
        assert planned == self.target

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def redeploy(self, action: plan.Action) -> str:
        self.calls.append(action.service.id)
        return "redeploy started"


def apply_with(
    monkeypatch: pytest.MonkeyPatch,
    backend: FakeBackend | Callable[..., Any],
    entry: dict[str, Any] | None = None,
) -> apply.ApplyDispatcher:
    connect = backend if callable(backend) else (lambda *args: backend)
    monkeypatch.setattr(backends, "apply_backend", connect)
    services = {"swarmpit_url": "http://127.0.0.1:1", "token_env": "T"}
    return apply.build({"services": services, **(entry or {})}, "/", lambda e, k: "tok")


def live(name: str, pinned: str | None = OLD) -> Service:
    return service(name, "r.io/app:v1", pinned, sid=name)


def test_apply_applies_and_keeps_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeBackend([live("s1"), live("s2", NEW)])
    dispatcher = apply_with(monkeypatch, backend, {"wait": True, "timeout_seconds": 5})
    assert (dispatcher.wait, dispatcher.timeout) == (True, 5.0)
    actions = [helpers.make_action(sid, target=NEW, live=live(sid)) for sid in ("s1", "s2")]
    outcome = dispatcher.dispatch(request(*actions))
    assert outcome.status is Status.DONE
    assert outcome.detail == "applied: 1 already-done, 1 redeployed"
    assert backend.calls == ["s1"]
    assert outcome.record is not None and outcome.record["plan"] == "batch 7"
    assert [r["outcome"] for r in outcome.record["results"]] == ["redeployed", "already-done"]


def test_apply_refused_as_stale_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeBackend([])
    outcome = apply_with(monkeypatch, backend).dispatch(
        request(helpers.make_action("s1", target=NEW))
    )
    assert outcome.status is Status.FAILED
    assert outcome.detail == "refused: 1 stale"
    assert backend.calls == []


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ApiError("Swarmpit at http://127.0.0.1:1: connection refused"), Status.RETRY),
        (ApiError("503", status=503), Status.RETRY),
        (ApiError("429", status=429), Status.RETRY),
        (ApiError("401: token refused", status=401), Status.FAILED),
        (InputError("bad answer"), Status.FAILED),
    ],
    ids=["unreachable", "5xx", "429", "401", "input"],
)
def test_apply_errors_before_anything_was_touched(
    monkeypatch: pytest.MonkeyPatch, error: Exception, status: Status
) -> None:
    backend = FakeBackend([live("s1")], fail=error)
    outcome = apply_with(monkeypatch, backend).dispatch(
        request(helpers.make_action("s1", target=NEW))
    )
    assert outcome.status is status
    assert outcome.detail == str(error)


def test_apply_config_errors_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> Any:
        raise ConfigError("the plan was made for Swarmpit, not a Docker Engine")

    outcome = apply_with(monkeypatch, refuse).dispatch(request(helpers.make_action("s1")))
    assert (outcome.status, outcome.detail) == (
        Status.FAILED,
        "the plan was made for Swarmpit, not a Docker Engine",
    )


def test_apply_needs_live_services() -> None:
    with pytest.raises(ConfigError, match="apply needs live services"):
        apply.build({"services": {"file": "/x.json"}}, "/", no_secret)


def test_apply_passes_the_swarmpit_token_to_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str] = {}

    def connect(target: Target, addresses: Any, environ: dict[str, str]) -> FakeBackend:
        seen.update(environ)
        return FakeBackend([])

    apply_with(monkeypatch, connect).dispatch(request())
    assert seen["CDHELPER_SWARMPIT_TOKEN"] == "tok"
