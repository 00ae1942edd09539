"""Renderers: plans and apply results as text, Markdown or JSON. No I/O here."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from cdhelper import __version__, documents, windows
from cdhelper.events import PushEvent
from cdhelper.outcomes import FAILURES, ActionResult, ApplyResult, Outcome, Status
from cdhelper.plan import Action, Mode, Plan, Skip
from cdhelper.reference import ImageRef, short_digest
from cdhelper.values import Stats, format_time

REPORT_FORMAT = "cdhelper-apply-report"
REPORT_VERSION = 2  # 2: digests before and after, time, task errors, the state left


class Format(enum.Enum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


def short(digest: str | None) -> str:
    return "unknown" if digest is None else short_digest(digest)


def event_fields(event: PushEvent) -> dict[str, Any]:
    """A push event for machines: its normalised parts and its plan form."""
    return {
        "registry": event.image.registry,
        "repository": event.image.repository,
        "tag": event.image.tag,
        **event.to_dict(),
    }


def events_text(events: Sequence[PushEvent]) -> str:
    """``validate``'s table: a line per push event, tab-separated, built as one text.

    Source, image, digest and time (``-`` where unknown). One text, so a storm of 100,000
    events is written at once rather than line by line.
    """
    return "".join(
        f"{e.source}\t{e.image.tagged}\t{e.digest or '-'}\t{format_time(e.timestamp) or '-'}\n"
        for e in events
    )


def render_plan(plan: Plan, fmt: Format) -> str:
    if fmt is Format.JSON:
        return documents.dump_json(plan.to_dict())
    if fmt is Format.MARKDOWN:
        return plan_markdown(plan)
    return plan_text(plan)


def plan_summary(plan: Plan) -> str:
    return f"{len(plan.actions)} to redeploy, {len(plan.skipped)} skipped"


def plan_text(plan: Plan) -> str:
    lines = [
        f"cdhelper plan ({plan.mode.value}) for {_target(plan)}",
        f"created {format_time(plan.created_at)} by cdhelper {plan.cdhelper_version}",
        (f"{len(plan.events)} push event(s), " if plan.mode is Mode.WEBHOOK else "")
        + plan_summary(plan),
    ]
    for index, event in enumerate(plan.events):
        digest = f" {short(event.digest)}" if event.digest else ""
        lines.append(f"  event {index}: {event.source} {event.image.tagged}{digest}")
    if plan.actions:
        lines.append("Redeploy:")
    for action in plan.actions:
        lines.append(
            f"  ~ {action.service}  {action.image}  "
            f"{short(action.current_digest)} -> {short(action.target_digest)}"
        )
        if action.current_image:
            lines.append(f"      TAG CHANGE: {tag_change(action)}")
        lines.append(f"      {_clean(action.reason)}")
        lines.append(f"      {_runs(action)}")
    if plan.skipped:
        lines.append("Skipped:")
    for skip in plan.skipped:
        lines.append(f"  - {skip.service}  {skip.image}: {_rule(skip)}{_clean(skip.reason)}")
    lines.extend(f"warning: {_clean(warning)}" for warning in plan.warnings)
    if not plan.actions:
        lines.append("No changes: nothing to redeploy.")
    lines.extend(_clean(line) for line in policy_lines(plan))
    return "\n".join(lines) + "\n"


def _target(plan: Plan) -> str:
    cluster = f", Swarm cluster {plan.target.cluster}" if plan.target.cluster else ""
    return plan.target.describe() + cluster


def _runs(action: Action) -> str:
    """Exactly what apply sends: the backend redeploys the tag, or pins the digest."""
    target = action.target_digest or "none (the digest the tag points to at apply time)"
    return f"spec image {action.spec_image}, tag {action.tag}, target digest {target}"


def _clean(text: str) -> str:
    """One line without control characters: a name cannot fake lines of the review."""
    line = " ".join(text.split())
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in " ".join(text.split()))


def tag_change(action: Action) -> str:
    """``v1.4.2 -> v1.5.0`` for an action that changes the service's tag."""
    old = ImageRef.parse(action.running_image).tag
    return f"{old} -> {action.tag}"


def _rule(skip: Skip) -> str:
    return f"[{skip.rule.value}] " if skip.rule else ""


def policy_lines(plan: Plan) -> list[str]:
    """The plan's release policies, and whether it may be applied now (when planned)."""
    policies = plan.policies
    lines = []
    if policies.min_age:
        lines.append(f"Minimum age: {policies.min_age}")
    if policies.windows:
        lines.append("Deploy windows: " + "; ".join(policies.windows))
        lines.append(window_state(plan))
    return lines


