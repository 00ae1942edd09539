"""What the ``jenkins`` and ``github`` dispatchers share: one POST and the reading of its answer.

One attempt per call: the inbox owns retries (backoff, budget), so nothing here sleeps or
tries again, and redirects are never followed (a redirect to a login page must not pass
for an accepted dispatch). Every request has connect and read timeouts; an answer's body
is read up to :data:`BODY_CAP` bytes and within the read timeout, whatever the server
sends. Details never hold a secret: every text that reaches one passes :func:`scrub`,
which masks the secrets it is given in the forms a server could echo them (as sent, in a
Basic ``Authorization`` header, URL- or JSON-encoded), and a secret's beginning cut off at
the end of a truncated body.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import requests

from cdhelper import redact
from cdhelper.answers import printable, redact_url, retry_after
from cdhelper.errors import ConfigError
from cdhelper.http import Timeouts, may_have_reached
from cdhelper.inbox.dispatchers.base import DispatchOutcome, SecretReader, Status

BODY_CAP = 16 * 1024  # bytes of an answer's body read at most
SNIPPET_CHARS = 300  # characters of an answer's body kept in a detail
MASK = "***"
# a secret's beginning this long at the very end of a cut body is masked too
_PARTIAL_MIN = 4
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive (requests' CaseInsensitiveDict)
    body: bytes  # at most BODY_CAP bytes
    truncated: bool


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    timeouts: Timeouts,
    secrets: Iterable[str],
    cap: int = BODY_CAP,
    **kwargs: Any,
) -> Answer | DispatchOutcome:
    """Send once; a network fault or a timeout is a RETRY outcome, never an exception."""
    try:
        response = session.request(
            method,
            url,
            timeout=timeouts.as_tuple(),
            allow_redirects=False,
            stream=True,
            **kwargs,
        )
    except requests.RequestException as exc:
        if isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout):
            problem = f"no answer from {redact_url(url)} within {timeouts.read:g} s"
        elif isinstance(exc, requests.Timeout):
            problem = f"cannot reach {redact_url(url)} within {timeouts.connect:g} s"
        else:
            problem = f"cannot reach {redact_url(url)}: {_cause(exc)}"
        if method == "POST" and may_have_reached(exc):
            problem += " (it may have been received: it is sent again, at least once)"
        return DispatchOutcome(Status.RETRY, scrub(f"{what}: {problem}", secrets))
    try:
        body, truncated = _read_capped(response, cap, time.monotonic() + timeouts.read)
    finally:
        response.close()
    return Answer(response.status_code, response.reason or "", response.headers, body, truncated)


def _read_capped(response: requests.Response, cap: int, deadline: float) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of the body, read until ``deadline``; a broken body reads short
    (often empty: urllib3 drops a partial chunk), and the status decides alone."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=4096):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap or time.monotonic() > deadline:
                return b"".join(chunks)[:cap], True
    except (requests.RequestException, OSError):
        return b"".join(chunks)[:cap], True
    return b"".join(chunks), False


def unexpected(
    answer: Answer, *, what: str, url: str, secrets: Iterable[str], method: str = "POST"
) -> DispatchOutcome:
    """The outcome of any answer but the receiver's documented success.

    429 and 5xx are RETRY (with ``Retry-After`` for 429 and 503, as HTTP defines it for
    them); any other answer is FAILED with its status and a short, scrubbed part of its
    body: sending it again would be refused again.
    """
    status = answer.status
    head = f"{what}: {method} {redact_url(url)} answered HTTP {status}"
    if answer.reason:
        head += f" {answer.reason}"
    text = snippet(answer, secrets)
    detail = scrub(f"{head}: {text}" if text else head, secrets)
    if status == 429 or 500 <= status <= 599:
        wait = retry_after(answer.headers) if status in (429, 503) else None
        return DispatchOutcome(Status.RETRY, detail, retry_after=wait)
    if 300 <= status <= 399:
        location = answer.headers.get("Location")
        if location:
            detail += scrub(f" (redirected to {redact_url(location)})", secrets)
        detail += ": redirects are not followed; check the URL (scheme, host, path)"
    return DispatchOutcome(Status.FAILED, detail)


def internal_error(what: str, exc: Exception, secrets: Iterable[str]) -> DispatchOutcome:
    """A dispatcher's own bug as a failed attempt: a bug must not stop the inbox's worker."""
    return DispatchOutcome(
        Status.FAILED,
        scrub(f"{what}: internal error: {type(exc).__name__}: {exc}"[:400], secrets),
    )


def snippet(answer: Answer, secrets: Iterable[str]) -> str:
    """A short readable part of the body: a JSON message, or text without markup."""
    text = answer.body.decode("utf-8", errors="replace")
    secrets = list(secrets)
    if answer.truncated:
        text = _cut_partial(text, secrets)
    message = _json_message(text)
    if message is not None:
        text = message
    elif "<" in text:
        text = html.unescape(_TAGS.sub(" ", text))
    text = _SPACE.sub(" ", printable(scrub(text, secrets))).strip()
    if len(text) > SNIPPET_CHARS:
        text = text[: SNIPPET_CHARS - 1].rstrip() + "…"
    return text


def _json_message(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    parts = [str(data[key]) for key in ("message", "error", "detail") if key in data]
    errors = data.get("errors")
    if errors:
        parts.append(json.dumps(errors))
    return "; ".join(parts) if parts else None


def forms(secret: str, user: str | None = None) -> list[str]:
    """A secret in every form a server could echo it in; registered for cdhelper's output
    boundary too (:mod:`cdhelper.redact`: the inbox's log, ``inbox status``)."""
    if user is None:
        redact.register(secret)
    else:
        redact.register_login(user, secret)
    found = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        html.escape(secret),
    }
    if user is not None:
        found.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return sorted((f for f in found if f), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without this dispatcher's secrets, nor any other cdhelper knows of."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return redact.redact(text)


def _cut_partial(text: str, secrets: Iterable[str]) -> str:
    """Drop the end of a cut body when it is the beginning of a secret."""
    for secret in secrets:
        for length in range(len(secret) - 1, _PARTIAL_MIN - 1, -1):
            if text.endswith(secret[:length]):
                return text[:-length] + MASK
    return text


def _cause(exc: requests.RequestException) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (certificate or protocol)"
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if "Connection reset" in text:
        return "connection reset by the server"
    if "RemoteDisconnected" in text or "without response" in text:
        return "the server closed the connection without an answer"
    return type(exc).__name__


def setting(entry: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    """A non-empty text setting of a dispatch entry, or a ConfigError naming it."""
    value = entry.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} is required (a non-empty string)")
    return value.strip()


def http_url(value: str, where: str, key: str) -> str:
    """An http(s) URL without a trailing slash, or a ConfigError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: {key} must be an http:// or https:// URL, not {value!r}")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: {key} must not hold credentials: name them by *_env or *_file")
    return value.rstrip("/")


def required_secret(entry: Mapping[str, Any], name: str, read: SecretReader, where: str) -> str:
    value = read(entry, name)
    if not value:
        raise ConfigError(
            f"{where}: {name}_env or {name}_file is required and must name a non-empty secret"
        )
    return value.strip()
