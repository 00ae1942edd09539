"""``--markdown FILE``: the Markdown a CI run page shows, from plan, show and apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests_mock
from click.testing import CliRunner

from cdhelper.cli import cli

from helpers import DATA

SP = "http://127.0.0.1:8888"
HUB = str(DATA / "dockerhub-push-int.json")
SWARMPIT = str(DATA / "swarmpit-services.json")


def plan(runner: CliRunner, tmp_path: Path) -> tuple[Path, Path]:
    plan_file, summary = tmp_path / "plan.yaml", tmp_path / "plan.md"
    result = runner.invoke(
        cli,
        [
            *("plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(plan_file)),
            *("--markdown", str(summary), "--detailed-exitcode"),
        ],
    )
    assert result.exit_code == 2, result.output
    return plan_file, summary


def test_plan_and_show_write_the_same_markdown(runner: CliRunner, tmp_path: Path) -> None:
    plan_file, summary = plan(runner, tmp_path)
    text = summary.read_text()
    assert text.startswith("### cdhelper plan: 1 to redeploy, 0 skipped\n")
    assert "| int_cd-helper (k3q9z1) | `docker.io/dopplerdock/doppler-cd-helper:INT` |" in text
    shown = tmp_path / "shown.md"
    result = runner.invoke(cli, ["show", str(plan_file), "--markdown", str(shown)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("cdhelper plan (webhook)")  # --format stays text
    assert shown.read_text() == text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--event", HUB, "--inventory", SWARMPIT, "--markdown", HUB], "is also an input"),
        (["show", "PLAN", "--markdown", "PLAN"], "is also an input"),
        (["apply", "PLAN", "--report", "SAME", "--markdown", "SAME"], "are the same file"),
    ],
    ids=["plan-input", "show-input", "apply-two-outputs"],
)
def test_summary_must_not_overwrite_an_input_or_output(
    runner: CliRunner, tmp_path: Path, args: list[str], expected: str
) -> None:
    plan_file, _ = plan(runner, tmp_path)
    same = str(tmp_path / "same.md")
    args = [{"PLAN": str(plan_file), "SAME": same}.get(a, a) for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_apply_summary_when_the_target_cannot_be_reached(
    runner: CliRunner, tmp_path: Path, requests_mock: requests_mock.Mocker
) -> None:
    plan_file, _ = plan(runner, tmp_path)
    requests_mock.get(f"{SP}/api/services", status_code=401, json={"error": "no"})
    summary = tmp_path / "apply.md"
    result = runner.invoke(
        cli,
        ["apply", str(plan_file), "--swarmpit-url", SP, "--markdown", str(summary)],
        env={"CDHELPER_SWARMPIT_TOKEN": "token"},
    )
    assert result.exit_code == 1
    text = summary.read_text()
    assert text.startswith("### cdhelper apply: failed\n")
    assert "| int_cd-helper (k3q9z1) | ❌ failed |" in text
