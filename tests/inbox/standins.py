"""Stand-in Jenkins and GitHub API servers: real HTTP on 127.0.0.1, recording every call.

They speak the documented shapes of the two calls the inbox's dispatchers make, and
nothing else:

- Jenkins, ``POST /job/NAME[/job/NAME...]/buildWithParameters`` (remote access API,
  https://www.jenkins.io/doc/book/using/remote-access-api/): HTTP Basic with a user and
  API token (401 with ``WWW-Authenticate: Basic realm="Jenkins"`` otherwise), form fields
  in the body (``application/x-www-form-urlencoded``), ``201 Created`` with ``Location:
  {url}/queue/item/N/`` and an empty body; 404 for an unknown job, 405 for other methods.
  Jenkins with an API token needs no CSRF crumb; the stand-in refuses nothing for want of
  one.
- GitHub, ``POST /repos/OWNER/REPO/actions/workflows/WORKFLOW/dispatches`` ("Create a
  workflow dispatch event", https://docs.github.com/en/rest/actions/workflows): Bearer
  token (401 ``Bad credentials``), ``Accept: application/vnd.github+json`` (415
  otherwise), ``X-GitHub-Api-Version`` when given must be a supported version (400), a
  JSON body ``{"ref": string, "inputs": object, "return_run_details": boolean}`` with only
  those keys, ``ref`` required; inputs checked against the workflow's declared inputs as
  GitHub does (422 ``Unexpected inputs provided: [...]``, ``Required input 'x' not
  provided``, choice values, ``No ref found for: x``), at most 25 inputs and 65,535
  characters of inputs (workflow syntax, ``on.workflow_dispatch.inputs``: GitHub documents
  the limits, not the message, so that wording is the stand-in's own); ``204 No
  Content`` (``200`` with run details when ``return_run_details`` is true). Errors are
  GitHub's JSON: ``{"message", "documentation_url", "status"}``.

Failures are programmable: :meth:`StandIn.fail_next` answers the next N calls with a
given status, headers and body (recorded like any call), and ``delay`` holds every answer.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

from cdhelper.inbox.dispatchers.base import DispatchRequest, Mode
from cdhelper.inventory import Target
from cdhelper.plan import Mode as PlanMode
from cdhelper.plan import Plan

GITHUB_DOCS = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
GITHUB_API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
MAX_INPUTS = 25
MAX_INPUTS_CHARS = 65_535


def dispatch_request(
    payloads: Sequence[Any] = (),
    *,
    environment: str = "production",
    mode: Mode = Mode.WEBHOOK,
    batch_id: str = "b1",
) -> DispatchRequest:
    """A request as the inbox makes one (the plan's content does not matter to these types)."""
    plan = Plan(
        PlanMode(mode.value),
        Target("swarmpit", "https://swarmpit.example"),
        (),
        (),
        (),
        (),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    return DispatchRequest(environment, mode, batch_id, tuple(payloads), plan)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: Mapping[str, str]  # as received (names lower-cased)
    body: bytes
    status: int  # what the stand-in answered
    form: Mapping[str, list[str]] = field(default_factory=dict)  # Jenkins
    json: Any = None  # GitHub


@dataclass(frozen=True)
class Failure:
    status: int
    headers: Mapping[str, str]
    body: bytes
    echo: bool  # append the request's headers and body to the answer (a careless server)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class StandIn:
    """A threaded HTTP server on a free loopback port; subclasses answer POSTs."""

    name: ClassVar[str] = "stand-in"

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.delay = 0.0
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | Mapping[str, Any] = b"",
        echo: bool = False,
    ) -> None:
        """Answer the next ``times`` requests with this status instead of handling them."""
        if isinstance(body, Mapping):
            raw = json.dumps(body).encode()
            headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        else:
            raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._failures.extend([Failure(status, dict(headers or {}), raw, echo)] * times)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # subclasses
    def handle_get(self, path: str, headers: Mapping[str, str]) -> Reply:
        return Reply(405, {"Allow": "POST"}, b"Method Not Allowed")

    def handle_post(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        raise NotImplementedError

    def record(self, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        return {}

    def _answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is None and method == "GET":
            reply = self.handle_get(path, headers)
        elif failure is None:
            reply = self.handle_post(path, headers, body)
        else:
            raw = failure.body
            if failure.echo:
                echoed = "".join(f"{k}: {v}\n" for k, v in headers.items())
                raw += b"\n" + echoed.encode() + body
            reply = Reply(failure.status, failure.headers, raw)
        extra = self.record(path, headers, body) if method == "POST" else {}
        with self._lock:
            self.calls.append(Call(method, path, dict(headers), body, reply.status, **extra))
        return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = standin.name

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = standin._answer("POST", self.path, headers, body)
                if standin.delay:
                    time.sleep(standin.delay)
                self._send(reply)

            def _not_allowed(self) -> None:
                self._send(Reply(405, {"Allow": "POST"}, b"Method Not Allowed"))

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._send(standin._answer("GET", self.path, headers, b""))

            def do_PUT(self) -> None:
                self._not_allowed()

            def _send(self, reply: Reply) -> None:
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if reply.status not in (204, 304):
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.status not in (204, 304):
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:
        return None
    return (user, password) if sep else None


class StandInJenkins(StandIn):
    """Jenkins with parameterized jobs and users' API tokens."""

    name = "Jetty(stand-in Jenkins)"
    _JOB = re.compile(r"^((?:/job/[^/?#]+)+)/buildWithParameters/?(?:\?.*)?$")

    def __init__(self, users: Mapping[str, str], jobs: Iterable[str] = ("redeploy",)) -> None:
        self.users = dict(users)
        self.jobs = {"/" + "/".join(f"job/{part}" for part in job.split("/")) for job in jobs}
        self._queue = 0
        super().__init__()

    def job_url(self, job: str = "redeploy") -> str:
        return self.url + "/" + "/".join(f"job/{part}" for part in job.split("/"))

    def record(self, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        return {"form": parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)}

    def handle_post(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        credentials = basic_credentials(headers)
        if credentials is None or self.users.get(credentials[0]) != credentials[1]:
            who = credentials[0] if credentials else "anonymous"
            return Reply(
                401,
                {"WWW-Authenticate": 'Basic realm="Jenkins"', "Content-Type": "text/html"},
                _html(401, f"Invalid password/token for user: {who}"),
            )
        match = self._JOB.match(path)
        if not match or match.group(1) not in self.jobs:
            return Reply(404, {"Content-Type": "text/html"}, _html(404, "Not Found"))
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return Reply(400, {"Content-Type": "text/html"}, _html(400, "Nothing is submitted"))
        with self._lock:
            self._queue += 1
            item = self._queue
        return Reply(201, {"Location": f"{self.url}/queue/item/{item}/"})


def _html(status: int, message: str) -> bytes:
    return (
        f"<html><head><title>Error {status} {message}</title></head>"
        f"<body><h2>HTTP ERROR {status} {message}</h2></body></html>"
    ).encode()


@dataclass(frozen=True)
class Input:
    required: bool = False
    options: tuple[str, ...] = ()  # a choice input


# pipelines/github/redeploy.yml's workflow_dispatch inputs
REDEPLOY_INPUTS = {
    "payload": Input(),
    "mode": Input(options=("webhook", "smart")),
    "environment": Input(required=True),
}


@dataclass(frozen=True)
class Workflow:
    inputs: Mapping[str, Input] = field(default_factory=lambda: dict(REDEPLOY_INPUTS))
    refs: frozenset[str] = frozenset({"main"})
    default_branch: str = "main"  # the repository's


class StandInGitHub(StandIn):
    """The GitHub REST API's workflow dispatch endpoint, for declared workflows."""

    name = "stand-in GitHub.com"
    _REPO = re.compile(r"^/(?:api/v3/)?repos/([^/]+)/([^/]+)/?$")
    _PATH = re.compile(r"^/(?:api/v3/)?repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/dispatches$")

    def __init__(
        self,
        tokens: Iterable[str],
        workflows: Mapping[tuple[str, str], Workflow] | None = None,
    ) -> None:
        self.tokens = set(tokens)
        self.workflows = dict(workflows or {("acme/deploy", "redeploy.yml"): Workflow()})
        self._run = 1000
        super().__init__()

    def record(self, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        try:
            return {"json": json.loads(body)}
        except ValueError:
            return {}

    def handle_get(self, path: str, headers: Mapping[str, str]) -> Reply:
        """``GET /repos/OWNER/REPO`` ("Get a repository"): its ``default_branch``."""
        match = self._REPO.match(path)
        repo = f"{match.group(1)}/{match.group(2)}" if match else None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in self.tokens:
            return _github_error(401, "Bad credentials", docs="https://docs.github.com/rest")
        workflows = [w for (r, _), w in self.workflows.items() if r == repo]
        if not workflows:
            return _github_error(404, "Not Found", docs="https://docs.github.com/rest/repos")
        owner = repo.split("/")[0] if repo else ""
        data = {
            "id": 1,
            "full_name": repo,
            "owner": {"login": owner},
            "private": True,
            "default_branch": workflows[0].default_branch,
        }
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(data).encode())

    def handle_post(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        match = self._PATH.match(path)
        key = (f"{match.group(1)}/{match.group(2)}", match.group(3)) if match else None
        refusal = next(self._refusals(key, headers, body), None)
        if refusal is not None:
            return refusal
        data = json.loads(body)
        if data.get("return_run_details") is True:
            with self._lock:
                self._run += 1
                run = self._run
            repo = key[0] if key else ""
            details = {
                "workflow_run_id": run,
                "run_url": f"{self.url}/repos/{repo}/actions/runs/{run}",
                "html_url": f"https://github.com/{repo}/actions/runs/{run}",
            }
            return Reply(200, {"Content-Type": "application/json"}, json.dumps(details).encode())
        return Reply(204)

    def _refusals(
        self, key: tuple[str, str] | None, headers: Mapping[str, str], body: bytes
    ) -> Iterator[Reply]:
        """GitHub's answers to a request it refuses, first one first."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in self.tokens:
            yield _github_error(401, "Bad credentials", docs="https://docs.github.com/rest")
        accept = headers.get("accept", "")
        if "application/vnd.github+json" not in accept and "application/json" not in accept:
            yield _github_error(415, f"Unsupported 'Accept' header: {accept!r}")
        version = headers.get("x-github-api-version")
        if version is not None and version not in GITHUB_API_VERSIONS:
            yield _github_error(400, f"API version {version} is not supported.")
        workflow = self.workflows.get(key) if key else None
        if workflow is None:
            yield _github_error(404, "Not Found")
            return
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            yield _github_error(400, "Problems parsing JSON")
        try:
            data = json.loads(body)
        except ValueError:
            yield _github_error(400, "Problems parsing JSON")
            return
        problem = next(_shape_problems(data), None)
        if problem:
            yield _github_error(422, f"Invalid request.\n\n{problem}")
        problem = _inputs_problem(data, workflow)
        if problem:
            yield _github_error(422, problem)


def _shape_problems(data: Any) -> Iterator[str]:
    """The request body's schema (GitHub's OpenAPI description of the endpoint)."""
    if not isinstance(data, dict):
        yield "Body must be a JSON object."
        return
    extra = sorted(set(data) - {"ref", "inputs", "return_run_details"})
    if extra:
        yield f"{json.dumps(extra[0])} is not a permitted key."
    if "ref" not in data:
        yield '"ref" wasn\'t supplied.'
    elif not isinstance(data["ref"], str):
        yield f"For 'properties/ref', {json.dumps(data['ref'])} is not a string."
    inputs = data.get("inputs", {})
    if not isinstance(inputs, dict):
        yield f"For 'properties/inputs', {json.dumps(inputs)} is not an object."
        return
    if len(inputs) > MAX_INPUTS:
        yield f"For 'properties/inputs', more than {MAX_INPUTS} properties."
    for name, value in inputs.items():
        if not isinstance(value, str | int | float | bool):
            yield f"For 'properties/{name}', {json.dumps(value)} is not a string."
    if "return_run_details" in data and not isinstance(data["return_run_details"], bool):
        yield "For 'properties/return_run_details', it is not a boolean."


def _inputs_problem(data: Mapping[str, Any], workflow: Workflow) -> str | None:
    if data["ref"] not in workflow.refs:
        return f"No ref found for: {data['ref']}"
    inputs: Mapping[str, Any] = data.get("inputs", {})
    if len(json.dumps(inputs, separators=(",", ":"))) > MAX_INPUTS_CHARS:
        return f"inputs are too large: at most {MAX_INPUTS_CHARS} characters"
    unexpected = [name for name in inputs if name not in workflow.inputs]
    if unexpected:
        return f"Unexpected inputs provided: {json.dumps(unexpected)}"
    for name, spec in workflow.inputs.items():
        if spec.required and name not in inputs:
            return f"Required input '{name}' not provided"
        value = inputs.get(name)
        if spec.options and value is not None and value not in spec.options:
            return f"Provided value '{value}' for input '{name}' not in the list of allowed values"
    return None


def _github_error(status: int, message: str, docs: str = GITHUB_DOCS) -> Reply:
    body = {"message": message, "documentation_url": docs, "status": str(status)}
    return Reply(
        status,
        {"Content-Type": "application/json; charset=utf-8"},
        json.dumps(body).encode(),
    )
