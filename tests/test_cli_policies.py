"""The release policies through the CLI: plan --min-age/--window, apply --window."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests_mock
import yaml
from click.testing import CliRunner

from cdhelper.cli import cli

from helpers import DATA

SP = "http://127.0.0.1:8888"
HUB = str(DATA / "dockerhub-push-int.json")  # pushed_at 2021-04-16T23:06:31Z
SWARMPIT = str(DATA / "swarmpit-services.json")
WEEKDAYS = "Mon-Fri 06:00-18:00 Europe/Berlin"
SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_now(now: datetime) -> None:
        monkeypatch.setattr("cdhelper.cli.base.now", lambda: now)

    return set_now


@pytest.fixture
def swarmpit(
    requests_mock: requests_mock.Mocker,
    load_data: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> requests_mock.Mocker:
    monkeypatch.setenv("CDHELPER_SWARMPIT_TOKEN", "s3cret-jwt-token")
    services = load_data("swarmpit-services.json")
    requests_mock.get(f"{SP}/api/services", json=services)
    by_id = {s["id"].lower(): s for s in services}
    requests_mock.get(
        re.compile(f"{SP}/api/services/[^/]+$"),
        json=lambda request, _: by_id[request.path.rsplit("/", 1)[-1]],
    )
    requests_mock.post(re.compile(f"{SP}/api/services/[^/]+/redeploy"), status_code=202)
    return requests_mock


def plan(runner: CliRunner, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "plan.yaml"
    args = ["plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(out), *extra]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


def test_plan_records_windows_and_shows_when_the_next_opens(
    runner: CliRunner, tmp_path: Path, clock: Callable[[datetime], None]
) -> None:
    clock(SATURDAY)
    path = plan(runner, tmp_path, "--window", WEEKDAYS, "--min-age", "7d")
    data = yaml.safe_load(path.read_text())
    assert data["policies"] == {
        "min_age": "7d",
        "windows": [WEEKDAYS],
        "window_open": False,
        "next_window": "2026-12-07T05:00:00.000000Z",
    }
    to_stdout = runner.invoke(
        cli, ["plan", "--event", HUB, "--inventory", SWARMPIT, "--window", WEEKDAYS]
    )
    assert "Can be applied now: no; the next window opens Mon 2026-12-07" in to_stdout.stderr
    shown = runner.invoke(cli, ["show", str(path)]).stdout
    assert "Minimum age: 7d\n" in shown
    assert (
        "Can be applied now: no; the next window opens Mon 2026-12-07 06:00 Europe/Berlin "
        "(2026-12-07 05:00Z)" in shown
    )
    markdown = runner.invoke(cli, ["show", str(path), "--format", "markdown"]).stdout
    assert "#### Release policies" in markdown and "Can be applied now: no" in markdown


def test_min_age_skip_in_every_format(
    runner: CliRunner, tmp_path: Path, clock: Callable[[datetime], None]
) -> None:
    clock(datetime(2021, 4, 17, 0, 0, tzinfo=UTC))  # 53 minutes after the push
    path = plan(runner, tmp_path, "--min-age", "2h")
    data = yaml.safe_load(path.read_text())
    assert data["actions"] == []
    [skip] = [s for s in data["skipped"] if s.get("rule")]
    assert skip["rule"] == "min-age"
    assert skip["eligible_at"] == "2021-04-17T01:06:31.000000Z"
    assert skip["reason"].startswith("too new: pushed 2021-04-16T23:06:31.000000Z, 53m 29s ago")
    text = runner.invoke(cli, ["show", str(path)]).stdout
    assert (
        "int_cd-helper (k3q9z1)  docker.io/dopplerdock/doppler-cd-helper:INT: [min-age] too new"
        in text
    )
    markdown = runner.invoke(cli, ["show", str(path), "--format", "markdown"]).stdout
    assert "| min-age | too new: pushed" in markdown
    as_json = json.loads(runner.invoke(cli, ["show", str(path), "--format", "json"]).stdout)
    assert as_json["skipped"] == data["skipped"]
    clock(datetime(2021, 4, 17, 2, 0, tzinfo=UTC))
    old_enough = yaml.safe_load(plan(runner, tmp_path, "--min-age", "2h").read_text())
    assert [a["service"]["name"] for a in old_enough["actions"]] == ["int_cd-helper"]


def test_apply_outside_every_window_calls_nothing(
    runner: CliRunner,
    tmp_path: Path,
    swarmpit: requests_mock.Mocker,
    clock: Callable[[datetime], None],
) -> None:
    clock(SATURDAY)
    path = plan(runner, tmp_path, "--window", WEEKDAYS)
    report = tmp_path / "report.json"
    args = ["apply", str(path), "--swarmpit-url", SP, "--report", str(report)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: refusing to apply: outside every deploy window "
        "('Mon-Fri 06:00-18:00 Europe/Berlin'); the next opens Mon 2026-12-07 06:00 "
        "Europe/Berlin (2026-12-07 05:00Z) (--ignore-windows overrides; nothing was called)\n"
    )
    assert swarmpit.call_count == 0  # not even the services were read
    written = json.loads(report.read_text())
    assert written["status"] == "failed" and "windows_ignored" not in written
    # apply's own --window must hold too
    clock(MONDAY)
    noon = ["apply", str(path), "--swarmpit-url", SP, "--window", "Mon-Fri 12:00-13:00"]
    result = runner.invoke(cli, noon)
    assert result.exit_code == 1
    assert (
        "outside the deploy windows (the plan's 'Mon-Fri 06:00-18:00 Europe/Berlin' and apply's "
        "'Mon-Fri 12:00-13:00' must both hold); the next opens Mon 2026-12-07 13:00 "
        "Europe/Berlin (2026-12-07 12:00Z)" in result.stderr
    )
    sunday = ["apply", str(path), "--swarmpit-url", SP, "--window", "Sun 10:00-11:00"]
    assert "none opens in the next two weeks" in runner.invoke(cli, sunday).stderr
    assert swarmpit.call_count == 0
    result = runner.invoke(cli, ["apply", str(path), "--swarmpit-url", SP])
    assert result.exit_code == 0, result.output
    assert "redeployed" in result.stdout


def test_ignore_windows_applies_and_the_report_says_so(
    runner: CliRunner,
    tmp_path: Path,
    swarmpit: requests_mock.Mocker,
    clock: Callable[[datetime], None],
) -> None:
    clock(SATURDAY)
    path = plan(runner, tmp_path, "--window", WEEKDAYS)
    report = tmp_path / "report.json"
    args = ["apply", str(path), "--swarmpit-url", SP, "--ignore-windows", "--report", str(report)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "note: --ignore-windows: applying outside every deploy window" in result.stderr
    assert json.loads(report.read_text())["windows_ignored"] is True


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--window", "Mon-Fri 6-18", "invalid deploy window"),
        ("--min-age", "7 days", "invalid duration"),
    ],
)
def test_bad_policy_options_are_usage_errors(
    runner: CliRunner, option: str, value: str, message: str
) -> None:
    result = runner.invoke(cli, ["plan", "--event", HUB, "--inventory", SWARMPIT, option, value])
    assert result.exit_code == 2
    assert message in result.stderr


def test_windows_from_the_environment(
    runner: CliRunner, tmp_path: Path, clock: Callable[[datetime], None]
) -> None:
    clock(SATURDAY)
    out = tmp_path / "plan.yaml"
    args = ["plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(out)]
    env = {"CDHELPER_WINDOWS": f"{WEEKDAYS}; Sun 10:00-11:00"}
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    windows = yaml.safe_load(out.read_text())["policies"]["windows"]
    assert windows == [WEEKDAYS, "Sun 10:00-11:00"]


def test_a_plan_with_a_broken_window_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    path = plan(runner, tmp_path, "--window", WEEKDAYS)
    path.write_text(path.read_text().replace(WEEKDAYS, "Mon-Fri nine-to-five"))
    result = runner.invoke(cli, ["show", str(path)])
    assert result.exit_code == 1
    assert "not a valid cdhelper plan: invalid deploy window" in result.stderr
