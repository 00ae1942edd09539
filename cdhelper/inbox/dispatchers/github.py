"""Dispatch ``github``: run a GitHub Actions workflow with the batch (``workflow_dispatch``).

``POST {api_url}/repos/{repository}/actions/workflows/{workflow}/dispatches`` ("Create a
workflow dispatch event",
https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event) with

    {"ref": REF, "inputs": {"environment": NAME, "mode": "webhook", "payload": JSON_TEXT}}

the inputs ``pipelines/github/redeploy.yml`` declares; ``payload`` is the batch's payloads
as received, as one JSON list (a valid ``cdhelper plan --event`` file); a smart dispatch
sends ``mode: smart`` and no payload. Headers: ``Authorization: Bearer TOKEN`` (a
fine-grained token with Actions: write on the repository, or a classic one with ``repo``;
``token_env``/``token_file``), ``Accept: application/vnd.github+json`` and
``X-GitHub-Api-Version: 2022-11-28``. ``api_url`` defaults to ``https://api.github.com``;
GitHub Enterprise Server's is ``https://HOST/api/v3``. GitHub answers ``204 No Content``.
Without ``ref``, the repository's default branch is used (``GET /repos/OWNER/NAME``, once).

GitHub limits what inputs can carry: "The maximum number of top-level properties for inputs
is 25. The maximum payload for inputs is 65,535 characters."
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#onworkflow_dispatchinputs).
A batch whose inputs would be longer fails before anything is sent, with that reason: send
such environments to Jenkins or to ``plans``, or shorten their batches.

Rate limits answer 429, or 403 with ``retry-after`` or ``x-ratelimit-remaining: 0``
(https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#rate-limit-errors):
those are retried after the time GitHub names; 5xx and network faults are retried; any other
answer fails with GitHub's message (422: inputs the workflow does not declare, no such
ref, no ``workflow_dispatch`` trigger; 404: no such repository or workflow, or a token
that cannot see it; 401: bad credentials).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from cdhelper.answers import retry_after
from cdhelper.errors import ConfigError
from cdhelper.http import DEFAULT_TIMEOUTS, Timeouts, new_session
from cdhelper.inbox.dispatchers import _http
from cdhelper.inbox.dispatchers.base import (
    DispatchOutcome,
    DispatchRequest,
    DispatchType,
    Mode,
    SecretReader,
    Status,
)
from cdhelper.inbox.dispatchers.jenkins import payload_text

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
SUCCESS = 204
# a repository's JSON (GET /repos/OWNER/NAME, for its default branch) holds its parent's
# and source's for a fork: read more of it than of an error answer
REPOSITORY_CAP = 256 * 1024
# https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#onworkflow_dispatchinputs
MAX_INPUTS_CHARS = 65_535
MAX_INPUTS = 25
# GitHub's advice when a secondary rate limit names no time: wait at least a minute
SECONDARY_LIMIT_WAIT = 60.0
LIMITS_URL = (
    "https://docs.github.com/en/actions/reference/workflows-and-actions/"
    "workflow-syntax#onworkflow_dispatchinputs"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubDispatcher:
    def __init__(
        self,
        repository: str,
        workflow: str,
        ref: str | None,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        session: requests.Session | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self.repository = repository
        self.workflow = workflow
        self.ref = ref
        owner, name = repository.split("/", 1)
        self.repo_url = (
            f"{api_url.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        )
        self.url = f"{self.repo_url}/actions/workflows/{quote(workflow, safe='')}/dispatches"
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": ACCEPT,
            "X-GitHub-Api-Version": API_VERSION,
        }
        self._secrets = _http.forms(token)
        self._session = session or new_session(pool_size=2)
        self._timeouts = timeouts

    def __repr__(self) -> str:  # never the token
        return f"GitHubDispatcher({self.repository!r}, {self.workflow!r}, ref={self.ref!r})"

    def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        try:
            return self._dispatch(request)
        except Exception as exc:  # never raise: a bug must not stop the inbox's worker
            return _http.internal_error("GitHub", exc, self._secrets)

    def _dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        inputs = {"environment": request.environment, "mode": request.mode.value}
        if request.mode is Mode.WEBHOOK:
            inputs["payload"] = payload_text(request)
        size = inputs_size(inputs)
        if size > MAX_INPUTS_CHARS:
            return DispatchOutcome(
                Status.FAILED,
                f"GitHub: the batch is too large for a workflow_dispatch: its inputs would be "
                f"{size:,} characters (a batch of {len(request.payloads)} payloads), GitHub "
                f"accepts at most {MAX_INPUTS_CHARS:,} ({LIMITS_URL}); dispatch this environment "
                "to Jenkins or plans, or shorten its batches (coalesce_seconds, max_batch_seconds)",
            )
        ref = self.ref or self._default_branch()
        if isinstance(ref, DispatchOutcome):
            return ref
        body = json.dumps({"ref": ref, "inputs": inputs}, separators=(",", ":"))
        answer = _http.send(
            self._session,
            "POST",
            self.url,
            what="GitHub",
            timeouts=self._timeouts,
            secrets=self._secrets,
            data=body.encode(),
            headers={**self._headers, "Content-Type": "application/json"},
        )
        if isinstance(answer, DispatchOutcome):
            return answer
        where = f"{self.repository} {self.workflow}@{ref}"
        if answer.status == SUCCESS:
            request_id = answer.headers.get("X-GitHub-Request-Id")
            tail = f", request {request_id}" if request_id else ""
            return DispatchOutcome(
                Status.DONE,
                _http.scrub(
                    f"GitHub accepted the workflow_dispatch of {where} "
                    f"(environment={request.environment}, mode={request.mode.value}{tail})",
                    self._secrets,
                ),
            )
        return self._refused(answer, self.url, "POST")

    def _default_branch(self) -> str | DispatchOutcome:
        """No ``ref`` configured: the repository's default branch (looked up once)."""
        answer = _http.send(
            self._session,
            "GET",
            self.repo_url,
            what="GitHub",
            timeouts=self._timeouts,
            secrets=self._secrets,
            cap=REPOSITORY_CAP,
            headers=self._headers,
        )
        if isinstance(answer, DispatchOutcome):
            return answer
        if answer.status != 200:
            return self._refused(answer, self.repo_url, "GET")
        try:
            branch = json.loads(answer.body)["default_branch"]
        except (ValueError, KeyError, TypeError):
            branch = None
        if not isinstance(branch, str) or not branch or answer.truncated:
            return DispatchOutcome(
                Status.FAILED,
                f"GitHub: GET {self.repo_url} named no default branch: set ref in the config",
            )
        self.ref = branch
        return branch

    def _refused(self, answer: _http.Answer, url: str, method: str) -> DispatchOutcome:
        outcome = _http.unexpected(
            answer, what="GitHub", url=url, secrets=self._secrets, method=method
        )
        if answer.status in (403, 429):
            wait = rate_limit_wait(answer)
            if wait is not None:
                return DispatchOutcome(Status.RETRY, outcome.detail, retry_after=wait)
        return outcome


