"""Signed plans: what ``apply`` runs is the plan that ``plan`` wrote and people reviewed.

With ``CDHELPER_PLAN_KEY`` set (a secret from the CI credential store), ``plan`` adds
``signature: {algorithm: hmac-sha256, value: <hex>}``: an HMAC-SHA256 over the plan's
canonical content, which is the plan without its signature as JSON with sorted keys, no
whitespace, UTF-8. ``apply`` with the key set runs only a plan whose signature matches.
Comments and YAML layout are not content; every value is. The key is never printed.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from cdhelper.errors import ConfigError

KEY_ENV = "CDHELPER_PLAN_KEY"
ALGORITHM = "hmac-sha256"
FIELD = "signature"


class Check(enum.Enum):
    """What the signature of a loaded plan says."""

    VALID = "signed, signature valid"
    INVALID = "signature does not match: the plan changed after it was signed, or another key"
    UNSIGNED = "not signed"
    NOT_CHECKED = f"signed, not checked ({KEY_ENV} is not set)"


def key_from_environment(environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The signing key, None when unset; set but empty is a mistake, not "unsigned"."""
    if KEY_ENV not in environ:
        return None
    value = environ[KEY_ENV]
    if not value.strip():
        raise ConfigError(
            f"{KEY_ENV} is set but empty: give the plan signing key, or unset it to work unsigned"
        )
    # os.environ decodes bytes that are not UTF-8 as surrogates: encode them back as they were.
    return value.encode("utf-8", "surrogateescape")


def canonical(document: Mapping[str, Any]) -> bytes:
    """The signed bytes: the document without its signature, as canonical JSON."""
    content = {k: v for k, v in document.items() if k != FIELD}
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def sign(document: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """The document with its signature as the last field."""
    value = hmac.new(key, canonical(document), hashlib.sha256).hexdigest()
    return {**document, FIELD: {"algorithm": ALGORITHM, "value": value}}


def check(document: Mapping[str, Any], key: bytes | None) -> Check:
    """Check a schema-valid document's signature with ``key`` (None: no key to check with)."""
    signature = document.get(FIELD)
    if signature is None:
        return Check.UNSIGNED
    if key is None:
        return Check.NOT_CHECKED
    expected = hmac.new(key, canonical(document), hashlib.sha256).hexdigest()
    same = hmac.compare_digest(expected, str(signature.get("value", "")))
    return Check.VALID if same and signature.get("algorithm") == ALGORITHM else Check.INVALID
