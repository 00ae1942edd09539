"""Who sent a delivery: each source type's way of authenticating, checked in constant time.

* ``ghcr`` with a secret: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``
  (GitHub's webhook signature).
* ``registry`` with a secret: Standard Webhooks (GitLab's signing token): ``webhook-id``,
  ``webhook-timestamp`` (Unix seconds, within five minutes of now) and ``webhook-signature``,
  space-separated ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` entries, any of
  which may match. The key is the base64 after ``whsec_`` (or the whole secret, when it is
  base64, as the reference libraries read it; else its UTF-8 bytes).
* a token (any type): ``Authorization: Bearer <token>``, ``Authorization: <token>``,
  ``Authorization: Basic <base64 of any-user:token>`` (an EventBridge Basic connection),
  ``X-JFrog-Event-Auth: <token>`` (Artifactory's secret token) or the URL's last path
  segment (Docker Hub and Quay can send nothing else).

The answer to a failure never says which part was wrong or anything about the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from cdhelper.inbox.config import SourceConfig

TOLERANCE_SECONDS = 300
WHSEC = "whsec_"


def authenticate(
    source: SourceConfig,
    headers: Mapping[str, str],
    path_token: str | None,
    body: bytes,
    now: float,
) -> bool:
    """Whether the delivery comes from the configured sender (``headers`` keys lower case)."""
    if source.secret is not None:
        if source.type == "ghcr":
            return github_signature(source.secret.value, headers, body)
        return standard_webhooks(source.secret.value, headers, body, now)
    if source.token is not None:
        return token_matches(source.token.value, headers, path_token)
    return source.insecure


def token_matches(token: str, headers: Mapping[str, str], path_token: str | None) -> bool:
    expected = token.encode()
    offered = [path_token or ""]
    authorization = headers.get("authorization", "")
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() == "bearer":
        offered.append(rest.strip())
    elif scheme.lower() == "basic":
        offered.append(_basic_password(rest.strip()))
    offered.append(authorization.strip())
    offered.append(headers.get("x-jfrog-event-auth", "").strip())
    # every candidate is compared, so the time taken does not say which one was close
    results = [hmac.compare_digest(candidate.encode(), expected) for candidate in offered]
    return any(results)


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""
    return decoded.partition(":")[2]


def github_signature(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    given = headers.get("x-hub-signature-256", "")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.encode(), expected.encode())


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret."""
    text = secret.removeprefix(WHSEC)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


def standard_webhooks(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (message_id and timestamp.isdigit() and signatures):
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    results = []
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        results.append(version == "v1" and hmac.compare_digest(value.encode(), expected))
    return any(results)


def sign_github(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send (for tests and tools)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """A ``webhook-signature`` value as a Standard Webhooks sender makes it."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
