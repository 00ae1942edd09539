"""Hostile and unlucky inputs through the command line: exit 1 (2 for usage) with a message
that names what and where, nothing written, nothing called, never a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests_mock
import yaml
from click.testing import CliRunner, Result

from cdhelper.cli import cli

from helpers import DATA

SP = "http://127.0.0.1:8888"
HUB = str(DATA / "dockerhub-push-int.json")
SWARMPIT = str(DATA / "swarmpit-services.json")
KEY = "plan-signing-k3y-do-not-print"


@pytest.fixture(autouse=True)
def _no_plan_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDHELPER_PLAN_KEY", raising=False)


@pytest.fixture
def swarmpit(
    requests_mock: requests_mock.Mocker,
    load_data: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> requests_mock.Mocker:
    monkeypatch.setenv("CDHELPER_SWARMPIT_TOKEN", "t0ken")
    services = load_data("swarmpit-services.json")
    requests_mock.get(f"{SP}/api/services", json=services)
    by_id = {s["id"].lower(): s for s in services}  # requests_mock lower-cases paths
    requests_mock.get(
        re.compile(f"{SP}/api/services/[^/]+$"),
        json=lambda request, context: by_id[request.path.rsplit("/", 1)[-1]],
    )
    requests_mock.post(re.compile(f"{SP}/api/services/[^/]+/redeploy"), status_code=202)
    return requests_mock


def run(*args: str, stdin: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=stdin, env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def hub_payload(**push_data: Any) -> str:
    return json.dumps({"push_data": {"tag": "INT", **push_data}, "repository": HUB_REPO})


HUB_REPO = {"repo_name": "dopplerdock/doppler-cd-helper"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            hub_payload().replace('"INT"', '"INT", "pushed_at": NaN'),
            "not valid JSON: $.push_data.pushed_at: NaN is not JSON",
        ),
        (
            hub_payload().replace('"INT"', '"INT", "pushed_at": ' + "1" * 5000),
            "not valid JSON: $.push_data.pushed_at: integer with 5000 digits (at most 4300)",
        ),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON: nested deeper than 64 levels"),
        (
            hub_payload().replace('"INT"', '"INT", "pusher": "\\ud800"'),
            "not valid JSON: $.push_data.pusher: holds a lone surrogate",
        ),
        (
            hub_payload().replace('"INT"', '"INT", "tag": "v1"'),
            "not valid JSON: $.push_data: duplicate key 'tag'",
        ),
        (hub_payload(pushed_at=-5), "  - $.push_data.pushed_at: -5 is less than the minimum of 0"),
        (
            hub_payload().replace('"INT"', '"INT\\n"'),
            "  - $.push_data.tag: 'INT\\n' does not match",
        ),
        (hub_payload().replace('"INT"', '"INTé"'), "  - $.push_data.tag: 'INTé' does not match"),
    ],
    ids=[
        "nan",
        "huge-int",
        "deep",
        "lone-surrogate",
        "duplicate-key",
        "negative-time",
        "tag-newline",
        "tag-non-ascii",
    ],
)
def test_bad_payloads_write_no_plan(tmp_path: Path, text: str, message: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(text)
    out = tmp_path / "plan.yaml"
    result = run("plan", "--event", str(event), "--inventory", SWARMPIT, "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {event}: ")
    assert message in result.stderr
    assert not out.exists()
    result = run("validate", str(event))
    assert result.exit_code == 1
    assert message in result.stderr


def test_invalid_utf8_on_stdin() -> None:
    result = run("validate", "-", stdin=b'{"push_data": {"tag": "\xc3\x28"}}')
    assert result.exit_code == 1
    assert "error: <stdin>: not valid UTF-8: byte 0xc3 at offset 23\n" in result.stderr


def test_inventory_with_duplicate_keys(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.json"
    text = (
        Path(SWARMPIT)
        .read_text()
        .replace('"serviceName":', '"serviceName": "x", "serviceName":', 1)
    )
    inventory.write_text(text)
    result = run("plan", "--event", HUB, "--inventory", str(inventory))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {inventory}: not valid JSON: $[0]: duplicate key 'serviceName': "
        "which one counts would be a guess\n"
    )
    assert result.stdout == ""


def _plan(tmp_path: Path, env: dict[str, str] | None = None) -> Path:
    out = tmp_path / "plan.yaml"
    result = run("plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(out), env=env)
    assert result.exit_code == 0, result.output
    return out


def test_billion_laughs_plan_fails_fast(tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.yaml"
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)
    ]
    laughs.write_text("\n".join(lines) + "\n")
    assert laughs.stat().st_size < 1024
    result = run("show", str(laughs))  # refused at the first anchor: nothing is expanded
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {laughs}: refused: YAML anchors and aliases (&name, *name) are not allowed in "
        "a plan at line 1, column 4\n"
    )


def test_plan_with_many_schema_errors_prints_a_bounded_report(tmp_path: Path) -> None:
    data = yaml.safe_load(_plan(tmp_path).read_text())
    data["events"] = [{"index": "x"} for _ in range(2_000)]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = run("show", str(bad))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {bad}: not a valid cdhelper plan"
    assert len(lines) == 22
    assert lines[1].startswith("  - $.events[0]")
    assert lines[-1] == "  - and at least 980 more"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda a: a.update(tag="latest"),
            "  - $.actions[0].tag: 'latest' is not the tag of $.actions[0].image ('INT')",
        ),
        (
            lambda a: a.update(target_digest="sha256:abc"),
            "  - $.actions[0].target_digest: 'sha256:abc' does not match '^sha256:[0-9a-f]{64}$'",
        ),
    ],
    ids=["tag", "digest"],
)
def test_apply_refuses_an_inconsistent_plan_and_calls_nothing(
    tmp_path: Path, swarmpit: requests_mock.Mocker, edit: Callable[[Any], Any], problem: str
) -> None:
    plan_file = _plan(tmp_path)
    data = yaml.safe_load(plan_file.read_text())
    edit(data["actions"][0])
    plan_file.write_text(yaml.safe_dump(data))
    result = run("apply", str(plan_file), "--swarmpit-url", SP)
    assert result.exit_code == 1
    assert result.stderr == f"error: {plan_file}: not a valid cdhelper plan\n{problem}\n"
    assert swarmpit.call_count == 0
    assert run("show", str(plan_file)).exit_code == 1


def test_plan_to_stdout_with_dash_is_only_the_plan() -> None:
    result = run("plan", "--event", HUB, "--inventory", SWARMPIT, "-o", "-")
    assert result.exit_code == 0
    data = yaml.safe_load(result.stdout)
    assert data["format"] == "cdhelper-plan"
    assert result.stderr == "1 to redeploy, 0 skipped\n"
    shown = run("show", "-", stdin=result.stdout)
    assert shown.exit_code == 0, shown.output


@pytest.mark.parametrize("which", ["event", "inventory"])
def test_output_equal_to_an_input_is_a_usage_error(tmp_path: Path, which: str) -> None:
    event, inventory = tmp_path / "event.json", tmp_path / "inventory.json"
    event.write_text(Path(HUB).read_text())
    inventory.write_text(Path(SWARMPIT).read_text())
    target = event if which == "event" else inventory
    before = target.read_text()
    out = str(tmp_path / "." / target.name)  # another spelling of the same path
    result = run("plan", "--event", str(event), "--inventory", str(inventory), "-o", out)
    assert result.exit_code == 2
    assert f"-o {out} is also an input: write somewhere else" in result.stderr
    assert target.read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--report", "{plan}"], "--report {plan} is also an input"),
        (["--junit", "{plan}"], "--junit {plan} is also an input"),
        (["--report", "{dir}/r", "--junit", "{dir}/r"], "--junit and --report are the same file"),
    ],
    ids=["report", "junit", "both"],
)
def test_apply_outputs_must_differ_from_the_plan_and_each_other(
    tmp_path: Path, swarmpit: requests_mock.Mocker, args: list[str], message: str
) -> None:
    plan_file = _plan(tmp_path)
    before = plan_file.read_text()
    fill = {"plan": str(plan_file), "dir": str(tmp_path)}
    result = run("apply", str(plan_file), "--swarmpit-url", SP, *[a.format(**fill) for a in args])
    assert result.exit_code == 2
    assert message.format(**fill) in result.stderr
    assert plan_file.read_text() == before
    assert swarmpit.call_count == 0


def test_signed_plan_applies_with_the_key(tmp_path: Path, swarmpit: requests_mock.Mocker) -> None:
    env = {"CDHELPER_PLAN_KEY": KEY}
    plan_file = _plan(tmp_path, env)
    text = plan_file.read_text()
    assert re.search(
        r"^signature:\n  algorithm: hmac-sha256\n  value: [0-9a-f]{64}\n\Z", text, re.M
    )
    shown = run("show", str(plan_file), env=env)
    assert shown.exit_code == 0
    assert shown.stderr == "signature: signed, signature valid\n"
    result = run("apply", str(plan_file), "--swarmpit-url", SP, env=env)
    assert result.exit_code == 0, result.output
    assert [r.path for r in swarmpit.request_history if r.method == "POST"] == [
        "/api/services/k3q9z1/redeploy"
    ]
    assert KEY not in result.output + shown.output + text


def test_changed_signed_plan_is_refused(tmp_path: Path, swarmpit: requests_mock.Mocker) -> None:
    env = {"CDHELPER_PLAN_KEY": KEY}
    plan_file = _plan(tmp_path, env)
    plan_file.write_text(plan_file.read_text().replace("spec_image: ", "spec_image: docker.io/"))
    shown = run("show", str(plan_file), env=env)
    assert shown.exit_code == 0
    assert shown.stderr.startswith("warning: signature: signature does not match")
    result = run("apply", str(plan_file), "--swarmpit-url", SP, env=env)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {plan_file}: $.signature: refusing the plan: the signature does not match its "
        "content: it was changed after it was signed, or signed with another key. "
        "Nothing was changed.\n"
    )
    assert swarmpit.call_count == 0
    assert KEY not in result.output


def test_unsigned_plan_is_refused_with_a_key(
    tmp_path: Path, swarmpit: requests_mock.Mocker
) -> None:
    plan_file = _plan(tmp_path)
    result = run("apply", str(plan_file), "--swarmpit-url", SP, env={"CDHELPER_PLAN_KEY": KEY})
    assert result.exit_code == 1
    assert "refusing an unsigned plan: CDHELPER_PLAN_KEY is set" in result.stderr
    assert swarmpit.call_count == 0
    shown = run("show", str(plan_file), env={"CDHELPER_PLAN_KEY": KEY})
    assert (shown.exit_code, shown.stderr) == (0, "warning: signature: not signed\n")
    assert run("show", str(plan_file)).stderr == ""
    signed = _plan(tmp_path, {"CDHELPER_PLAN_KEY": KEY})
    assert run("apply", str(signed), "--swarmpit-url", SP, "--dry-run").exit_code == 0
    assert run("show", str(signed)).stderr == (
        "signature: signed, not checked (CDHELPER_PLAN_KEY is not set)\n"
    )


@pytest.mark.parametrize("command", ["plan", "apply", "show"])
def test_an_empty_key_is_an_error(tmp_path: Path, command: str) -> None:
    plan_file = _plan(tmp_path)
    args = {
        "plan": ["plan", "--event", HUB, "--inventory", SWARMPIT, "-o", str(tmp_path / "new")],
        "apply": ["apply", str(plan_file), "--swarmpit-url", SP],
        "show": ["show", str(plan_file)],
    }[command]
    result = run(*args, env={"CDHELPER_PLAN_KEY": ""})
    assert result.exit_code == 1
    assert result.stderr == (
        "error: CDHELPER_PLAN_KEY is set but empty: give the plan signing key, "
        "or unset it to work unsigned\n"
    )
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("registry.example.com:99999", "the port must be 1-65535"),
        ("myregistry", "a name without a dot or a port reads as a Docker Hub namespace"),
        ("[::1", "invalid URL: Invalid IPv6 URL"),
    ],
)
def test_registry_hosts_docker_would_refuse_write_no_plan(
    tmp_path: Path, load_data: Callable[[str], Any], host: str, message: str
) -> None:
    envelopes = load_data("registry-notifications-push-app-v1.json")
    for envelope in envelopes:
        for event in envelope["events"]:
            event["target"]["url"] = event["target"]["url"].replace("127.0.0.1:5000", host)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(envelopes))
    out = tmp_path / "plan.yaml"
    result = run("plan", "--event", str(event_file), "--inventory", SWARMPIT, "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {event_file}: $[")
    assert message in result.stderr
    assert not out.exists()


def test_a_live_answer_meets_the_same_rules(
    requests_mock: requests_mock.Mocker, load_data: Callable[[str], Any], tmp_path: Path
) -> None:
    """Swarmpit's JSON is not parsed by the loader, but it is validated: same tree check."""
    text = json.dumps(load_data("swarmpit-services.json"))
    requests_mock.get(f"{SP}/api/services", text=text.replace("int_cd-helper", "int_\\ud800"))
    out = tmp_path / "plan.yaml"
    result = run(
        "plan", "--event", HUB, "--swarmpit-url", SP, "-o", str(out),
        env={"CDHELPER_SWARMPIT_TOKEN": "t0ken"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: Swarmpit at {SP}: GET /api/services: not valid JSON: $[0].serviceName: "
        "holds a lone surrogate (such as \\ud800), which is not a Unicode character\n"
    )
    assert not out.exists()
