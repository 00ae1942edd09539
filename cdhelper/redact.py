"""The secrets cdhelper knows, and one :func:`redact` that hides them in any text.

A secret is registered the moment cdhelper reads or receives it (the Swarmpit token from
the environment, registry passwords and identity tokens from the Docker config or a
credential helper, tokens from a registry's token service). Every text cdhelper prints or
writes goes through :func:`redact` at the output boundary, and error messages are redacted
when they are built, so a server that echoes a request header cannot make cdhelper print
it. The forms a secret takes on the wire or in a file are registered with it: base64
(Basic auth, ``auths.*.auth`` in config.json), and its escaped forms in JSON, XML and URLs.

Secrets shorter than :data:`MIN_LENGTH` characters are not registered: hiding every
occurrence of a two-letter string would mangle every message, and such a secret does not
protect anything anyway.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from urllib.parse import quote

MIN_LENGTH = 4
MASK = "***"


class _Known:
    """The registered forms, and one compiled pattern of them, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, forms: set[str]) -> None:
        with self._lock:
            if not forms <= self._forms:
                self._forms |= forms
                self._pattern = None

    def clear(self) -> None:
        with self._lock:
            self._forms.clear()
            self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._forms:
                # Longest first, so a padded base64 form wins over its unpadded prefix.
                ordered = sorted(self._forms, key=lambda s: (-len(s), s))
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            return self._pattern


_known = _Known()


def register(*secrets: str | None) -> None:
    """Remember ``secrets`` (and their encoded forms) so that :func:`redact` hides them."""
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    _known.add({form for form in forms if len(form) >= MIN_LENGTH})


def register_login(username: str, password: str) -> None:
    """A username/password pair: the password, and ``user:password`` as Basic auth sends it."""
    register(password, f"{username}:{password}")


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    pattern = _known.pattern()
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def forget_all() -> None:
    """Forget every secret (for tests: the registry lives as long as the process)."""
    _known.clear()


def _forms(secret: str) -> set[str]:
    raw = secret.encode("utf-8", "surrogatepass")
    encoded = {
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
    }
    # Servers and proxies drop the padding now and then; the unpadded form matches both.
    encoded |= {form.rstrip("=") for form in encoded}
    escaped = {
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),  # XML text, and attributes as ElementTree writes them
        html.escape(secret, quote=False).replace('"', "&quot;"),
        quote(raw, safe=""),
        repr(secret)[1:-1],
        secret.replace("'", "''"),  # YAML's single-quoted style
    }
    return {secret} | encoded | escaped
