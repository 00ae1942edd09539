"""Dispatch ``jenkins``: start a parameterized Jenkins job with the batch.

``POST {job_url}/buildWithParameters`` (Jenkins' remote access API,
https://www.jenkins.io/doc/book/using/remote-access-api/) with form fields

- ``PAYLOAD``: the batch's payloads as received, as one JSON list: a valid
  ``cdhelper plan --event`` file (webhook mode only; a smart dispatch sends none),
- ``TARGET``: the environment's name,
- ``MODE``: ``webhook`` or ``smart``,

the shape ``pipelines/jenkins/Jenkinsfile`` declares. Authentication is HTTP Basic with a
user and that user's API token (``user_env``/``user_file``, ``token_env``/``token_file``).

No CSRF crumb is fetched: "Since Jenkins 2.96, requests using Basic authentication
providing an API token do not need to provide a CSRF token (crumb)"
(https://www.jenkins.io/doc/developer/security/misc/#crumbexclusion; the remote access
API page says API tokens are preferred to crumbs,
https://www.jenkins.io/doc/book/using/remote-access-api/, and
https://www.jenkins.io/doc/book/security/csrf-protection/ explains crumbs). A password
instead of an API token would need a crumb and a web session: use an API token.

Jenkins answers ``201 Created`` with a ``Location`` header naming the queue item; the item
is kept in the outcome's detail. 429 and 5xx (and network faults) are retried by the inbox;
any other answer fails with its status and a short part of its body (401: wrong user or
token; 403: the user lacks Job/Build; 404: no such job; 400: the job has no such
parameters or is not parameterized).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from cdhelper.answers import redact_url
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

SUCCESS = 201


class JenkinsDispatcher:
    def __init__(
        self,
        job_url: str,
        user: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self.job_url = job_url.rstrip("/")
        self.url = f"{self.job_url}/buildWithParameters"
        self._auth = (user, token)
        self._secrets = _http.forms(token, user)
        self._session = session or new_session(pool_size=2)
        self._timeouts = timeouts

    def __repr__(self) -> str:  # never the token
        return f"JenkinsDispatcher({redact_url(self.job_url)!r})"

    def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        try:
            return self._dispatch(request)
        except Exception as exc:  # never raise: a bug must not stop the inbox's worker
            return _http.internal_error("Jenkins", exc, self._secrets)

    def _dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        form = {"TARGET": request.environment, "MODE": request.mode.value}
        if request.mode is Mode.WEBHOOK:
            form["PAYLOAD"] = payload_text(request)
        answer = _http.send(
            self._session,
            "POST",
            self.url,
            what="Jenkins",
            timeouts=self._timeouts,
            secrets=self._secrets,
            data=form,
            auth=self._auth,
            headers={"Accept": "*/*"},
        )
        if isinstance(answer, DispatchOutcome):
            return answer
        if answer.status == SUCCESS:
            location = answer.headers.get("Location")
            queued = f": queue item {redact_url(location)}" if location else ""
            return DispatchOutcome(
                Status.DONE,
                _http.scrub(
                    f"Jenkins queued {redact_url(self.job_url)} (TARGET={request.environment}, "
                    f"MODE={request.mode.value}){queued}",
                    self._secrets,
                ),
            )
        return _http.unexpected(answer, what="Jenkins", url=self.url, secrets=self._secrets)


def payload_text(request: DispatchRequest) -> str:
    """The batch's payloads as one JSON list: what ``cdhelper plan --event`` reads."""
    return json.dumps(list(request.payloads), separators=(",", ":"))


def build(entry: Mapping[str, Any], config_dir: str, secret: SecretReader) -> JenkinsDispatcher:
    where = "dispatch jenkins"
    job_url = _http.http_url(_http.setting(entry, "job_url", where), where, "job_url")
    user = _http.required_secret(entry, "user", secret, where)
    token = _http.required_secret(entry, "token", secret, where)
    return JenkinsDispatcher(job_url, user, token)


TYPE = DispatchType("jenkins", build)
