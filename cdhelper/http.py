"""One HTTP session factory and one request helper for every API cdhelper calls.

Every call has a timeout, and the command's deadline (:mod:`cdhelper.deadline`), which a
session made under it carries: no request starts, no retry waits and no answer is read
past it. Only idempotent methods are
retried (connection errors, 429 and 5xx), with exponential backoff that honours
``Retry-After``. Answers are read with a size cap, so a huge or endless body cannot
exhaust memory or time. Whatever a server does, :func:`request` raises only cdhelper
errors; a request that changes something and may have reached the server before it
failed raises :class:`OutcomeUnknownError`. What the answer says is read by
:mod:`cdhelper.answers`: status codes become named :class:`~cdhelper.errors.ApiError`
messages in one function there. URLs are shown without credentials; request headers
(tokens) are never shown.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from cdhelper import __version__
from cdhelper import deadline as deadlines
from cdhelper.answers import MAX_ERROR_BODY, SNIPPET, printable, redact_url, retry_after
from cdhelper.deadline import Deadline
from cdhelper.errors import ApiError, DeadlineError, OutcomeUnknownError

USER_AGENT = f"cdhelper/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY = 64 * 1024 * 1024  # a successful answer (a large inventory fits many times over)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, for idempotent requests
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    max_delay: float = 30.0  # cap on any single wait, Retry-After included


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0

    def as_tuple(self, left: float | None = None) -> tuple[float, float]:
        """(connect, read), neither longer than ``left`` seconds when a deadline is set."""
        if left is None:
            return (self.connect, self.read)
        return (min(self.connect, left), min(self.read, left))


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


class _Session(requests.Session):
    """A session that carries the deadline of the command it was made for."""

    deadline: Deadline | None = None


def new_session(pool_size: int = 10) -> requests.Session:
    session = _Session()
    session.deadline = deadlines.current()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(_read_redirect_body)
    return session


def _read_redirect_body(response: requests.Response, *_: Any, **__: Any) -> requests.Response:
    """Read a redirect's body, capped, before requests reads it whole to follow it."""
    if response.is_redirect:
        _read_body(
            response, MAX_ERROR_BODY, f"{response.request.method} {redact_url(response.url)}"
        )
    return response


class _ExchangeError(Exception):
    """The exchange failed: before sending, after sending, or while the answer arrived."""

    def __init__(
        self,
        problem: str,
        sent: bool,
        *,
        transient: bool = True,
        out_of_time: bool = False,
        close: str = "",
    ) -> None:
        super().__init__(problem)
        self.problem = problem  # what went wrong, after "<peer>: "
        self.close = close  # closes the problem's text, after ", after N tries"
        self.sent = sent  # the request may have reached the server
        self.transient = transient and not out_of_time  # worth another try
        self.out_of_time = out_of_time


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    retry: RetryPolicy = DEFAULT_RETRY,
    max_body: int = MAX_BODY,
    **kwargs: Any,
) -> requests.Response:
    """Send one request, read its answer (capped); retry idempotent ones on transient failures.

    ``what`` names the peer for messages ("Swarmpit at URL", "registry 127.0.0.1:5000").
    The returned response's body is already read: ``content``, ``text`` and
    :func:`json_body` cost no more I/O. Raises only cdhelper errors: ApiError,
    OutcomeUnknownError (a non-idempotent request that may have reached the server),
    DeadlineError.
    """
    limit = getattr(session, "deadline", None) or deadlines.current()
    with deadlines.using(limit):  # for this call's helpers and hooks, in this thread
        return _request(session, method, url, what, timeouts, retry, max_body, kwargs)


