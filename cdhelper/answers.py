"""HTTP answers as cdhelper reads and shows them, whichever client asked.

A status code that is not 2xx becomes a named :class:`~cdhelper.errors.ApiError` with a
hint, in one function (:func:`check`); a body is read as JSON strictly (:func:`json_body`);
what a server says is shown only as a short printable snippet; URLs are shown without
credentials. Nothing here sends a request, so nothing here imports an HTTP client:
:mod:`cdhelper.http` does that, for the commands that call a server.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cdhelper.errors import ApiError

if TYPE_CHECKING:
    import requests

MAX_ERROR_BODY = 1024 * 1024  # an error answer: only a snippet of it is ever shown
SNIPPET = 200  # characters of a server's text shown in a message


def check(response: requests.Response, what: str, hints: Mapping[int, str] | None = None) -> None:
    """Turn a non-2xx answer into an ApiError that says who, what, and how to fix it."""
    if response.ok:
        return
    status = response.status_code
    hint = (hints or {}).get(status) or _DEFAULT_HINTS.get(status) or ""
    detail = _body_snippet(response)
    message = f"{what}: {response.request.method} {redact_url(response.url)} answered HTTP {status}"
    if response.reason:
        message += f" {printable(str(response.reason))[:SNIPPET]}"
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


def json_body(response: requests.Response) -> Any:
    """The answer parsed as JSON; ValueError for anything else (deep, NaN, not UTF-8...)."""
    try:
        return json.loads(response.content, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def printable(text: str) -> str:
    """``text`` safe for a terminal and any file: no control characters, no lone surrogates."""
    return "".join(c if c.isprintable() else " " for c in text)


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
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())


def redact_url(url: str) -> str:
    """The URL without any ``user:password@`` in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    if parts.username or parts.password:
        netloc = f"***@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _body_snippet(response: requests.Response) -> str:
    """The error a server gave, shortened: the body is hostile until shown otherwise."""
    try:
        body = response.content[:MAX_ERROR_BODY]
    except Exception:  # a body that cannot be read just shows nothing
        return ""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text, parse_constant=_no_constant, strict=False)
    except (ValueError, RecursionError):
        return printable(" ".join(text[: SNIPPET * 4].split()))[:SNIPPET]
    if isinstance(data, dict):
        for key in ("error", "message", "errors", "detail"):
            if key in data:
                return printable(_shown(data[key]))[:SNIPPET]
    return ""


def _shown(value: Any) -> str:
    """``str(value)`` of a parsed JSON value, without ever building a huge or deep text."""
    if isinstance(value, str):
        return value[: SNIPPET * 4]
    try:
        return json.dumps(value)[: SNIPPET * 4]
    except (ValueError, RecursionError):
        return type(value).__name__
