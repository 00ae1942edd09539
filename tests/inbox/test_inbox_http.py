"""The inbox over real HTTP (uvicorn in this process): every answer, and one plan per batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from cdhelper.inbox import auth

from helpers import digest
from inboxes import (
    ADMIN_TOKEN,
    HUB_TOKEN,
    REG_TOKEN,
    RELEASE,
    SECRETS,
    Running,
    github_headers,
    hub_push,
    inbox_in_thread,
    registry_push,
    standard_headers,
    wait_until,
    write_config,
)

BEARER = {"Authorization": f"Bearer {REG_TOKEN}"}


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Running]:
    with inbox_in_thread(
        write_config(tmp_path, max_body_bytes=20000, coalesce_seconds=1)
    ) as running:
        yield running


def test_an_accepted_delivery_and_its_duplicate(inbox: Running) -> None:
    body = registry_push("v1", digest("1"), "evt-1")
    first = inbox.post("/hooks/reg", body, BEARER)
    assert (first.status_code, first.json()) == (202, {"delivery": 1, "events": 1})
    again = inbox.post("/hooks/reg", body, {"Authorization": REG_TOKEN})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})


def test_standard_webhooks_signed_deliveries(inbox: Running) -> None:
    body = registry_push("v1", digest("1"), "evt-2")
    accepted = inbox.post("/hooks/signed", body, standard_headers(body, "msg_1"))
    assert accepted.status_code == 202
    other = registry_push("v1.2", digest("1"), "evt-3")
    replay = inbox.post("/hooks/signed", other, standard_headers(other, "msg_1"))
    assert replay.json() == {"status": "duplicate"}  # webhook-id seen before
    forged = standard_headers(other, "msg_2", secret="whsec_" + "A" * 44)
    refused = inbox.post("/hooks/signed", other, forged)
    assert (refused.status_code, refused.json()) == (401, {"error": "unauthorized"})
    unsigned = inbox.post("/hooks/signed", other, BEARER)
    assert unsigned.status_code == 401


def test_github_signed_deliveries(inbox: Running) -> None:
    data = Path(__file__).parent.parent / "data" / "sources" / "ghcr"
    index = (data / "package-published-index.json").read_bytes()
    accepted = inbox.post("/hooks/gh", index, github_headers(index, "d-1"))
    assert (accepted.status_code, accepted.json()["events"]) == (202, 1)
    assert inbox.post("/hooks/gh", index, github_headers(index, "d-1")).json() == {
        "status": "duplicate"
    }
    platform = (data / "package-published-platform-amd64.json").read_bytes()
    ignored = inbox.post("/hooks/gh", platform, github_headers(platform, "d-2"))
    assert (ignored.status_code, ignored.json()["events"]) == (200, 0)
    ping = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    pinged = inbox.post("/hooks/gh", ping, github_headers(ping, "d-3", event="ping"))
    assert (pinged.status_code, pinged.json()) == (200, {"status": "ping", "events": 0})
    forged = github_headers(index, "d-4")
    forged["X-Hub-Signature-256"] = auth.sign_github("guess", index)
    assert inbox.post("/hooks/gh", index, forged).status_code == 401
    assert inbox.post("/hooks/gh", index, {"X-GitHub-Delivery": "d-5"}).status_code == 401


def test_tokens_in_the_path_and_refusals(inbox: Running) -> None:
    assert inbox.post(f"/hooks/hub/{HUB_TOKEN}", hub_push()).status_code == 202
    # Docker Hub payloads carry no delivery id: a second one is accepted too
    assert inbox.post(f"/hooks/hub/{HUB_TOKEN}", hub_push()).status_code == 202
    for path, headers in [
        ("/hooks/hub", {}),
        ("/hooks/hub/wrong", {}),
        (f"/hooks/hub/{HUB_TOKEN}x", {}),
        ("/hooks/reg", {"Authorization": f"Bearer {HUB_TOKEN}"}),
    ]:
        refused = inbox.post(path, hub_push(), headers)
        assert (refused.status_code, refused.json()) == (401, {"error": "unauthorized"}), path
    assert inbox.post("/hooks/open", registry_push("v1", digest("1"), "evt-o")).status_code == 202


def test_invalid_payloads_are_400_with_paths(inbox: Running) -> None:
    bad = json.loads(registry_push("v1", digest("1"), "evt-4"))
    del bad["events"][0]["target"]["repository"]
    answer = inbox.post("/hooks/reg", json.dumps(bad).encode(), BEARER)
    assert answer.status_code == 400
    assert (
        answer.json()["error"]
        == "delivery to reg: not a valid registry notification envelope (CNCF Distribution)"
    )
    assert "$.events[0].target: 'repository' is a required property" in answer.json()["problems"]
    not_json = inbox.post("/hooks/reg", b"{not json", BEARER)
    assert (not_json.status_code, not_json.json()["error"]) == (
        400,
        "delivery to reg: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 1, column 2",
    )
    binary = inbox.post("/hooks/reg", b"\xff\xfe", BEARER)
    assert binary.json() == {"error": "delivery to reg: not a JSON payload: not UTF-8 text"}
    deep = inbox.post("/hooks/reg", b"[" * 5000 + b"]" * 5000, BEARER)
    assert deep.status_code == 400
    wrong_kind = inbox.post(f"/hooks/hub/{HUB_TOKEN}", registry_push("v1", digest("1"), "e"))
    assert wrong_kind.status_code == 400


def test_valid_payloads_without_pushes_are_200(inbox: Running) -> None:
    pull = json.loads(registry_push("v1", digest("1"), "evt-5"))
    pull["events"][0]["action"] = "pull"
    answer = inbox.post("/hooks/reg", json.dumps(pull).encode(), BEARER)
    assert answer.status_code == 200
    assert answer.json() == {
        "delivery": 1,
        "events": 0,
        "ignored": ["registry: $.events[0]: pull: not a push"],
    }


def test_unknown_sources_methods_and_sizes(inbox: Running) -> None:
    missing = inbox.post("/hooks/nope", b"{}")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "no webhook source named 'nope'"},
    )
    assert requests.get(inbox.url + "/elsewhere", timeout=5).status_code == 404
    get = requests.get(inbox.url + "/hooks/reg", timeout=5)
    assert (get.status_code, get.json()) == (405, {"error": "method not allowed"})
    assert requests.put(inbox.url + "/hooks/reg/x", data=b"{}", timeout=5).status_code == 405
    big = b"[" + b"0," * 12000 + b"0]"
    declared = inbox.post("/hooks/reg", big, BEARER)
    assert declared.status_code == 413
    assert declared.json() == {"error": "the body is larger than 20000 bytes"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for _ in range(30):
            yield b" " * 1000

    assert inbox.post("/hooks/reg", chunks(), BEARER).status_code == 413  # type: ignore[arg-type]


def test_smart_requests_need_the_admin_token(tmp_path: Path) -> None:
    quiet = {
        "name": "quiet",
        "services": {"file": "inventory.json"},
        "filters": ["stack=none"],  # nothing in scope: no registry to ask
        "dispatch": {"type": "plans", "dir": "plans"},
    }
    with inbox_in_thread(write_config(tmp_path, environments=[quiet])) as inbox:
        smart_requests(inbox)


def smart_requests(inbox: Running) -> None:
    assert inbox.post("/smart/int", b"").status_code == 401
    assert (
        inbox.post("/smart/int", b"", {"Authorization": f"Bearer {REG_TOKEN}"}).status_code == 401
    )
    assert inbox.post("/smart/int", b"", {"Authorization": ADMIN_TOKEN}).status_code == 401
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert inbox.post("/smart/prod", b"", admin).status_code == 404
    accepted = inbox.post("/smart/quiet", b"", admin)
    assert (accepted.status_code, accepted.json()) == (202, {"batch": 1, "environment": "quiet"})
    wait_until(
        lambda: requests.get(inbox.url + "/healthz", timeout=5).json()["pending_dispatches"] == 0
    )


def test_health_and_metrics(inbox: Running) -> None:
    inbox.post("/hooks/reg", registry_push("v1", digest("1"), "evt-6"), BEARER)
    inbox.post("/hooks/reg", b"{}", {})
    health = requests.get(inbox.url + "/healthz", timeout=5)
    assert health.json()["status"] == "ok"
    text = requests.get(inbox.url + "/metrics", timeout=5).text
    assert 'cdhelper_deliveries_total{outcome="accepted",source="reg"} 1.0' in text
    assert 'cdhelper_deliveries_total{outcome="unauthorized",source="reg"} 1.0' in text
    assert 'cdhelper_queue_depth{queue="deliveries"}' in text
    wait_until(inbox.plans, what="the plan")
    # the file is written before the dispatch is recorded as done
    wait_until(
        lambda: requests.get(inbox.url + "/healthz", timeout=5).json()["pending_dispatches"] == 0
    )
    text = requests.get(inbox.url + "/metrics", timeout=5).text
    assert 'cdhelper_dispatches_total{environment="int",outcome="done",type="plans"} 1.0' in text


def test_four_tags_of_a_release_give_one_plan_file(
    inbox: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    for number, tag in enumerate(RELEASE):
        body = registry_push(tag, digest("1"), f"rel-{number}")
        assert inbox.post("/hooks/reg", body, BEARER).status_code == 202
    [path] = wait_until(inbox.plans, what="the plan file")
    assert path.name.startswith("int-") and path.name.endswith("-1.yaml")
    plan = yaml.safe_load(path.read_text())
    assert plan["mode"] == "webhook"
    assert [e["image"] for e in plan["events"]] == [f"127.0.0.1:5000/app:{t}" for t in RELEASE]
    assert sorted(a["service"]["name"] for a in plan["actions"]) == sorted(
        f"int_app-{t}" for t in RELEASE
    )
    assert {a["target_digest"] for a in plan["actions"]} == {digest("1")}
    assert "qa_app" not in path.read_text()  # filters: stack=int
    wait_until(
        lambda: requests.get(inbox.url + "/healthz", timeout=5).json()["pending_dispatches"] == 0
    )
    logged = capsys.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert [line["outcome"] for line in lines if line["event"] == "delivery"] == ["accepted"] * 4
    assert [line["outcome"] for line in lines if line["event"] == "dispatch"] == ["done"]
    assert not any(secret in logged for secret in SECRETS)


def test_the_signatures_the_tests_make_are_the_real_ones() -> None:
    assert auth.sign_github("It's a Secret to Everybody", b"Hello, World!").endswith("3e17")