def _request(
    session: requests.Session,
    method: str,
    url: str,
    what: str,
    timeouts: Timeouts,
    retry: RetryPolicy,
    max_body: int,
    kwargs: Mapping[str, Any],
) -> requests.Response:
    method = method.upper()
    idempotent = method in IDEMPOTENT_METHODS
    tries = retry.attempts if idempotent else 1
    doing = f"{method} {redact_url(url)}"
    for attempt in range(1, tries + 1):
        delay = min(retry.backoff * 2 ** (attempt - 1), retry.max_delay)
        left = deadlines.time_left(what, doing)
        try:
            response = _exchange(session, method, url, timeouts, left, kwargs)
            if not getattr(response, "_content_consumed", False):  # else read by the hook
                _read_body(response, max_body, doing)
        except _ExchangeError as failed:
            if failed.sent and not idempotent:
                raise OutcomeUnknownError(
                    f"{what}: {failed.problem}{failed.close}; the request may have reached {what}"
                ) from None
            if failed.out_of_time:
                raise DeadlineError(f"{what}: {failed.problem}") from None
            if failed.transient and attempt < tries:
                _pause(delay, what, failed.problem + failed.close)
                continue
            after = _after(tries) if failed.transient else ""
            raise ApiError(f"{what}: {failed.problem}{after}{failed.close}") from None
        if response.status_code in RETRY_STATUSES and attempt < tries:
            wait = retry_after(response.headers)
            if wait is not None:
                _check_retry_after(wait, what, doing, response.status_code)
            _pause(min(wait if wait is not None else delay, retry.max_delay), what, doing)
            continue
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def _exchange(
    session: requests.Session,
    method: str,
    url: str,
    timeouts: Timeouts,
    left: float | None,
    kwargs: Mapping[str, Any],
) -> requests.Response:
    """Send the request and receive the answer's head: a response whose body is unread."""
    timeout = timeouts.as_tuple(left)
    doing = f"{method} {redact_url(url)}"
    try:
        return session.request(method, url, timeout=timeout, stream=True, **kwargs)
    except requests.Timeout as exc:
        sent = not isinstance(exc, requests.ConnectTimeout)
        if deadlines.out_of_time():
            problem = f"{doing}: {_ran_out('waiting for the answer')}"
            raise _ExchangeError(problem, sent, out_of_time=True) from None
        within = f"no answer from {redact_url(url)} within {timeout[1 if sent else 0]:g} s"
        raise _ExchangeError(f"{within} ({method} timed out", sent, close=")") from None
    except _ExchangeError:  # from the redirect hook
        raise
    except requests.RequestException as exc:
        problem = f"cannot reach {redact_url(url)}: {_cause(exc)}"
        raise _ExchangeError(problem, may_have_reached(exc)) from None
    except Exception as exc:  # whatever else breaks, nothing escapes but ours
        problem = f"{doing}: {type(exc).__name__}: {printable(str(exc))[:SNIPPET]}"
        raise _ExchangeError(problem, sent=True, transient=False) from None


def _read_body(response: requests.Response, max_body: int, doing: str) -> None:
    """Read the answer into ``response.content``: at most ``max_body`` bytes, by the deadline.

    Chunks are read as they arrive (``read1``), so a server trickling bytes is stopped at
    the deadline, not after the whole body. An error answer is only ever shown as a
    snippet: its first MAX_ERROR_BODY bytes are kept, the rest is not read, and one that
    breaks off keeps what arrived (its status is the error).
    """
    used = response.ok and not response.is_redirect  # a body the caller uses, not a snippet
    cap = max_body if used else min(max_body, MAX_ERROR_BODY)
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= cap:
            if deadlines.out_of_time():
                break
            chunk = response.raw.read1(_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except Exception as exc:  # urllib3, socket, decoder: the answer broke off
        if used and not deadlines.out_of_time():
            problem = f"{doing}: answered HTTP {response.status_code}, then the answer broke off"
            raise _ExchangeError(f"{problem}: {_cause(exc)}", sent=True) from None
    finally:
        response.close()  # after the whole body this returns the connection to the pool
    if deadlines.out_of_time():
        problem = f"{doing}: {_ran_out('reading the answer')}"
        raise _ExchangeError(problem, sent=True, out_of_time=True)
    body = b"".join(chunks)
    if size > cap:
        if used:
            raise _ExchangeError(
                f"{doing}: answered more than {cap // (1024 * 1024)} MiB: refused",
                sent=True,
                transient=False,
            )
        body = body[:cap]
    # What requests itself does once it has read a body: content and json() then use it.
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]


def _ran_out(while_: str) -> str:
    deadline = deadlines.current()
    assert deadline is not None
    return deadline.ran_out(while_)


def _check_retry_after(wait: float, what: str, doing: str, status: int) -> None:
    """A server asking for a wait beyond the deadline: give up now, not at the deadline."""
    limit = deadlines.current()
    if limit is not None and wait >= limit.left():
        raise DeadlineError(
            f"{what}: {doing} answered HTTP {status} and asks to retry after {wait:g} s "
            f"(Retry-After), past the time limit of {limit.limit:g} s (--timeout): giving up"
        )


def _pause(seconds: float, what: str, doing: str) -> None:
    limit = deadlines.current()
    if limit is not None and seconds >= limit.left():
        raise DeadlineError(
            f"{what}: {doing}: no time left to retry within the time limit of "
            f"{limit.limit:g} s (--timeout)"
        )
    sleep(seconds)


def sleep(seconds: float) -> None:
    """Indirection so tests can count waits instead of spending them."""
    time.sleep(seconds)


def _after(tries: int) -> str:
    return f", after {tries} tries" if tries > 1 else ""


def may_have_reached(exc: requests.RequestException) -> bool:
    """False only when the request certainly never left: no connection, no TLS session."""
    never_sent = (
        requests.ConnectTimeout,
        requests.exceptions.SSLError,
        requests.exceptions.ProxyError,
    )
    if isinstance(exc, never_sent):
        return False
    if not isinstance(exc, requests.ConnectionError):
        return not isinstance(exc, (requests.exceptions.InvalidURL, ValueError))
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return not isinstance(
        reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
    )


def _cause(exc: BaseException) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if "Connection reset" in text or "ConnectionResetError" in text:
        return "connection reset by the server"
    if "RemoteDisconnected" in text or "without response" in text:
        return "the server closed the connection without an answer"
    if "IncompleteRead" in text or "InvalidChunkLength" in text:
        return "the connection closed before the whole answer"
    return type(exc).__name__
