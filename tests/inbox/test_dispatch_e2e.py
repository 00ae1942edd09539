"""End to end: registry deliveries into a real inbox process, dispatched to stand-in Jenkins
and GitHub servers; a 5xx is retried with the inbox's backoff, a 422 fails for good.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import inboxes
from helpers import digest
from standins import REDEPLOY_INPUTS, StandInGitHub, StandInJenkins, Workflow

JENKINS_USER, JENKINS_TOKEN = "cd-bot", "jenkins-api-token-0f9e8d7c6b"
GITHUB_TOKEN = "github_pat_e2e_0123456789abcdef"


@pytest.fixture
def jenkins() -> Iterator[StandInJenkins]:
    server = StandInJenkins({JENKINS_USER: JENKINS_TOKEN})
    yield server
    server.close()


@pytest.fixture
def github() -> Iterator[StandInGitHub]:
    server = StandInGitHub({GITHUB_TOKEN})
    yield server
    server.close()


def start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jenkins: StandInJenkins, github: Any
) -> Any:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "jenkins_token").write_text(JENKINS_TOKEN + "\n")
    (secrets / "github_token").write_text(GITHUB_TOKEN)
    monkeypatch.setitem(inboxes.ENVIRON, "JENKINS_USER", JENKINS_USER)
    config = inboxes.write_config(
        tmp_path,
        # long enough that a release's deliveries share a batch on a busy machine
        coalesce_seconds=2,
        max_batch_seconds=10,
        environments=[
            {
                "name": "int",
                "services": {"file": "inventory.json"},
                "filters": ["stack=int"],
                "dispatch": {
                    "type": "jenkins",
                    "job_url": jenkins.job_url(),
                    "user_env": "JENKINS_USER",
                    "token_file": "secrets/jenkins_token",
                },
            },
            {
                "name": "qa",
                "services": {"file": "inventory.json"},
                "filters": ["stack=qa"],
                "dispatch": {
                    "type": "github",
                    "repository": "acme/deploy",
                    "workflow": "redeploy.yml",
                    "ref": "main",
                    "api_url": github.url,
                    "token_file": "secrets/github_token",
                },
            },
        ],
    )
    return inboxes.InboxProcess(config, tmp_path / "inbox.log").start()


def push(inbox: Any, tag: str, event_id: str) -> bytes:
    body: bytes = inboxes.registry_push(tag, digest("1"), event_id)
    answer = inbox.post(
        f"/hooks/reg/{inboxes.REG_TOKEN}",
        body,
        {"Authorization": f"Bearer {inboxes.REG_TOKEN}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 202, answer.text
    return body


def test_a_release_reaches_jenkins_and_github_once_each(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    jenkins: StandInJenkins,
    github: StandInGitHub,
) -> None:
    jenkins.fail_next(503, headers={"Retry-After": "1"})  # the first attempt is retried
    inbox = start(tmp_path, monkeypatch, jenkins, github)
    try:
        bodies = [push(inbox, tag, f"e{n}") for n, tag in enumerate(inboxes.RELEASE)]
        inboxes.wait_until(lambda: len(jenkins.calls) == 2, 20, "Jenkins to be called twice")
        inboxes.wait_until(lambda: github.calls, 20, "GitHub to be called")
    finally:
        inbox.stop()
    assert [c.status for c in jenkins.calls] == [503, 201]
    form = jenkins.calls[1].form
    assert (form["TARGET"], form["MODE"]) == (["int"], ["webhook"])
    assert json.loads(form["PAYLOAD"][0]) == [json.loads(b) for b in bodies]
    (call,) = github.calls
    assert call.status == 204
    assert call.json["inputs"]["environment"] == "qa"
    assert json.loads(call.json["inputs"]["payload"]) == [json.loads(b) for b in bodies]
    log = (tmp_path / "inbox.log").read_text()
    for secret in (JENKINS_TOKEN, GITHUB_TOKEN):
        assert secret not in log


def test_a_workflow_without_the_payload_input_fails_at_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    jenkins: StandInJenkins,
    github: StandInGitHub,
) -> None:
    inputs = {k: v for k, v in REDEPLOY_INPUTS.items() if k != "payload"}
    github.workflows[("acme/deploy", "redeploy.yml")] = Workflow(inputs=inputs)
    inbox = start(tmp_path, monkeypatch, jenkins, github)
    try:
        push(inbox, "v1", "e1")
        inboxes.wait_until(lambda: github.calls and jenkins.calls, 20, "both dispatches")
        inboxes.wait_until(
            lambda: "Unexpected inputs" in (tmp_path / "inbox.log").read_text(), 10, "the log"
        )
    finally:
        inbox.stop()
    assert [c.status for c in github.calls] == [422]  # not retried
