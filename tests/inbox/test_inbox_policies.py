"""Per-environment release policies in the inbox: min_age, windows, a dispatch that waits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_inbox_worker import Recorder, Setup, release

from cdhelper.errors import InputError
from cdhelper.events import PushEvent
from cdhelper.inbox import config as configuration
from cdhelper.inbox.config import EnvironmentConfig
from cdhelper.inbox.dispatchers.apply import ApplyDispatcher
from cdhelper.inbox.dispatchers.base import DispatchOutcome, DispatchRequest, Mode, Status
from cdhelper.inventory import Target
from cdhelper.plan import Mode as PlanMode
from cdhelper.plan import Plan, Policies, Rule, ServiceId, Skip
from cdhelper.windows import DAYS

from inboxes import ENVIRON, write_config


def environment(**extra: object) -> list[dict[str, object]]:
    return [
        {
            "name": "int",
            "services": {"file": "inventory.json"},
            "filters": ["stack=int"],
            "dispatch": {"type": "plans", "dir": "plans"},
            **extra,
        }
    ]


def test_environment_policies_are_read(tmp_path: Path) -> None:
    envs = environment(min_age="2h", windows=["Mon-Fri 06:00-18:00 Europe/Berlin"])
    config = configuration.load(str(write_config(tmp_path, environments=envs)), ENVIRON)
    [env] = config.environments
    assert env.min_age == timedelta(hours=2)
    assert [w.text for w in env.windows] == ["Mon-Fri 06:00-18:00 Europe/Berlin"]
    assert env.state == str(tmp_path / "state")


def test_a_bad_window_is_a_problem_with_its_path(tmp_path: Path) -> None:
    envs = environment(windows=["Mon-Fri 06:00-18:00", "weekdays"])
    with pytest.raises(InputError) as problem:
        configuration.load(str(write_config(tmp_path, environments=envs)), ENVIRON)
    assert [p.split(":")[0] for p in problem.value.problems] == ["$.environments[0].windows[1]"]


def test_a_dispatch_outside_its_window_waits_beyond_the_retry_budget(tmp_path: Path) -> None:
    later = 1000.0 + 86400
    recorder = Recorder(
        DispatchOutcome(Status.RETRY, "outside every deploy window", not_before=later),
        DispatchOutcome(Status.DONE, "applied"),
    )
    s = Setup(tmp_path, recorder, dispatch_retry_seconds=10)
    s.deliver(*release())
    s.step(1001.0)
    [waiting] = s.store.pending()
    assert waiting.next_attempt_at == later
    s.step(later)
    [row] = s.dispatches()
    assert row["status"] == "done" and len(recorder.requests) == 2


def test_the_apply_dispatcher_waits_for_the_plans_window() -> None:
    now = datetime.now(UTC)
    day = DAYS[(now.weekday() + 3) % 7]
    plan = Plan(
        mode=PlanMode.WEBHOOK,
        target=Target("docker", "unix:///nonexistent.sock", "cluster"),
        events=(),
        actions=(),
        skipped=(),
        warnings=(),
        created_at=now,
        policies=Policies(windows=(f"{day} 00:00-00:01",)),
    )
    request = DispatchRequest("int", Mode.WEBHOOK, "1", (), plan)
    outcome = ApplyDispatcher({}, wait=False, timeout=5).dispatch(request)
    assert outcome.status is Status.RETRY
    assert outcome.detail.startswith("refusing to apply: outside every deploy window")
    assert outcome.not_before is not None
    opens = datetime.fromtimestamp(outcome.not_before, UTC)
    assert opens.strftime("%a %H:%M") == f"{day} 00:00" and opens > now


def test_what_a_minimum_age_held_back_is_planned_again_when_old_enough(tmp_path: Path) -> None:
    modes: list[PlanMode] = []
    eligible = datetime.fromtimestamp(5000.0, UTC)

    def planner(
        env: EnvironmentConfig, mode: PlanMode, events: Iterable[PushEvent], now: datetime
    ) -> Plan:
        modes.append(mode)
        held = (Skip(ServiceId("s1", "web"), "r.io/app:v1", "too new", Rule.MIN_AGE, eligible),)
        return Plan(
            mode=mode,
            target=Target("swarmpit", None),
            events=(),
            actions=(),
            skipped=held if mode is PlanMode.WEBHOOK else (),
            warnings=(),
            created_at=now,
        )

    s = Setup(tmp_path, Recorder(), planner)
    s.deliver(*release())
    s.step(1001.0)
    s.step(4999.0)  # not yet old enough
    assert modes == [PlanMode.WEBHOOK]
    s.step(5000.0)
    assert modes == [PlanMode.WEBHOOK, PlanMode.SMART]
    [smart, _] = s.store.recent()["batches"]
    assert (smart["mode"], smart["trigger"]) == ("smart", "min-age")
