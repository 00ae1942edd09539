"""The github dispatcher against a stand-in GitHub API over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from cdhelper.errors import ConfigError
from cdhelper.http import Timeouts
from cdhelper.inbox.dispatchers import DISPATCH_TYPES, by_name, github
from cdhelper.inbox.dispatchers.base import Mode, Status
from cdhelper.sources import load_events

from helpers import DATA
from standins import REDEPLOY_INPUTS, StandInGitHub, Workflow, dispatch_request

TOKEN = "github_pat_11TESTTOKEN0123456789abcdefABCDEF"
EXAMPLES = Path(__file__).parents[2] / "examples"
FAST = Timeouts(connect=2.0, read=2.0)


@pytest.fixture
def server() -> Iterator[StandInGitHub]:
    standin = StandInGitHub({TOKEN})
    yield standin
    standin.close()


def dispatcher(server: StandInGitHub, **kwargs: Any) -> github.GitHubDispatcher:
    return github.GitHubDispatcher(
        kwargs.pop("repository", "acme/deploy"),
        kwargs.pop("workflow", "redeploy.yml"),
        kwargs.pop("ref", "main"),
        kwargs.pop("token", TOKEN),
        api_url=kwargs.pop("api_url", server.url),
        timeouts=FAST,
    )


def hub_payload() -> Any:
    return json.loads((EXAMPLES / "dockerhub-push.json").read_text())


def test_webhook_batch_dispatches_the_workflow(server: StandInGitHub, tmp_path: Path) -> None:
    payloads = [hub_payload(), json.loads((DATA / "dockerhub-push-int.json").read_text())]
    outcome = dispatcher(server).dispatch(dispatch_request(payloads, environment="qa"))

    assert outcome.status is Status.DONE, outcome.detail
    assert "acme/deploy redeploy.yml@main" in outcome.detail
    (call,) = server.calls
    assert call.status == 204
    assert call.path == "/repos/acme/deploy/actions/workflows/redeploy.yml/dispatches"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["accept"] == "application/vnd.github+json"
    assert call.headers["x-github-api-version"] == "2022-11-28"
    assert call.headers["content-type"] == "application/json"
    assert set(call.json) == {"ref", "inputs"}
    assert call.json["ref"] == "main"
    inputs = call.json["inputs"]
    assert set(inputs) == {"environment", "mode", "payload"}
    assert (inputs["environment"], inputs["mode"]) == ("qa", "webhook")
    assert isinstance(inputs["payload"], str)  # a workflow input is text
    assert json.loads(inputs["payload"]) == payloads
    # the payload input is a valid `cdhelper plan --event` file
    event_file = tmp_path / "payload.json"
    event_file.write_text(inputs["payload"])
    assert [e.source for e in load_events([str(event_file)]).events] == ["dockerhub"] * 2


def test_smart_sends_no_payload_input(server: StandInGitHub) -> None:
    outcome = dispatcher(server).dispatch(dispatch_request(environment="int", mode=Mode.SMART))
    assert outcome.status is Status.DONE
    assert server.calls[0].json == {
        "ref": "main",
        "inputs": {"environment": "int", "mode": "smart"},
    }


def test_github_enterprise_api_url(server: StandInGitHub) -> None:
    target = dispatcher(server, api_url=server.url + "/api/v3/")
    assert target.dispatch(dispatch_request([hub_payload()])).status is Status.DONE
    assert (
        server.calls[0].path
        == "/api/v3/repos/acme/deploy/actions/workflows/redeploy.yml/dispatches"
    )


def test_inputs_the_workflow_does_not_declare_fail(server: StandInGitHub) -> None:
    inputs = {k: v for k, v in REDEPLOY_INPUTS.items() if k != "payload"}
    server.workflows[("acme/old", "redeploy.yml")] = Workflow(inputs=inputs)
    outcome = dispatcher(server, repository="acme/old").dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 422" in outcome.detail
    assert 'Unexpected inputs provided: ["payload"]' in outcome.detail


def test_unknown_ref_fails(server: StandInGitHub) -> None:
    outcome = dispatcher(server, ref="release").dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "No ref found for: release" in outcome.detail


def test_unknown_workflow_fails(server: StandInGitHub) -> None:
    outcome = dispatcher(server, workflow="nope.yml").dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 404" in outcome.detail
    assert "Not Found" in outcome.detail


def test_bad_credentials_fail_without_the_token(server: StandInGitHub) -> None:
    wrong = "ghp_wrongwrongwrongwrongwrong"
    outcome = dispatcher(server, token=wrong).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 401" in outcome.detail
    assert "Bad credentials" in outcome.detail
    assert wrong not in outcome.detail


def test_an_echoing_answer_never_leaks_the_token(server: StandInGitHub) -> None:
    server.fail_next(422, body=f"refused: Authorization: Bearer {TOKEN}", echo=True)
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert TOKEN not in outcome.detail
    assert TOKEN[:12] not in outcome.detail
    assert "Bearer ***" in outcome.detail


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(server: StandInGitHub, status: int) -> None:
    server.fail_next(status, body={"message": "Server Error"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert "Server Error" in outcome.detail


def test_429_with_retry_after(server: StandInGitHub) -> None:
    server.fail_next(429, headers={"Retry-After": "30"}, body={"message": "Too Many Requests"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert outcome.retry_after == 30.0


def test_primary_rate_limit_403_waits_for_the_reset(server: StandInGitHub) -> None:
    reset = int(time.time()) + 120
    server.fail_next(
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded for user ID 1."},
    )
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert outcome.retry_after is not None
    assert 100 <= outcome.retry_after <= 121
    assert "API rate limit exceeded" in outcome.detail


def test_secondary_rate_limit_403_waits_a_minute(server: StandInGitHub) -> None:
    server.fail_next(
        403,
        body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
    )
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert outcome.retry_after == 60.0


def test_403_with_retry_after_is_a_rate_limit(server: StandInGitHub) -> None:
    server.fail_next(403, headers={"Retry-After": "5"}, body={"message": "slow down"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert (outcome.status, outcome.retry_after) == (Status.RETRY, 5.0)


def test_other_403_fails(server: StandInGitHub) -> None:
    server.fail_next(403, body={"message": "Resource not accessible by personal access token"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "Resource not accessible by personal access token" in outcome.detail


def big_batch(chars: int) -> list[Any]:
    """Payloads whose JSON list is about ``chars`` characters."""
    one = hub_payload()
    size = len(json.dumps(one, separators=(",", ":"))) + 1
    return [one] * (chars // size + 1)


def test_a_batch_too_large_for_workflow_inputs_fails_before_sending(server: StandInGitHub) -> None:
    payloads = big_batch(70_000)
    outcome = dispatcher(server).dispatch(dispatch_request(payloads))
    assert outcome.status is Status.FAILED
    assert outcome.retry_after is None
    assert "too large for a workflow_dispatch" in outcome.detail
    assert "65,535" in outcome.detail
    assert f"a batch of {len(payloads)} payloads" in outcome.detail
    assert server.calls == []


def test_the_limit_is_the_one_github_enforces(server: StandInGitHub) -> None:
    """Just under the limit passes here and at the stand-in; just over fails at both."""
    # one payload, a string: the inputs are exactly the limit long with this text
    empty = {"environment": "production", "mode": "webhook", "payload": '[""]'}
    text = "x" * (github.MAX_INPUTS_CHARS - github.inputs_size(empty))
    under = dispatcher(server).dispatch(dispatch_request([text]))
    assert under.status is Status.DONE, under.detail
    over = dispatcher(server).dispatch(dispatch_request([text + "x"]))
    assert over.status is Status.FAILED
    assert len(server.calls) == 1
    # the stand-in, like GitHub, refuses it when sent anyway
    inputs = {"environment": "production", "mode": "webhook"}
    inputs["payload"] = json.dumps([text + "x"], separators=(",", ":"))
    answer = requests.post(
        server.url + "/repos/acme/deploy/actions/workflows/redeploy.yml/dispatches",
        json={"ref": "main", "inputs": inputs},
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"},
        timeout=5,
    )
    assert answer.status_code == 422


def reader(values: Mapping[str, str]) -> Any:
    def read(entry: Mapping[str, Any], name: str) -> str | None:
        ref = entry.get(f"{name}_env") or entry.get(f"{name}_file")
        return values.get(ref) if ref else None

    return read


def test_build(server: StandInGitHub) -> None:
    entry = {
        "type": "github",
        "repository": "acme/deploy",
        "workflow": "redeploy.yml",
        "ref": "main",
        "token_file": "/run/secrets/github_token",
        "api_url": server.url,
    }
    built = github.build(entry, ".", reader({"/run/secrets/github_token": TOKEN}))
    assert built.dispatch(dispatch_request([hub_payload()])).status is Status.DONE
    assert TOKEN not in repr(built)
    assert by_name("github") is github.TYPE
    assert github.TYPE in DISPATCH_TYPES


def test_without_ref_the_default_branch_is_looked_up_once(server: StandInGitHub) -> None:
    server.workflows[("acme/trunk", "redeploy.yml")] = Workflow(
        refs=frozenset({"trunk"}), default_branch="trunk"
    )
    entry = {"repository": "acme/trunk", "workflow": "redeploy.yml", "token_env": "T"}
    built = github.build({**entry, "api_url": server.url}, ".", reader({"T": TOKEN}))
    for _ in range(2):
        outcome = built.dispatch(dispatch_request([hub_payload()]))
        assert outcome.status is Status.DONE, outcome.detail
        assert "acme/trunk redeploy.yml@trunk" in outcome.detail
    assert [(c.method, c.path) for c in server.calls] == [
        ("GET", "/repos/acme/trunk"),
        ("POST", "/repos/acme/trunk/actions/workflows/redeploy.yml/dispatches"),
        ("POST", "/repos/acme/trunk/actions/workflows/redeploy.yml/dispatches"),
    ]
    assert server.calls[1].json["ref"] == "trunk"


def test_a_failed_default_branch_lookup_is_classified(server: StandInGitHub) -> None:
    missing = dispatcher(server, repository="acme/gone", ref=None)
    outcome = missing.dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "GET" in outcome.detail
    assert "HTTP 404" in outcome.detail
    flaky = dispatcher(server, ref=None)
    server.fail_next(502, body={"message": "Server Error"})
    outcome = flaky.dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert "GET" in outcome.detail
    assert [c.method for c in server.calls] == ["GET", "GET"]
    assert flaky.dispatch(dispatch_request([hub_payload()])).status is Status.DONE


def test_build_defaults_to_github_com() -> None:
    entry = {"repository": "acme/deploy", "workflow": "123456", "ref": "v1", "token_env": "T"}
    built = github.build(entry, ".", reader({"T": TOKEN}))
    assert (
        built.url == "https://api.github.com/repos/acme/deploy/actions/workflows/123456/dispatches"
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"workflow": "w.yml", "ref": "main", "token_env": "T"}, "repository is required"),
        (
            {"repository": "acme", "workflow": "w.yml", "ref": "main", "token_env": "T"},
            "OWNER/NAME",
        ),
        ({"repository": "a/b", "ref": "main", "token_env": "T"}, "workflow is required"),
        (
            {
                "repository": "a/b",
                "workflow": ".github/workflows/w.yml",
                "ref": "m",
                "token_env": "T",
            },
            "not a path",
        ),
        ({"repository": "a/b", "workflow": "w.yml", "ref": " ", "token_env": "T"}, "ref is"),
        ({"repository": "a/b", "workflow": "w.yml", "ref": "main"}, "token_env or token_file"),
        (
            {"repository": "a/b", "workflow": "w", "ref": "m", "token_env": "T", "api_url": "gh"},
            "api_url must be an http",
        ),
    ],
)
def test_build_refuses_incomplete_entries(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        github.build(entry, ".", reader({"T": TOKEN}))


def test_validation_errors_are_kept(server: StandInGitHub) -> None:
    errors = [{"resource": "Workflow", "field": "ref", "code": "invalid"}]
    server.fail_next(422, body={"message": "Validation Failed", "errors": errors})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "Validation Failed" in outcome.detail
    assert '"code": "invalid"' in outcome.detail


def test_json_without_a_message_is_shown_as_text(server: StandInGitHub) -> None:
    server.fail_next(400, body='["odd", "answer"]')
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert '["odd", "answer"]' in outcome.detail


def test_rate_limit_without_a_reset_time_waits_a_minute(server: StandInGitHub) -> None:
    server.fail_next(429, headers={"x-ratelimit-remaining": "0"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert (outcome.status, outcome.retry_after) == (Status.RETRY, 60.0)


def test_a_repository_answer_without_default_branch_fails(server: StandInGitHub) -> None:
    server.fail_next(200, body={"id": 1, "full_name": "acme/deploy"})
    outcome = dispatcher(server, ref=None).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "named no default branch: set ref" in outcome.detail


def test_it_never_raises(server: StandInGitHub) -> None:
    outcome = dispatcher(server).dispatch(dispatch_request([object()]))
    assert outcome.status is Status.FAILED
    assert "internal error" in outcome.detail
    assert TOKEN not in outcome.detail
    assert server.calls == []
