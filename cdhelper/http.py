"""One HTTP session factory and one request helper for every API cdhelper calls.

Every call has a timeout. Only idempotent methods are retried (connection errors, 429 and
5xx), with exponential backoff that honours ``Retry-After``. Status codes become named
:class:`~cdhelper.errors.ApiError` messages in one function. URLs are shown without
credentials; request headers (tokens) are never shown.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from cdhelper import __version__
from cdhelper.errors import ApiError

USER_AGENT = f"cdhelper/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, for idempotent requests
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    max_delay: float = 30.0  # cap on any single wait, Retry-After included


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


def new_session(pool_size: int = 10) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    retry: RetryPolicy = DEFAULT_RETRY,
    **kwargs: Any,
) -> requests.Response:
    """Send one request; retry idempotent ones on transient failures; never raise requests' errors.

    ``what`` names the peer for messages ("Swarmpit", "registry 127.0.0.1:5000").
    """
    tries = retry.attempts if method.upper() in IDEMPOTENT_METHODS else 1
    for attempt in range(1, tries + 1):
        delay = retry.backoff * 2 ** (attempt - 1)
        try:
            response = session.request(method, url, timeout=timeouts.as_tuple(), **kwargs)
        except requests.Timeout:
            if attempt < tries:
                sleep(min(delay, retry.max_delay))
                continue
            raise ApiError(
                f"{what}: no answer from {redact_url(url)} within {timeouts.read:g} s "
                f"({method} timed out{_after(tries)})"
            ) from None
        except requests.RequestException as exc:
            if attempt < tries:
                sleep(min(delay, retry.max_delay))
                continue
            raise ApiError(
                f"{what}: cannot reach {redact_url(url)}: {_cause(exc)}{_after(tries)}"
            ) from None
        if response.status_code in RETRY_STATUSES and attempt < tries:
            wait = retry_after(response.headers)
            sleep(min(wait if wait is not None else delay, retry.max_delay))
            continue
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def check(response: requests.Response, what: str, hints: Mapping[int, str] | None = None) -> None:
    """Turn a non-2xx answer into an ApiError that says who, what, and how to fix it."""
    if response.ok:
        return
    status = response.status_code
    hint = (hints or {}).get(status) or _DEFAULT_HINTS.get(status) or ""
    detail = _body_snippet(response)
    message = f"{what}: {response.request.method} {redact_url(response.url)} answered HTTP {status}"
    if response.reason:
        message += f" {response.reason}"
    if detail:
        message += f": {detail}"
    if hint:
        message += f"\n  hint: {hint}"
    raise ApiError(message, status=status)


_DEFAULT_HINTS = {
    401: "the credentials were refused or are missing",
    403: "the credentials lack permission for this request",
    404: "check the URL and that the object still exists",
    429: "rate limited: retry later",
}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def redact_url(url: str) -> str:
    """The URL without any ``user:password@`` in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    if parts.username or parts.password:
        netloc = f"***@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def sleep(seconds: float) -> None:
    """Indirection so tests can count waits instead of spending them."""
    time.sleep(seconds)


def _after(tries: int) -> str:
    return f", after {tries} tries" if tries > 1 else ""


def _cause(exc: requests.RequestException) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return type(exc).__name__


def _body_snippet(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return text[:200]
    if isinstance(data, dict):
        for key in ("error", "message", "errors", "detail"):
            if key in data:
                return str(data[key])[:200]
    return ""