def inputs_size(inputs: Mapping[str, str]) -> int:
    """The inputs' length as sent: their JSON text, escapes included (an upper bound)."""
    return len(json.dumps(inputs, separators=(",", ":")))


def rate_limit_wait(answer: _http.Answer, now: float | None = None) -> float | None:
    """Seconds to wait when the answer is one of GitHub's rate-limit answers, else None."""
    headers = answer.headers
    wait = retry_after(headers)
    if wait is not None:
        return wait
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        reset = headers.get("x-ratelimit-reset", "").strip()
        if reset.isdigit():
            return max(0.0, float(reset) - (time.time() if now is None else now))
        return SECONDARY_LIMIT_WAIT
    if b"secondary rate limit" in answer.body.lower():
        return SECONDARY_LIMIT_WAIT
    return None


def build(entry: Mapping[str, Any], config_dir: str, secret: SecretReader) -> GitHubDispatcher:
    where = "dispatch github"
    repository = _http.setting(entry, "repository", where)
    if not _REPOSITORY.match(repository):
        raise ConfigError(f"{where}: repository must be OWNER/NAME, not {repository!r}")
    workflow = _http.setting(entry, "workflow", where)
    if "/" in workflow:
        raise ConfigError(
            f"{where}: workflow is the workflow's file name (redeploy.yml) or its id, "
            f"not a path: {workflow!r}"
        )
    ref = entry.get("ref")
    if ref is not None:
        ref = _http.setting(entry, "ref", where)
    api_url = _http.http_url(
        _http.setting(entry, "api_url", where, DEFAULT_API_URL), where, "api_url"
    )
    token = _http.required_secret(entry, "token", secret, where)
    return GitHubDispatcher(repository, workflow, ref, token, api_url=api_url)


TYPE = DispatchType("github", build)
