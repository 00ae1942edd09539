"""The jenkins dispatcher against a stand-in Jenkins over real HTTP on loopback."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cdhelper import redact
from cdhelper.errors import ConfigError
from cdhelper.http import Timeouts
from cdhelper.inbox.dispatchers import DISPATCH_TYPES, _http, by_name, jenkins
from cdhelper.inbox.dispatchers.base import Mode, Status
from cdhelper.sources import load_events

from helpers import DATA
from standins import StandInJenkins, dispatch_request

USER = "cd-bot"
TOKEN = "11a7c0ffee5ecret0token0f0r0jenkins"
EXAMPLES = Path(__file__).parents[2] / "examples"
FAST = Timeouts(connect=2.0, read=2.0)


@pytest.fixture
def server() -> Iterator[StandInJenkins]:
    standin = StandInJenkins({USER: TOKEN}, jobs=("redeploy", "folder/deploy"))
    yield standin
    standin.close()


def dispatcher(server: StandInJenkins, job: str = "redeploy", **kwargs: Any) -> Any:
    return jenkins.JenkinsDispatcher(
        server.job_url(job),
        kwargs.pop("user", USER),
        kwargs.pop("token", TOKEN),
        timeouts=kwargs.pop("timeouts", FAST),
        **kwargs,
    )


def hub_payload() -> Any:
    return json.loads((EXAMPLES / "dockerhub-push.json").read_text())


def secrets_absent(text: str) -> None:
    assert TOKEN not in text
    assert TOKEN[:8] not in text
    assert base64.b64encode(f"{USER}:{TOKEN}".encode()).decode() not in text


def test_webhook_batch_starts_the_job_with_its_payloads(
    server: StandInJenkins, tmp_path: Path
) -> None:
    payloads = [hub_payload(), json.loads((DATA / "dockerhub-push-int.json").read_text())]
    outcome = dispatcher(server).dispatch(dispatch_request(payloads, environment="qa"))

    assert outcome.status is Status.DONE
    assert outcome.retry_after is None
    assert f"{server.url}/queue/item/1/" in outcome.detail
    assert "TARGET=qa" in outcome.detail
    (call,) = server.calls
    assert call.path == "/job/redeploy/buildWithParameters"
    assert call.status == 201
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (
        call.headers["authorization"]
        == "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    )
    assert "jenkins-crumb" not in call.headers  # an API token needs no crumb
    assert set(call.form) == {"PAYLOAD", "TARGET", "MODE"}
    assert call.form["TARGET"] == ["qa"]
    assert call.form["MODE"] == ["webhook"]
    assert json.loads(call.form["PAYLOAD"][0]) == payloads
    # PAYLOAD is a valid `cdhelper plan --event` file
    event_file = tmp_path / "payload.json"
    event_file.write_text(call.form["PAYLOAD"][0])
    loaded = load_events([str(event_file)])
    assert [e.source for e in loaded.events] == ["dockerhub", "dockerhub"]
    assert {str(e.image) for e in loaded.events} == {str(loaded.events[0].image)}
    assert str(loaded.events[0].image).endswith(":INT")


def test_smart_sends_no_payload(server: StandInJenkins) -> None:
    outcome = dispatcher(server).dispatch(
        dispatch_request(environment="production", mode=Mode.SMART)
    )
    assert outcome.status is Status.DONE
    (call,) = server.calls
    assert call.form == {"TARGET": ["production"], "MODE": ["smart"]}


def test_job_in_a_folder_and_a_trailing_slash(server: StandInJenkins) -> None:
    target = jenkins.JenkinsDispatcher(
        server.job_url("folder/deploy") + "/", USER, TOKEN, timeouts=FAST
    )
    assert target.dispatch(dispatch_request([hub_payload()])).status is Status.DONE
    assert server.calls[0].path == "/job/folder/job/deploy/buildWithParameters"


def test_unicode_in_payloads_reaches_jenkins_intact(server: StandInJenkins) -> None:
    payload = {**hub_payload(), "note": "déploiement ✓ 部署"}
    outcome = dispatcher(server).dispatch(dispatch_request([payload]))
    assert outcome.status is Status.DONE
    assert json.loads(server.calls[0].form["PAYLOAD"][0]) == [payload]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(server: StandInJenkins, status: int) -> None:
    server.fail_next(status, body="<html><body>Jenkins is restarting</body></html>")
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert outcome.retry_after is None
    assert f"HTTP {status}" in outcome.detail
    assert "Jenkins is restarting" in outcome.detail


@pytest.mark.parametrize(("status", "header", "wait"), [(429, "7", 7.0), (503, "120", 120.0)])
def test_retry_after_is_kept(server: StandInJenkins, status: int, header: str, wait: float) -> None:
    server.fail_next(status, headers={"Retry-After": header})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert outcome.retry_after == wait


def test_retry_after_as_an_http_date(server: StandInJenkins) -> None:
    server.fail_next(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert outcome.retry_after == 0.0  # a date in the past: retry at once


def test_missing_permission_fails_with_jenkins_reason(server: StandInJenkins) -> None:
    server.fail_next(
        403,
        headers={"Content-Type": "text/html"},
        body="<html><head><title>Error 403</title><style>p{}</style></head><body>"
        "<p>cd-bot is missing the Job/Build permission</p></body></html>",
    )
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert outcome.retry_after is None
    assert "HTTP 403" in outcome.detail
    assert "cd-bot is missing the Job/Build permission" in outcome.detail
    assert "<p>" not in outcome.detail
    assert "p{}" not in outcome.detail


def test_wrong_token_fails_and_never_shows_it(server: StandInJenkins) -> None:
    wrong = "0wrong0token0wrong0token"
    outcome = dispatcher(server, token=wrong).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 401" in outcome.detail
    assert "Invalid password/token for user: cd-bot" in outcome.detail
    assert wrong not in outcome.detail


def test_unknown_job_fails(server: StandInJenkins) -> None:
    outcome = dispatcher(server, job="nope").dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 404" in outcome.detail
    assert "/job/nope/buildWithParameters" in outcome.detail


def test_a_server_echoing_the_request_never_leaks_the_token(server: StandInJenkins) -> None:
    server.fail_next(400, body="bad request, you sent:", echo=True)
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "bad request" in outcome.detail
    assert "***" in outcome.detail  # the Authorization header was echoed, and masked
    secrets_absent(outcome.detail)


@pytest.mark.parametrize("form", ["raw", "url", "json"])
def test_token_in_any_echoed_form_is_masked(server: StandInJenkins, form: str) -> None:
    token = 'tok/en+with "odd" chars&=='
    shown = {"raw": token, "url": "tok%2Fen%2Bwith%20%22odd%22%20chars%26%3D%3D"}.get(
        form, json.dumps(token)[1:-1]
    )
    server.users[USER] = token
    server.fail_next(500, body={"message": f"cannot use {shown}"})
    outcome = dispatcher(server, token=token).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert shown not in outcome.detail
    assert "cannot use ***" in outcome.detail


def test_a_secret_cut_by_the_body_cap_is_masked(server: StandInJenkins) -> None:
    filler = "x" * (_http.BODY_CAP - 10)
    server.fail_next(500, body=filler + TOKEN + "y" * 100)
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    secrets_absent(outcome.detail)
    assert TOKEN[:6] not in outcome.detail


def test_a_huge_answer_is_read_capped_and_snipped(server: StandInJenkins) -> None:
    server.fail_next(500, body="e" * (4 * 1024 * 1024))
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert len(outcome.detail) < 600


def test_a_redirect_is_not_followed(server: StandInJenkins) -> None:
    server.fail_next(302, headers={"Location": f"{server.url}/login?from=%2Fjob"})
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 302" in outcome.detail
    assert "redirects are not followed" in outcome.detail
    assert len(server.calls) == 1


def test_an_unexpected_success_code_is_not_taken_for_a_queued_build(
    server: StandInJenkins,
) -> None:
    server.fail_next(200, body="<html>Sign in to Jenkins</html>")
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.FAILED
    assert "HTTP 200" in outcome.detail


def test_connection_refused_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = jenkins.JenkinsDispatcher(
        f"http://127.0.0.1:{port}/job/redeploy", USER, TOKEN, timeouts=FAST
    )
    outcome = target.dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert "cannot reach" in outcome.detail
    assert "connection refused" in outcome.detail
    assert "may have been received" not in outcome.detail  # it never left


def test_no_answer_in_time_is_retried(server: StandInJenkins) -> None:
    server.delay = 1.5
    target = dispatcher(server, timeouts=Timeouts(connect=1.0, read=0.3))
    outcome = target.dispatch(dispatch_request([hub_payload()]))
    assert outcome.status is Status.RETRY
    assert "no answer" in outcome.detail
    assert "0.3 s" in outcome.detail
    assert "may have been received" in outcome.detail  # at least once: Jenkins may have it


def test_control_characters_never_reach_a_detail(server: StandInJenkins) -> None:
    server.fail_next(400, body="bad\x1b[31m request\x00")
    outcome = dispatcher(server).dispatch(dispatch_request([hub_payload()]))
    assert "bad [31m request" in outcome.detail
    assert "\x1b" not in outcome.detail
    assert "\x00" not in outcome.detail


def test_the_token_is_known_to_cdhelpers_output_boundary(server: StandInJenkins) -> None:
    dispatcher(server)
    assert redact.redact(f"log line with {TOKEN}") == "log line with ***"
    basic = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    assert redact.redact(f"Authorization: Basic {basic}") == "Authorization: Basic ***"


def test_it_never_raises(server: StandInJenkins) -> None:
    outcome = dispatcher(server).dispatch(dispatch_request([object()]))
    assert outcome.status is Status.FAILED
    assert "internal error" in outcome.detail
    assert server.calls == []


def reader(values: Mapping[str, str]) -> Any:
    def read(entry: Mapping[str, Any], name: str) -> str | None:
        ref = entry.get(f"{name}_env") or entry.get(f"{name}_file")
        return values.get(ref) if ref else None

    return read


def test_build_reads_secrets_through_the_reader(server: StandInJenkins) -> None:
    entry = {
        "type": "jenkins",
        "job_url": server.job_url(),
        "user_env": "JENKINS_USER",
        "token_file": "/run/secrets/jenkins_token",
    }
    built = jenkins.build(
        entry, "/etc", reader({"JENKINS_USER": USER, "/run/secrets/jenkins_token": TOKEN + "\n"})
    )
    assert built.dispatch(dispatch_request([hub_payload()])).status is Status.DONE
    assert TOKEN not in repr(built)
    assert by_name("jenkins") is jenkins.TYPE
    assert jenkins.TYPE in DISPATCH_TYPES


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"user_env": "U", "token_env": "T"}, "job_url is required"),
        ({"job_url": "ftp://ci/job/x", "user_env": "U", "token_env": "T"}, "http:// or https://"),
        ({"job_url": "https://u:p@ci/job/x", "user_env": "U", "token_env": "T"}, "credentials"),
        ({"job_url": "https://ci/job/x", "token_env": "T"}, "user_env or user_file"),
        ({"job_url": "https://ci/job/x", "user_env": "U"}, "token_env or token_file"),
        ({"job_url": "https://ci/job/x", "user_env": "U", "token_env": "EMPTY"}, "token_env"),
    ],
)
def test_build_refuses_incomplete_entries(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        jenkins.build(entry, ".", reader({"U": USER, "T": TOKEN, "EMPTY": ""}))


def test_unknown_dispatch_type() -> None:
    with pytest.raises(ConfigError, match="unknown dispatch type 'ftp'"):
        by_name("ftp")


def test_a_broken_answer_is_classified_on_what_arrived() -> None:
    """A server that promises more body than it sends, then hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 1000\r\n\r\nupstream went aw"
            )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    target = jenkins.JenkinsDispatcher(
        f"http://127.0.0.1:{port}/job/redeploy", USER, TOKEN, timeouts=FAST
    )
    try:
        outcome = target.dispatch(dispatch_request([hub_payload()]))
    finally:
        thread.join(5)
        listener.close()
    assert outcome.status is Status.RETRY
    assert "HTTP 502 Bad Gateway" in outcome.detail  # the body is lost: the status is enough
