from __future__ import annotations

import base64
import html
import json
import threading
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from cdhelper import redact
from cdhelper.errors import ApiError


def test_a_registered_secret_and_its_forms_are_hidden() -> None:
    secret = 'p@ss "w<o>rd" é'
    redact.register(secret)
    raw = secret.encode()
    for form in (
        secret,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        json.dumps(secret)[1:-1],
        html.escape(secret),
        quote(secret, safe=""),
        repr(secret)[1:-1],
    ):
        assert redact.redact(f"before {form} after") == "before *** after", form


def test_login_hides_basic_auth_of_the_pair() -> None:
    redact.register_login("alice", "s3cret-pw")
    basic = base64.b64encode(b"alice:s3cret-pw").decode()
    assert redact.redact(f"Authorization: Basic {basic}") == "Authorization: Basic ***"
    assert redact.redact("user alice") == "user alice"  # the username is no secret


def test_short_secrets_are_ignored_and_nothing_registered_changes_nothing() -> None:
    assert redact.redact("latest tag") == "latest tag"
    redact.register("tes", "", None)
    assert redact.redact("latest tag") == "latest tag"
    assert len("test") == redact.MIN_LENGTH
    redact.register("test")
    assert redact.redact("latest tag") == "la*** tag"


def test_longest_form_wins() -> None:
    redact.register("abcd", "abcdefgh")
    assert redact.redact("xabcdefghx abcd") == "x***x ***"


def test_errors_are_redacted_when_built() -> None:
    redact.register("tok-very-secret")
    error = ApiError("server said: tok-very-secret", problems=["also tok-very-secret"])
    assert error.message == "server said: ***"
    assert str(error) == "server said: ***\n  - also ***"


def test_registering_from_threads() -> None:
    secrets = [f"secret-{n:04d}" for n in range(200)]
    threads = [threading.Thread(target=redact.register, args=(s,)) for s in secrets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redact.redact(" ".join(secrets)) == " ".join(["***"] * len(secrets))


@pytest.mark.parametrize("secret", ["\ud800abc", "tab\there", "new\nline"])
def test_odd_secrets_register_without_error(secret: str) -> None:
    redact.register(secret)
    assert redact.redact(f"<{secret}>") == "<***>"


def test_yaml_single_quoted_form() -> None:
    redact.register("it's-a-secret")
    assert redact.redact("reason: 'it''s-a-secret'") == "reason: '***'"


def test_xml_forms_as_elementtree_writes_them() -> None:
    secret = "a&b'c\"d<e"
    redact.register(secret)
    element = ET.Element("failure", message=secret)
    element.text = secret
    written = ET.tostring(element, encoding="unicode")
    assert redact.redact(written) == '<failure message="***">***</failure>'
