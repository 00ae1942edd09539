from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from xml.etree import ElementTree

from click.testing import CliRunner
from markdown_it import MarkdownIt

from cdhelper import report, sources
from cdhelper.applier import ActionResult, ApplyResult, Outcome, Status
from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.inventory import Target
from cdhelper.plan import Mode, Plan, ServiceId, Skip

from helpers import DATA, digest, make_action, push

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TARGET = Target("docker", "unix:///run/docker.sock", "c1")


def sample_plan() -> Plan:
    actions = (
        make_action("a", target=digest("2")),
        replace(make_action("b", target=None), reason="pipe | in the reason"),
    )
    skipped = (
        Skip(ServiceId("c", "c"), "r.io/app:v1", "opted out: label cdhelper.redeploy=false"),
    )
    return Plan(
        Mode.WEBHOOK,
        TARGET,
        (push("r.io/app:v1", digest("2"), at=1),),
        actions,
        skipped,
        ("a warning",),
        NOW,
    )


def tokens(markdown: str) -> list[str]:
    return [t.type for t in MarkdownIt("commonmark").enable("table").parse(markdown)]


def test_markdown_is_github_flavoured_tables() -> None:
    text = report.plan_markdown(sample_plan())
    assert text.startswith("### cdhelper plan: 2 to redeploy, 1 skipped\n")
    found = tokens(text)
    assert found.count("table_open") == 3  # actions, skipped, events
    parsed = MarkdownIt("commonmark").enable("table").parse(text)
    rows = [t for t in parsed if t.type == "tr_open"]
    assert len(rows) == (1 + 2) + (1 + 1) + (1 + 1)
    cells = [t.content for t in parsed if t.type == "inline"]
    assert "pipe \\| in the reason" in cells or "pipe | in the reason" in cells
    assert "`sha256:222222222222`" in text and "`unknown`" in text
    assert "- a warning" in text


def test_markdown_without_actions() -> None:
    plan = replace(sample_plan(), actions=(), skipped=(), events=(), warnings=())
    text = report.plan_markdown(plan)
    assert "**No changes:** nothing to redeploy." in text
    assert "table_open" not in tokens(text)


def junit(result: ApplyResult) -> ElementTree.Element:
    return ElementTree.fromstring(report.apply_junit(result, sample_plan(), NOW))


def test_junit_one_case_per_action_and_skip() -> None:
    plan = sample_plan()
    result = ApplyResult(
        TARGET,
        Status.FAILED,
        (
            ActionResult(plan.actions[0], Outcome.REDEPLOYED, "converged"),
            ActionResult(plan.actions[1], Outcome.FAILED, "update paused: task exited"),
        ),
    )
    root = junit(result)
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("skipped"),
        suite.get("errors"),
    ) == ("3", "1", "1", "0")
    assert suite.get("timestamp") == "2026-11-27T12:00:00.000000Z"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["a (a)", "b (b)", "c (c)"]
    assert {c.get("classname") for c in cases} == {"cdhelper.docker"}
    assert cases[0].findtext("system-out") == "redeployed: converged"
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "failed"
    assert failure.get("message") == "update paused: task exited"
    skipped = cases[2].find("skipped")
    assert (
        skipped is not None and skipped.get("message") == "opted out: label cdhelper.redeploy=false"
    )


def test_junit_refused_plan_says_so() -> None:
    plan = sample_plan()
    result = ApplyResult(
        TARGET,
        Status.REFUSED,
        (
            ActionResult(plan.actions[0], Outcome.NOT_APPLIED, "plan refused: not applied"),
            ActionResult(plan.actions[1], Outcome.STALE, "service no longer exists"),
        ),
    )
    suite = junit(result).find("testsuite")
    assert suite is not None
    first = suite.find("testcase")
    assert first is not None and first.get("name") == "plan is fresh"
    refused = first.find("failure")
    assert refused is not None and refused.get("type") == "refused"
    assert "plan refused" in (refused.get("message") or "")
    assert suite.get("failures") == "2" and suite.get("skipped") == "2"


def test_apply_text_summary() -> None:
    plan = sample_plan()
    result = ApplyResult(
        TARGET,
        Status.APPLIED,
        (
            ActionResult(plan.actions[0], Outcome.REDEPLOYED, "ok"),
            ActionResult(plan.actions[1], Outcome.ALREADY_DONE, "already runs it"),
        ),
    )
    text = report.apply_text(result)
    assert text.splitlines()[0] == "Applied to docker at unix:///run/docker.sock."
    assert text.splitlines()[-1] == "Summary: 1 redeployed, 1 already-done"
    empty = report.apply_text(ApplyResult(TARGET, Status.APPLIED, ()))
    assert empty.splitlines()[-1] == "Summary: nothing to do"


def test_junit_an_unknown_outcome_is_a_failure() -> None:
    plan = sample_plan()
    unknown = "Swarmpit: POST x: connection reset; the request may have reached Swarmpit"
    result = ApplyResult(
        TARGET,
        Status.FAILED,
        (
            ActionResult(plan.actions[0], Outcome.UNKNOWN, unknown),
            ActionResult(plan.actions[1], Outcome.REDEPLOYED, "ok"),
        ),
    )
    suite = junit(result).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failure = suite.findall("testcase")[0].find("failure")
    assert failure is not None and failure.get("type") == "unknown"
    assert report.apply_text(result).splitlines()[-1] == "Summary: 1 redeployed, 1 unknown"


def test_unwritten_reports_say_what_was_done() -> None:
    plan = sample_plan()
    done = ApplyResult(
        TARGET,
        Status.FAILED,
        (
            ActionResult(plan.actions[0], Outcome.REDEPLOYED, "ok"),
            ActionResult(plan.actions[1], Outcome.UNKNOWN, "reset"),
        ),
    )
    assert report.unwritten_reports(done, ["r.json: cannot write: No space left on device"]) == (
        "redeploys were done (1 redeployed, 1 unknown), see the result above; "
        "but a report could not be written:\n"
        "  - r.json: cannot write: No space left on device"
    )
    refused = ApplyResult(TARGET, Status.REFUSED, ())
    assert report.unwritten_reports(refused, ["a", "b"]).startswith(
        "the apply ran (nothing was redeployed), see the result above; "
        "but the reports could not be written:"
    )


def test_events_text_is_what_validate_prints_line_by_line(runner: CliRunner) -> None:
    paths = [str(p) for p in sorted(DATA.glob("**/*.json")) if _has_events(str(p))]
    events = sources.load_events(paths).events
    assert len(events) > 10
    assert (
        {e.digest is None for e in events}
        == {e.timestamp is None for e in events}
        == {
            True,
            False,
        }
    )
    result = runner.invoke(cli, ["validate", *paths])
    assert result.exit_code == 0, result.output
    assert report.events_text(events) == result.stdout
    assert report.events_text(()) == ""


def _has_events(path: str) -> bool:
    try:
        return bool(sources.load_events([path]).events)
    except InputError:
        return False
