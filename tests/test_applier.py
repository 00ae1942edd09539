from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC

import pytest

from cdhelper import applier
from cdhelper.errors import ApiError, DeadlineError, OutcomeUnknownError, Terminated
from cdhelper.inventory import Inventory, Service, Target
from cdhelper.plan import Action, Mode, Plan

import helpers
from helpers import digest, service

OLD, NEW = digest("1"), digest("2")
TARGET = Target("swarmpit", "http://127.0.0.1:1")


def make_action(sid: str, *, tag: str = "v1", target: str | None = NEW) -> Action:
    return helpers.make_action(sid, tag=tag, target=target)


@dataclass
class FakeBackend:
    services: list[Service]
    failing: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    target: Target = TARGET

    def inventory(self) -> Inventory:
        return Inventory(self.target, tuple(self.services))

    def service(self, service_id: str) -> Service | None:
        return {s.id: s for s in self.services}.get(service_id)

    def check_target(self, planned: Target) -> None:
        assert planned == self.target

    def redeploy(self, action: Action) -> str:
        self.calls.append(action.service.id)
        if action.service.id in self.failing:
            raise ApiError("boom")
        return "ok"


def make_plan(*actions: Action) -> Plan:
    from datetime import datetime

    return Plan(Mode.WEBHOOK, TARGET, (), actions, (), (), datetime(2026, 1, 1, tzinfo=UTC))


def live(name: str, pinned: str | None = OLD, **kw: object) -> Service:
    return service(name, "r.io/app:v1", pinned, sid=name, **kw)  # type: ignore[arg-type]


def test_applies_every_action() -> None:
    backend = FakeBackend([live("a"), live("b")])
    result = applier.apply(make_plan(make_action("a"), make_action("b")), backend)
    assert result.status is applier.Status.APPLIED and result.ok
    assert backend.calls == ["a", "b"]
    assert [r.outcome for r in result.results] == [applier.Outcome.REDEPLOYED] * 2


def test_version_moved_but_spec_same_is_not_stale() -> None:
    backend = FakeBackend([live("a", version=99)])
    result = applier.apply(make_plan(make_action("a")), backend)
    assert result.status is applier.Status.APPLIED


def test_stale_refuses_whole_plan_and_lists_every_stale_action() -> None:
    backend = FakeBackend(
        [live("a"), live("b", spec_extra="replicas changed"), live("c", pinned=digest("9"))]
    )
    plan = make_plan(make_action("a"), make_action("b"), make_action("c"), make_action("gone"))
    result = applier.apply(plan, backend)
    assert result.status is applier.Status.REFUSED and not result.ok
    assert backend.calls == []
    assert [(r.action.service.id, r.outcome, r.message) for r in result.results] == [
        ("a", applier.Outcome.NOT_APPLIED, "plan refused: not applied"),
        ("b", applier.Outcome.STALE, "spec changed since the plan (version 10 -> 10)"),
        (
            "c",
            applier.Outcome.STALE,
            f"image changed since the plan: r.io/app:v1@{OLD} -> r.io/app:v1@{digest('9')}",
        ),
        ("gone", applier.Outcome.STALE, "service no longer exists"),
    ]


def test_already_at_target_is_reported_not_redeployed() -> None:
    backend = FakeBackend([live("a", pinned=NEW), live("b")])
    result = applier.apply(make_plan(make_action("a"), make_action("b")), backend)
    assert backend.calls == ["b"]
    assert result.results[0].outcome is applier.Outcome.ALREADY_DONE
    assert result.status is applier.Status.APPLIED


def test_one_failure_does_not_stop_the_others() -> None:
    backend = FakeBackend([live("a"), live("b")], failing={"a"})
    result = applier.apply(make_plan(make_action("a"), make_action("b")), backend)
    assert backend.calls == ["a", "b"]
    assert result.status is applier.Status.FAILED and not result.ok
    assert [(r.outcome, r.message) for r in result.results] == [
        (applier.Outcome.FAILED, "boom"),
        (applier.Outcome.REDEPLOYED, "ok"),
    ]


def test_dry_run_calls_nothing_but_checks() -> None:
    backend = FakeBackend([live("a")])
    result = applier.apply(make_plan(make_action("a")), backend, dry_run=True)
    assert backend.calls == []
    assert result.status is applier.Status.DRY_RUN
    assert result.results[0].outcome is applier.Outcome.WOULD_REDEPLOY
    stale = applier.apply(make_plan(make_action("zzz")), backend, dry_run=True)
    assert stale.status is applier.Status.REFUSED


def test_unknown_target_digest_never_counts_as_done() -> None:
    backend = FakeBackend([live("a")])
    action = replace(make_action("a"), target_digest=None)
    assert (
        applier.apply(make_plan(action), backend).results[0].outcome is applier.Outcome.REDEPLOYED
    )