def window_state(plan: Plan) -> str:
    policies = plan.policies
    if policies.window_open:
        return f"Can be applied now: yes (inside a window at {format_time(plan.created_at)})"
    if policies.next_window is None:
        return "Can be applied now: no; no window opens in the next two weeks"
    shown = windows.describe(policies.next_window, windows.parse_all(policies.windows))
    return f"Can be applied now: no; the next window opens {shown}"


def plan_markdown(plan: Plan) -> str:
    cluster = f" · cluster `{plan.target.cluster}`" if plan.target.cluster else ""
    lines = [
        f"### cdhelper plan: {plan_summary(plan)}",
        "",
        f"Target: {plan.target.kind} `{plan.target.url or 'inventory file'}`{cluster} · "
        f"mode: {plan.mode.value} · created {format_time(plan.created_at)} · "
        f"cdhelper {plan.cdhelper_version}",
        "",
    ]
    if plan.actions:
        lines += [
            "| Service | Image | Running | Target | Reason |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_cell(str(a.service))} | `{a.image}` | `{short(a.current_digest)}` | "
            f"`{short(a.target_digest)}` | "
            + (f"**tag {_cell(tag_change(a))}**; " if a.current_image else "")
            + f"{_cell(a.reason)} |"
            for a in plan.actions
        ]
        lines += [
            "",
            f"<details><summary>Exactly what apply sends ({len(plan.actions)})</summary>",
            "",
        ]
        lines += [f"- {_cell(str(a.service))}: {_cell(_runs(a))}" for a in plan.actions]
        lines += ["", "</details>"]
    else:
        lines.append("**No changes:** nothing to redeploy.")
    if plan.skipped:
        lines += [
            "",
            "#### Skipped",
            "",
            "| Service | Image | Rule | Reason |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_cell(str(s.service))} | `{s.image}` | {s.rule.value if s.rule else ''} | "
            f"{_cell(s.reason)} |"
            for s in plan.skipped
        ]
    if plan.policies:
        lines += ["", "#### Release policies", ""]
        lines += [f"- {_cell(line)}" for line in policy_lines(plan)]
    if plan.warnings:
        lines += ["", "#### Warnings", ""] + [f"- {_cell(w)}" for w in plan.warnings]
    if plan.events:
        lines += [
            "",
            f"<details><summary>Events ({len(plan.events)})</summary>",
            "",
            "| # | Source | Image | Digest | Time |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {i} | {e.source} | `{e.image.tagged}` | `{short(e.digest)}` | "
            f"{format_time(e.timestamp) or ''} |"
            for i, e in enumerate(plan.events)
        ]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return _clean(text).replace("\\", "\\\\").replace("|", "\\|")


def apply_text(result: ApplyResult) -> str:
    lines = []
    if result.status is Status.REFUSED:
        lines.append(
            "Refusing the plan: the live services changed since it was made. Nothing was changed."
        )
        lines.append("Make a new plan and review it.")
    elif result.status is Status.DRY_RUN:
        lines.append(f"Dry run against {result.target.describe()}: nothing will be changed.")
    else:
        lines.append(f"Applied to {result.target.describe()}.")
    for item in result.results:
        ran = f" [{_digests(item)}, {item.seconds:.1f} s]" if item.watched else ""
        lines.append(
            f"  {item.outcome.value:<15} {item.action.service}{ran}: {_one_line(item.message)}"
        )
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def summary_line(result: ApplyResult) -> str:
    counts = Counter(item.outcome for item in result.results)
    if not counts:
        return "Summary: nothing to do"
    return "Summary: " + ", ".join(f"{counts[o]} {o.value}" for o in Outcome if counts[o])


def _digests(item: ActionResult) -> str:
    after = item.digest_after
    return f"{short(item.digest_before)} -> {short(after) if after else 'unknown'}"


