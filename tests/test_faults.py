"""Failure behaviour through the CLI, against the fault-injection server (tests/faults.py).

Whatever Swarmpit answers to one redeploy, every action of the plan ends with an outcome,
the others go on, and the human result, ``--report`` and ``--junit`` are all produced.
Commands that talk to the network end at their ``--timeout``.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner, Result

from cdhelper import lock
from cdhelper.backends.swarmpit import Swarmpit
from cdhelper.cli import cli
from cdhelper.errors import Terminated
from cdhelper.inventory import Target
from cdhelper.plan import Action

import faults
import helpers
from faults import FaultServer, Handler
from helpers import DATA, digest

HUB = str(DATA / "dockerhub-push-int.json")
TOKEN = "s3cret-fault-token"
IDS = ("a1", "b2", "c3")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FaultServer]:
    monkeypatch.setenv("CDHELPER_SWARMPIT_TOKEN", TOKEN)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # the apply lock
    with FaultServer() as fault_server:
        faults.swarmpit(fault_server, three_services())
        yield fault_server


def three_services() -> list[dict[str, Any]]:
    """Three Swarmpit services following the tag the Docker Hub fixture pushes (INT)."""
    first = faults.swarmpit_services()[0]
    return [dict(copy.deepcopy(first), id=sid, serviceName=f"int_{sid}") for sid in IDS]


def make_plan(server: FaultServer, tmp_path: Path) -> Path:
    plan_file = tmp_path / "plan.yaml"
    result = CliRunner().invoke(
        cli, ["plan", "--event", HUB, "--swarmpit-url", server.url, "-o", str(plan_file)]
    )
    assert result.exit_code == 0, result.output
    return plan_file


def apply(plan_file: Path, tmp_path: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        cli,
        [
            "apply",
            str(plan_file),
            "--report",
            str(tmp_path / "report.json"),
            "--junit",
            str(tmp_path / "junit.xml"),
            *extra,
        ],
    )


def outcomes(tmp_path: Path) -> list[str]:
    report = json.loads((tmp_path / "report.json").read_text())
    return [item["outcome"] for item in report["results"]]


def junit_failures(tmp_path: Path) -> int:
    return int(ElementTree.parse(tmp_path / "junit.xml").getroot().get("failures", "-1"))


def redeploy_path(sid: str) -> str:
    return f"/api/services/{sid}/redeploy"


def lines(result: Result) -> list[str]:
    return [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]


@pytest.mark.parametrize(
    ("behaviour", "shown"),
    [
        (faults.deep_json(500), "HTTP 500 Internal Server Error: [[[["),
        (faults.huge(500, 10 * 1024 * 1024), "HTTP 500 Internal Server Error: xxxx"),
        (faults.binary(500), "HTTP 500 Internal Server Error"),
        (faults.invalid_utf8(502), "HTTP 502 Bad Gateway: bad"),
        (faults.reply(500), "HTTP 500 Internal Server Error"),
        (faults.reply(404, {"error": {"deep": [1, 2]}}), '{"deep": [1, 2]}'),
        (faults.reply(429, {"error": "slow"}, {"Retry-After": "100000"}), "HTTP 429"),
    ],
    ids=["deep-json", "10-MiB", "binary", "invalid-utf8", "empty", "json-object", "429"],
)
def test_a_bad_answer_fails_one_action_and_the_others_go_on(
    server: FaultServer, tmp_path: Path, behaviour: faults.Behaviour, shown: str
) -> None:
    plan_file = make_plan(server, tmp_path)
    server.queue("POST", redeploy_path("b2"), behaviour)
    result = apply(plan_file, tmp_path)
    assert result.exit_code == 1, result.output
    assert lines(result) == ["redeployed", "failed", "redeployed"]
    assert outcomes(tmp_path) == ["redeployed", "failed", "redeployed"]
    assert junit_failures(tmp_path) == 1
    failed = result.stdout.splitlines()[2]
    assert shown in failed
    assert len(failed) < 800  # a snippet, never the body
    assert "\x1b" not in result.stdout and "\ud800" not in result.stdout
    assert [s.path for s in server.seen("POST")] == [redeploy_path(s) for s in IDS]


@pytest.mark.parametrize(
    "behaviour",
    [faults.reset_before_answer(), faults.reset_mid_answer(202)],
    ids=["reset-before-answer", "reset-mid-answer"],
)
def test_a_redeploy_that_may_have_acted_is_unknown(
    server: FaultServer, tmp_path: Path, behaviour: faults.Behaviour
) -> None:
    plan_file = make_plan(server, tmp_path)
    server.queue("POST", redeploy_path("b2"), behaviour)
    result = apply(plan_file, tmp_path)
    assert result.exit_code == 1, result.output
    assert outcomes(tmp_path) == ["redeployed", "unknown", "redeployed"]
    assert junit_failures(tmp_path) == 1
    unknown = result.stdout.splitlines()[2]
    assert unknown.split()[0] == "unknown"
    assert unknown.endswith(
        f"the request may have reached Swarmpit at {server.url}: check the service"
    )
    assert len(server.seen("POST")) == 3  # a POST is never retried


def test_a_hanging_redeploy_ends_at_the_deadline(server: FaultServer, tmp_path: Path) -> None:
    plan_file = make_plan(server, tmp_path)
    server.queue("POST", redeploy_path("a1"), faults.hang(10))
    result = apply(plan_file, tmp_path, "--timeout", "2")
    assert result.exit_code == 1, result.output
    assert outcomes(tmp_path) == ["unknown", "failed", "failed"]
    assert "time limit of 2 s (--timeout) ran out waiting for the answer" in result.stdout
    assert "the time limit of 2 s (--timeout) ran out" in result.stdout.splitlines()[3]
    assert len(server.seen("POST")) == 1  # nothing is sent past the deadline


def test_an_unexpected_exception_is_one_unknown_action(
    server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = make_plan(server, tmp_path)
    real = Swarmpit.redeploy

    def buggy(self: Swarmpit, action: Action) -> str:
        if action.service.id == "b2":
            raise KeyError("oops")
        return real(self, action)

    monkeypatch.setattr(Swarmpit, "redeploy", buggy)
    result = apply(plan_file, tmp_path)
    assert result.exit_code == 1
    assert outcomes(tmp_path) == ["redeployed", "unknown", "redeployed"]
    assert "unexpected KeyError: 'oops' (a bug in cdhelper)" in result.stdout


@pytest.mark.parametrize("command", ["inventory", "plan", "apply"])
@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (
            faults.trickle(0.05, seconds=8),
            "GET {url}/api/services: the time limit of 1 s (--timeout) ran out reading the answer",
        ),
        (
            faults.retry_after(100000, 429),
            "GET {url}/api/services answered HTTP 429 and asks to retry after 100000 s "
            "(Retry-After), past the time limit of 1 s (--timeout): giving up",
        ),
        (
            faults.retry_after(100000, 503),
            "answered HTTP 503 and asks to retry after 100000 s",
        ),
    ],
    ids=["trickle", "429-retry-after", "503-retry-after"],
)
def test_a_slow_server_ends_the_command_at_its_deadline(
    server: FaultServer,
    tmp_path: Path,
    command: str,
    behaviour: faults.Behaviour,
    message: str,
) -> None:
    plan_file = make_plan(server, tmp_path)
    server.on("GET", "/api/services", behaviour)
    args = {
        "inventory": ["inventory", "--swarmpit-url", server.url],
        "plan": ["plan", "--event", HUB, "--swarmpit-url", server.url],
        "apply": ["apply", str(plan_file), "--report", str(tmp_path / "r.json")],
    }[command]
    result = CliRunner().invoke(cli, [*args, "--timeout", "1"])
    assert result.exit_code == 1, result.output
    assert message.format(url=server.url) in result.stderr
    assert "Traceback" not in result.output
    assert server.seen("POST") == []
    assert len(server.seen("GET")) <= 2  # 1 (+1 for the plan made first)
    if command == "apply":  # CI still gets its report: nothing applied, and why
        saved = json.loads((tmp_path / "r.json").read_text())
        assert saved["status"] == "failed"
        assert [r["outcome"] for r in saved["results"]] == ["failed"] * 3
        assert saved["results"][0]["message"].startswith("not applied: Swarmpit at")


def test_a_report_that_cannot_be_written_does_not_hide_the_redeploys(
    server: FaultServer, tmp_path: Path
) -> None:
    plan_file = make_plan(server, tmp_path)
    report = tmp_path / "report.json"

    def take_the_report_path(handler: Handler) -> None:
        report.mkdir()  # after the up-front check: writing the report fails later
        handler.send(202)

    server.queue("POST", redeploy_path("a1"), take_the_report_path)
    result = apply(plan_file, tmp_path)
    assert result.exit_code == 1
    assert lines(result) == ["redeployed"] * 3  # the result is printed first
    assert "redeploys were done (3 redeployed), see the result above" in result.stderr
    assert f"{report}: cannot write" in result.stderr
    assert junit_failures(tmp_path) == 0  # the other report is still written


class StatefulSwarmpit:
    """A Swarmpit whose redeploys take time and change the service's digest, as real ones do."""

    def __init__(self, server: FaultServer, seconds: float) -> None:
        self.server = server
        self.services = {s["id"]: s for s in three_services()}
        self.seconds = seconds
        self._publish()
        for sid in self.services:
            server.on("POST", redeploy_path(sid), self._redeploy(sid))

    def _publish(self) -> None:
        self.server.on("GET", "/api/services", faults.reply(200, list(self.services.values())))
        for sid, item in self.services.items():
            self.server.on("GET", f"/api/services/{sid}", faults.reply(200, item))

    def _redeploy(self, sid: str) -> Callable[[Handler], None]:
        def behave(handler: Handler) -> None:
            time.sleep(self.seconds)
            self.services[sid]["repository"]["imageDigest"] = digest("9")
            self.services[sid]["version"] += 1
            self._publish()
            handler.send(202)

        return behave