@dataclass
class RacedBackend(FakeBackend):
    """A backend whose services change between the plan's check and each redeploy."""

    later: dict[str, Service | None] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    recheck_errors: dict[str, Exception] = field(default_factory=dict)

    def service(self, service_id: str) -> Service | None:
        if service_id in self.recheck_errors:
            raise self.recheck_errors[service_id]
        if service_id in self.later:
            return self.later[service_id]
        return super().service(service_id)

    def redeploy(self, action: Action) -> str:
        if action.service.id in self.errors:
            self.calls.append(action.service.id)
            raise self.errors[action.service.id]
        return super().redeploy(action)


def test_each_service_is_rechecked_just_before_its_redeploy() -> None:
    backend = RacedBackend(
        [live("a"), live("b"), live("c"), live("d")],
        later={"a": live("a", pinned=NEW), "b": live("b", pinned=digest("9")), "c": None},
    )
    plan = make_plan(*(make_action(sid) for sid in "abcd"))
    result = applier.apply(plan, backend)
    assert backend.calls == ["d"]  # another apply did a, b and c meanwhile
    assert [(r.outcome, r.message) for r in result.results] == [
        (applier.Outcome.ALREADY_DONE, f"already runs {NEW[:19]}"),
        (
            applier.Outcome.STALE,
            f"image changed since the plan: r.io/app:v1@{OLD} -> r.io/app:v1@{digest('9')} "
            "(just before its redeploy)",
        ),
        (applier.Outcome.STALE, "service no longer exists (just before its redeploy)"),
        (applier.Outcome.REDEPLOYED, "ok"),
    ]
    assert result.status is applier.Status.FAILED


def test_no_exception_costs_the_other_actions_their_outcome() -> None:
    backend = RacedBackend(
        [live(sid) for sid in "abcde"],
        errors={
            "a": OutcomeUnknownError("peer: POST x: connection reset; the request may have"),
            "b": RecursionError("maximum recursion depth exceeded"),
            "c": DeadlineError("peer: the time limit of 2 s (--timeout) ran out"),
        },
        recheck_errors={"d": ApiError("peer: GET d: HTTP 502")},
    )
    result = applier.apply(make_plan(*(make_action(sid) for sid in "abcde")), backend)
    assert backend.calls == ["a", "b", "c", "e"]
    assert [(r.outcome, r.message) for r in result.results] == [
        (
            applier.Outcome.UNKNOWN,
            "peer: POST x: connection reset; the request may have: check the service",
        ),
        (
            applier.Outcome.UNKNOWN,
            "unexpected RecursionError: maximum recursion depth exceeded (a bug in cdhelper); "
            "the request may have been sent: check the service",
        ),
        (applier.Outcome.FAILED, "peer: the time limit of 2 s (--timeout) ran out"),
        (applier.Outcome.FAILED, "not redeployed: cannot re-check it: peer: GET d: HTTP 502"),
        (applier.Outcome.REDEPLOYED, "ok"),
    ]
    assert result.status is applier.Status.FAILED and not result.ok


def test_a_bug_while_rechecking_fails_only_that_action() -> None:
    backend = RacedBackend([live("a"), live("b")], recheck_errors={"a": TypeError("bad")})
    result = applier.apply(make_plan(make_action("a"), make_action("b")), backend)
    assert backend.calls == ["b"]
    assert (
        result.results[0].message == "not redeployed: unexpected TypeError: bad (a bug in cdhelper)"
    )


@pytest.mark.parametrize("cause", [KeyboardInterrupt, Terminated], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_apply_keeps_every_outcome(cause: type[KeyboardInterrupt]) -> None:
    """Stopped during b's redeploy: a was redeployed, b may have been sent, c was not."""

    class Interrupted(FakeBackend):
        def redeploy(self, action: Action) -> str:
            if action.service.id == "b":
                raise cause
            return super().redeploy(action)

    backend = Interrupted([live("a"), live("b"), live("c")])
    plan = make_plan(make_action("a"), make_action("b"), make_action("c"))
    with pytest.raises(applier.Interrupted) as stopped:
        applier.apply(plan, backend)
    name = "SIGTERM" if cause is Terminated else "SIGINT"
    assert stopped.value.terminated is (cause is Terminated)
    result = stopped.value.result
    assert (result.status, result.target) == (applier.Status.FAILED, TARGET)
    assert [(r.action.service.id, r.outcome, r.message) for r in result.results] == [
        ("a", applier.Outcome.REDEPLOYED, "ok"),
        (
            "b",
            applier.Outcome.UNKNOWN,
            f"interrupted ({name}) while it was redeployed: the request may have been sent: "
            "check the service",
        ),
        ("c", applier.Outcome.NOT_APPLIED, f"not applied: interrupted ({name})"),
    ]
