"""Revert plans from apply reports; the rollout reports they are made from."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from cdhelper import documents, plan, report, revert, signing
from cdhelper.applier import ActionResult, ApplyResult, Outcome, Status
from cdhelper.cli import cli
from cdhelper.errors import ConfigError, InputError
from cdhelper.inventory import Target

from helpers import digest, make_action, service

NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)
TARGET = Target("docker", "unix:///run/docker.sock", "c1")
OLD, NEW = digest("1"), digest("2")


def moved(sid: str, outcome: Outcome, after: str | None = NEW, **kw: object) -> ActionResult:
    action = make_action(sid, target=NEW)
    left = service(sid, "r.io/app:v1", after, sid=sid, version=12, spec_extra="after")
    return ActionResult(action, outcome, "m", 3.5, after=left, watched=True, **kw)  # type: ignore[arg-type]


def rollout_result() -> ApplyResult:
    return ApplyResult(
        TARGET,
        Status.FAILED,
        (
            moved("a", Outcome.REDEPLOYED),
            moved("b", Outcome.ROLLED_BACK, OLD, task_errors=("task: non-zero exit (3)",)),
            moved("c", Outcome.FAILED),  # --on-failure pause: left on the new digest
            ActionResult(make_action("d", target=NEW), Outcome.NOT_APPLIED, "not applied"),
            replace(moved("e", Outcome.UNKNOWN), after=None),
            ActionResult(make_action("f", target=NEW), Outcome.ALREADY_DONE, "already"),
        ),
    )


def test_the_report_records_digests_time_errors_and_the_state_left() -> None:
    data = report.apply_report(rollout_result(), "plan.yaml")
    assert documents.schema_errors(data, "apply-report") == []
    a, b, *_, e, f = data["results"]
    assert (a["digest_before"], a["digest_after"], a["seconds"]) == (OLD, NEW, 3.5)
    assert a["after"]["version"] == 12 and a["after"]["image"] == "r.io/app:v1"
    assert b["outcome"] == "rolled-back" and b["task_errors"] == ["task: non-zero exit (3)"]
    assert (e["digest_after"], e["after"]) == (None, None)
    assert (f["digest_after"], f["seconds"]) == (NEW, None)


def test_revert_plan_undoes_what_the_apply_left_moved() -> None:
    data = json.loads(documents.dump_json(report.apply_report(rollout_result(), "plan.yaml")))
    made = revert.revert_plan(data, NOW)
    assert made.mode is plan.Mode.REVERT and made.target == TARGET
    assert [(a.service.id, a.current_digest, a.target_digest, a.version) for a in made.actions] == [
        ("a", NEW, OLD, 12),
        ("c", NEW, OLD, 12),
    ]
    a = made.actions[0]
    assert a.fingerprint == service("a", "r.io/app:v1", NEW, spec_extra="after").fingerprint
    assert (
        a.reason == "revert: back to the digest it ran before the apply of plan.yaml (redeployed)"
    )
    assert {s.service.id: s.reason for s in made.skipped} == {
        "b": "not reverted: the apply rolled it back already",
        "d": "not reverted: the apply did not touch it",
        "e": "not reverted: the apply (unknown) could not say what it left: check it",
        "f": "not reverted: the apply found it already on its target",
    }
    assert plan.loads(plan.dumps(made), "revert.yaml") == made  # an ordinary plan


def test_revert_skips_what_has_no_exact_way_back() -> None:
    unpinned = replace(moved("a", Outcome.REDEPLOYED), action=make_action("a", target=NEW))
    unpinned = replace(unpinned, action=replace(unpinned.action, current_digest=None))
    same = moved("b", Outcome.REDEPLOYED, OLD)
    data = report.apply_report(ApplyResult(TARGET, Status.APPLIED, (unpinned, same)), "p")
    made = revert.revert_plan(data, NOW)
    assert made.actions == ()
    assert [s.reason for s in made.skipped] == [
        "not reverted: it ran no pinned digest before the apply, nothing exact to go to",
        f"not reverted: it runs {OLD[:19]} again already",
    ]


def test_swarmpit_reports_cannot_be_reverted() -> None:
    result = replace(rollout_result(), target=Target("swarmpit", "https://sp.example"))
    with pytest.raises(ConfigError, match="cannot revert through Swarmpit: it redeploys"):
        revert.revert_plan(report.apply_report(result, "p"), NOW)


def test_load_report_validates_it(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"format": "cdhelper-apply-report", "format_version": 1}))
    with pytest.raises(InputError, match="a report of format 1 does not record the state"):
        revert.load_report(str(path))
    data = report.apply_report(rollout_result(), "p")
    data["results"][0]["outcome"] = "exploded"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        revert.load_report(str(path))
    assert "$.results[0].outcome: expected one of" in str(info.value)


def test_revert_command_writes_a_plan(tmp_path: Path) -> None:
    path, out = tmp_path / "report.json", tmp_path / "revert.yaml"
    path.write_text(documents.dump_json(report.apply_report(rollout_result(), "plan.yaml")))
    result = CliRunner().invoke(cli, ["revert", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "cdhelper plan (revert)" in result.stdout and "2 to redeploy, 4 skipped" in result.stdout
    assert len(plan.load(str(out)).actions) == 2
    to_stdout = CliRunner().invoke(cli, ["revert", str(path)])
    assert to_stdout.exit_code == 0 and "mode: revert" in to_stdout.stdout


def test_rollout_text_markdown_and_junit() -> None:
    result = rollout_result()
    text = report.apply_text(result)
    assert f"  redeployed      a (a) [{OLD[:19]} -> {NEW[:19]}, 3.5 s]: m" in text
    assert "  not-applied     d (d): not applied" in text
    markdown = report.apply_markdown(result)
    assert markdown.startswith("### cdhelper apply: failed\n")
    parsed = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert sum(1 for t in parsed if t.type == "tr_open") == 1 + 6
    assert "task errors: task: non-zero exit (3)" in markdown
    junit = ElementTree.fromstring(report.apply_junit(result, make_plan(), NOW))
    [rolled] = [c for c in junit.iter("testcase") if c.get("name") == "b (b)"]
    failure = rolled.find("failure")
    assert failure is not None and failure.get("type") == "rolled-back"
    assert rolled.get("time") == "3.500"
    assert "task error: task: non-zero exit (3)" in (failure.text or "")


def make_plan() -> plan.Plan:
    return plan.Plan(plan.Mode.WEBHOOK, TARGET, (), (), (), (), NOW)


def test_unwritten_reports_count_rollbacks_as_done() -> None:
    text = report.unwritten_reports(rollout_result(), ["report.json: cannot write"])
    assert text.startswith("redeploys were done (1 redeployed, 1 rolled-back, 1 unknown)")


def test_revert_plans_are_signed_like_any_plan(tmp_path: Path) -> None:
    path, out = tmp_path / "report.json", tmp_path / "revert.yaml"
    path.write_text(documents.dump_json(report.apply_report(rollout_result(), "plan.yaml")))
    env = {"CDHELPER_PLAN_KEY": "a-long-random-key"}
    result = CliRunner().invoke(cli, ["revert", str(path), "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert plan.load(str(out), b"a-long-random-key").signature is signing.Check.VALID
    same = CliRunner().invoke(cli, ["revert", str(path), "-o", str(path)])
    assert same.exit_code == 2 and "is also an input" in same.stderr


def test_reverting_a_tag_change_goes_back_to_the_old_tag() -> None:
    action = replace(
        make_action("s", tag="v1.5.0", target=NEW, live=service("s", "r.io/app:v1.4.0", OLD)),
        image="r.io/app:v1.5.0",
        spec_image="r.io/app:v1.5.0",
        current_image="r.io/app:v1.4.0",
    )
    left = service("s", "r.io/app:v1.5.0", NEW, sid="id-s", version=12, spec_extra="after")
    result = ApplyResult(
        TARGET, Status.APPLIED, (ActionResult(action, Outcome.REDEPLOYED, "m", 1.0, after=left),)
    )
    data = json.loads(documents.dump_json(report.apply_report(result, "plan.yaml")))
    assert documents.schema_errors(data, "apply-report") == []
    assert data["results"][0]["current_image"] == "r.io/app:v1.4.0"
    [back] = revert.revert_plan(data, NOW).actions
    assert (back.image, back.spec_image, back.tag, back.current_image, back.target_digest) == (
        "r.io/app:v1.4.0",
        "r.io/app:v1.4.0",
        "v1.4.0",
        "r.io/app:v1.5.0",
        OLD,
    )
    assert back.reason.startswith("revert: back to tag v1.4.0 and the digest it ran before")