def test_racing_applies_redeploy_each_service_once(server: FaultServer, tmp_path: Path) -> None:
    plan_file = make_plan(server, tmp_path)
    StatefulSwarmpit(server, seconds=0.5)
    env = {**os.environ, "CDHELPER_SWARMPIT_TOKEN": TOKEN, "XDG_RUNTIME_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "cdhelper", "apply", str(plan_file), "--timeout", "60"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not server.seen("POST"):  # the first apply is redeploying, holding the lock
        assert first.poll() is None, first.communicate()
        time.sleep(0.02)
    second = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert second.returncode == 1
    assert "waiting for another cdhelper apply" in second.stderr
    assert "Refusing the plan" in second.stdout
    assert sorted(s.path for s in server.seen("POST")) == [redeploy_path(s) for s in IDS]


def test_apply_fails_when_another_apply_holds_the_lock_past_the_deadline(
    server: FaultServer, tmp_path: Path
) -> None:
    plan_file = make_plan(server, tmp_path)
    path = lock.lock_path(Target("swarmpit", server.url))
    with open(path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = apply(plan_file, tmp_path, "--timeout", "1")
    assert result.exit_code == 1
    assert f"another cdhelper apply holds the lock for swarmpit at {server.url}" in result.stderr
    assert "nothing was changed" in result.stderr
    assert server.seen("POST") == []


@pytest.mark.parametrize(
    ("where", "behaviour", "message"),
    [
        (
            "manifest",
            faults.retry_after(100000),
            "asks to retry after 100000 s (Retry-After), past the time limit of 1 s",
        ),
        ("ping", faults.trickle(0.05, seconds=8), "ran out reading the answer"),
        ("token", faults.trickle(0.05, seconds=8), "ran out reading the answer"),
    ],
    ids=["manifest-429", "ping-trickle", "token-trickle"],
)
def test_smart_plan_lookups_end_at_the_deadline(
    tmp_path: Path, where: str, behaviour: faults.Behaviour, message: str
) -> None:
    with FaultServer() as registry:
        host = registry.url.removeprefix("http://")
        faults.registry(registry, {f"app{n}:v1": digest("2") for n in range(4)})
        challenge = {"WWW-Authenticate": f'Bearer realm="{registry.url}/token"'}
        if where == "token":
            registry.on("GET", "/v2/", faults.reply(401, {}, challenge))
        registry.on("GET", "/token", behaviour)
        if where == "ping":
            registry.on("GET", "/v2/", behaviour)
        if where == "manifest":
            registry.queue("HEAD", "/v2/app2/manifests/v1", behaviour)
        inventory = helpers.swarmpit_inventory(
            tmp_path,
            [{"name": f"s{n}", "image": f"{host}/app{n}:v1@{digest('1')}"} for n in range(4)],
        )
        result = CliRunner().invoke(
            cli, ["plan", "--smart", "--inventory", inventory, "--timeout", "1", "--parallel", "4"]
        )
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stdout == ""  # no plan


def test_smart_plan_against_the_registry_shapes(tmp_path: Path) -> None:
    """The fault server as a well-behaved registry: the baseline the faults above break."""
    with FaultServer() as registry:
        host = registry.url.removeprefix("http://")
        faults.registry(registry, {"app0:v1": digest("2"), "app1:v1": digest("1")})
        inventory = helpers.swarmpit_inventory(
            tmp_path,
            [{"name": f"s{n}", "image": f"{host}/app{n}:v1@{digest('1')}"} for n in range(2)],
        )
        result = CliRunner().invoke(cli, ["plan", "--smart", "--inventory", inventory])
    assert result.exit_code == 0, result.output
    planned = yaml.safe_load(result.stdout)
    assert [a["service"]["name"] for a in planned["actions"]] == ["s0"]
    assert [s["service"]["name"] for s in planned["skipped"]] == ["s1"]


@pytest.mark.parametrize(
    "signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"]
)
def test_an_apply_stopped_by_a_signal_says_and_reports_what_it_did(
    server: FaultServer, tmp_path: Path, signal_number: int
) -> None:
    """A cancelled pipeline job (SIGTERM) or Ctrl-C during a redeploy: the one under way
    may have been sent (unknown), the rest not applied; the text and both reports say so."""
    plan_file = make_plan(server, tmp_path)
    server.queue("POST", redeploy_path("b2"), faults.hang(faults.MAX_WAIT))
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    command = [sys.executable, "-m", "cdhelper", "apply", str(plan_file)]
    running = subprocess.Popen(
        [*command, "--report", str(report), "--junit", str(junit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):  # until b2's redeploy is under way (at most a minute)
        if any(seen.path == redeploy_path("b2") for seen in server.seen("POST")):
            break
        time.sleep(0.1)
    running.send_signal(signal_number)
    stdout, stderr = running.communicate(timeout=60)
    name = "SIGTERM" if signal_number == signal.SIGTERM else "SIGINT"
    assert running.returncode == 128 + signal_number, stderr
    assert [line.split()[0] for line in stdout.splitlines() if line.startswith("  ")] == [
        "redeployed",
        "unknown",
        "not-applied",
    ]
    assert f"error: interrupted ({name})" in stderr
    assert outcomes(tmp_path) == ["redeployed", "unknown", "not-applied"]
    results = json.loads(report.read_text())["results"]
    assert f"interrupted ({name}) while it was redeployed" in results[1]["message"]
    assert results[2]["message"] == f"not applied: interrupted ({name})"
    assert junit_failures(tmp_path) == 1  # the unknown one (not applied: skipped)
    assert [seen.path for seen in server.seen("POST")] == [redeploy_path(s) for s in ("a1", "b2")]


def test_an_apply_stopped_before_it_touched_anything_reports_so(
    server: FaultServer, tmp_path: Path
) -> None:
    """SIGTERM while the apply waits for another's lock: every action not applied, said."""
    plan_file = make_plan(server, tmp_path)
    report = tmp_path / "report.json"
    with open(lock.lock_path(Target("swarmpit", server.url)), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        running = subprocess.Popen(
            [sys.executable, "-m", "cdhelper", "apply", str(plan_file), "--report", str(report)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert running.stderr is not None
        waiting = running.stderr.readline()  # said once it waits for the lock
        running.send_signal(signal.SIGTERM)
        stdout, stderr = running.communicate(timeout=60)
    assert "waiting for another cdhelper apply" in waiting, waiting + stderr
    assert running.returncode == 128 + signal.SIGTERM, stderr
    assert "error: interrupted (SIGTERM)" in stderr
    assert "not applied: interrupted (SIGTERM) before anything was touched" in stdout
    results = json.loads(report.read_text())["results"]
    assert {(r["outcome"], r["message"]) for r in results} == {
        ("failed", "not applied: interrupted (SIGTERM) before anything was touched")
    }
    assert server.seen("POST") == []


def test_a_signal_once_the_apply_ended_keeps_its_outcomes(
    server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while the lock is being released, every action done: they are reported as
    they ended (not "before anything was touched"), and the signal handlers come back."""
    plan_file = make_plan(server, tmp_path)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    @contextlib.contextmanager
    def hold(*args: Any, **kwargs: Any) -> Iterator[None]:
        yield
        raise Terminated

    monkeypatch.setattr(lock, "hold", hold)
    result = apply(plan_file, tmp_path)
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert outcomes(tmp_path) == ["redeployed"] * 3
    assert "error: interrupted (SIGTERM)" in result.stderr
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