def apply_markdown(result: ApplyResult) -> str:
    """A summary of an apply for a CI job page (``$GITHUB_STEP_SUMMARY``)."""
    title = {
        Status.APPLIED: "applied",
        Status.DRY_RUN: "dry run",
        Status.REFUSED: "plan refused (the services changed since it was made; nothing changed)",
        Status.FAILED: "failed",
    }[result.status]
    lines = [
        f"### cdhelper apply: {title}",
        "",
        f"Target: {result.target.kind} `{result.target.url or 'inventory file'}` · "
        + summary_line(result).removeprefix("Summary: "),
        "",
    ]
    if result.results:
        lines += [
            "| Service | Outcome | Before | After | Time | Details |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    for item in result.results:
        icon = "❌" if item.outcome in FAILURES else "✅"
        seconds = f"{item.seconds:.1f} s" if item.seconds is not None else ""
        details = _one_line(item.message)
        if item.task_errors:
            details += " · task errors: " + "; ".join(item.task_errors)
        lines.append(
            f"| {_cell(str(item.action.service))} | {icon} {item.outcome.value} | "
            f"`{short(item.digest_before)}` | `{short(item.digest_after)}` | {seconds} | "
            f"{_cell(details)} |"
        )
    return "\n".join(lines) + "\n"


def unwritten_reports(result: ApplyResult, problems: Sequence[str]) -> str:
    """Why the apply exits 1 although it ran: a report file could not be written."""
    counts = Counter(item.outcome for item in result.results)
    touched = (Outcome.ROLLED_BACK, Outcome.UNKNOWN)
    if counts[Outcome.REDEPLOYED] or any(counts[o] for o in touched):
        parts = [f"{counts[Outcome.REDEPLOYED]} redeployed"]
        parts += [f"{counts[o]} {o.value}" for o in touched if counts[o]]
        what = f"redeploys were done ({', '.join(parts)})"
    else:
        what = "the apply ran (nothing was redeployed)"
    reports = "a report" if len(problems) == 1 else "the reports"
    lines = [f"{what}, see the result above; but {reports} could not be written:"]
    return "\n".join(lines + [f"  - {problem}" for problem in problems])


def apply_junit(result: ApplyResult, plan: Plan, now: datetime) -> str:
    """JUnit XML for Jenkins and GitHub test reporters: one test case per planned service."""
    suite_name = f"cdhelper apply ({result.target.describe()})"
    suite = ElementTree.Element("testsuite", name=suite_name, timestamp=format_time(now) or "")
    classname = f"cdhelper.{result.target.kind}"
    if result.status is Status.REFUSED:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name="plan is fresh")
        failure = ElementTree.SubElement(
            case,
            "failure",
            type="refused",
            message="plan refused: the services changed since it was made; nothing was changed",
        )
        failure.text = "Make a new plan and review it."
    for item in result.results:
        case = ElementTree.SubElement(
            suite, "testcase", classname=classname, name=str(item.action.service)
        )
        if item.seconds is not None:
            case.set("time", f"{item.seconds:.3f}")
        if item.outcome in FAILURES:
            failure = ElementTree.SubElement(
                case, "failure", type=item.outcome.value, message=_one_line(item.message)
            )
            failure.text = "\n".join(
                [item.message, f"digest: {_digests(item)}"]
                + [f"task error: {error}" for error in item.task_errors]
            )
        elif item.outcome is Outcome.NOT_APPLIED:
            ElementTree.SubElement(case, "skipped", message=item.message)
        else:
            ElementTree.SubElement(
                case, "system-out"
            ).text = f"{item.outcome.value}: {item.message}"
    for skip in plan.skipped:
        case = ElementTree.SubElement(
            suite, "testcase", classname=classname, name=str(skip.service)
        )
        ElementTree.SubElement(case, "skipped", message=skip.reason)
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.set("errors", "0")
    root = ElementTree.Element("testsuites", name="cdhelper")
    for key in ("tests", "failures", "skipped", "errors"):
        root.set(key, suite.get(key, "0"))
    root.append(suite)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode") + "\n"


def registry_stats(stats: Stats) -> str:
    line = (
        f"registry: {stats.manifest_heads} manifest HEAD(s), {stats.manifest_gets} GET(s), "
        f"{stats.token_requests} token request(s), {stats.pings} ping(s)"
    )
    if stats.ratelimit_remaining:
        line += f"; Docker Hub ratelimit-remaining: {stats.ratelimit_remaining}"
    return line


def _one_line(text: str) -> str:
    return " ".join(text.split())


def apply_report(
    result: ApplyResult, plan_path: str, *, windows_ignored: bool = False
) -> dict[str, Any]:
    """The JSON report (``schemas/apply-report.schema.json``); ``cdhelper revert`` reads it."""
    ignored = {"windows_ignored": True} if windows_ignored else {}
    return {
        "format": REPORT_FORMAT,
        "format_version": REPORT_VERSION,
        "cdhelper_version": __version__,
        "plan": plan_path,
        "target": result.target.to_dict(),
        "status": result.status.value,
        "results": [_result(item) for item in result.results],
        **ignored,
    }


def _result(item: ActionResult) -> dict[str, Any]:
    after = item.after
    # a tag change (semver): what it ran before, so that a revert goes back to that tag
    before = {"current_image": item.action.current_image} if item.action.current_image else {}
    return {
        **before,
        "service": item.action.service.to_dict(),
        "image": item.action.image,
        "spec_image": item.action.spec_image,
        "tag": item.action.tag,
        "target_digest": item.action.target_digest,
        "outcome": item.outcome.value,
        "message": item.message,
        "digest_before": item.digest_before,
        "digest_after": item.digest_after,
        "seconds": None if item.seconds is None else round(item.seconds, 3),
        "task_errors": list(item.task_errors),
        "after": None
        if after is None
        else {
            "image": after.image,
            "digest": after.digest,
            "version": after.version,
            "fingerprint": after.fingerprint,
        },
    }
