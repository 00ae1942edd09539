"""Each source type's authentication, including the published test vectors."""

from __future__ import annotations

import base64

import pytest

from cdhelper.inbox import auth
from cdhelper.inbox.config import SourceConfig
from cdhelper.inbox.secret import Secret

# GitHub's documented vector ("Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
# The Standard Webhooks reference libraries' vector.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIME = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def source(
    kind: str, token: str | None = None, secret: str | None = None, insecure: bool = False
) -> SourceConfig:
    return SourceConfig(
        name="s",
        type=kind,
        token=Secret(token, "test") if token else None,
        secret=Secret(secret, "test") if secret else None,
        insecure=insecure,
    )


def test_github_documented_vector() -> None:
    assert auth.sign_github(GITHUB_SECRET, b"Hello, World!") == GITHUB_SIGNATURE
    ghcr = source("ghcr", secret=GITHUB_SECRET)
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    assert auth.authenticate(ghcr, headers, None, b"Hello, World!", 0)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"x-hub-signature-256": GITHUB_SIGNATURE}, b"Hello, World?"),
        ({"x-hub-signature-256": GITHUB_SIGNATURE.upper()}, b"Hello, World!"),
        ({"x-hub-signature-256": GITHUB_SIGNATURE.removeprefix("sha256=")}, b"Hello, World!"),
        ({}, b"Hello, World!"),
    ],
    ids=["tampered-body", "wrong-case", "no-prefix", "missing"],
)
def test_github_signature_refused(headers: dict[str, str], body: bytes) -> None:
    assert not auth.authenticate(source("ghcr", secret=GITHUB_SECRET), headers, None, body, 0)


def sw_headers(signature: str = SW_SIGNATURE, timestamp: int = SW_TIME) -> dict[str, str]:
    return {
        "webhook-id": SW_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_standard_webhooks_reference_vector() -> None:
    assert auth.sign_standard(SW_SECRET, SW_ID, SW_TIME, SW_BODY) == SW_SIGNATURE
    signed = source("registry", secret=SW_SECRET)
    assert auth.authenticate(signed, sw_headers(), None, SW_BODY, SW_TIME + 10)
    # the secret without its whsec_ prefix is the same key
    bare = source("registry", secret=SW_SECRET.removeprefix("whsec_"))
    assert auth.authenticate(bare, sw_headers(), None, SW_BODY, SW_TIME)


def test_standard_webhooks_any_of_several_signatures() -> None:
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    headers = sw_headers(f"v1a,abc {other} {SW_SIGNATURE}")
    assert auth.authenticate(source("registry", secret=SW_SECRET), headers, None, SW_BODY, SW_TIME)


@pytest.mark.parametrize(
    ("headers", "body", "now"),
    [
        (sw_headers(), SW_BODY + b" ", SW_TIME),
        (sw_headers(), SW_BODY, SW_TIME + 301),
        (sw_headers(), SW_BODY, SW_TIME - 301),
        (sw_headers("v2," + SW_SIGNATURE[3:]), SW_BODY, SW_TIME),
        ({**sw_headers(), "webhook-id": "msg_other"}, SW_BODY, SW_TIME),
        ({**sw_headers(), "webhook-timestamp": "soon"}, SW_BODY, SW_TIME),
        ({"webhook-signature": SW_SIGNATURE}, SW_BODY, SW_TIME),
    ],
    ids=[
        "tampered",
        "too-old",
        "too-new",
        "other-version",
        "other-id",
        "bad-time",
        "headers-missing",
    ],
)
def test_standard_webhooks_refused(headers: dict[str, str], body: bytes, now: int) -> None:
    assert not auth.authenticate(source("registry", secret=SW_SECRET), headers, None, body, now)


def test_standard_webhooks_secret_that_is_not_base64_is_its_bytes() -> None:
    signature = auth.sign_standard("not base64!", "m1", SW_TIME, b"{}")
    headers = {
        "webhook-id": "m1",
        "webhook-timestamp": str(SW_TIME),
        "webhook-signature": signature,
    }
    assert auth.signing_key("not base64!") == b"not base64!"
    assert auth.authenticate(
        source("registry", secret="not base64!"), headers, None, b"{}", SW_TIME
    )


@pytest.mark.parametrize(
    ("headers", "path_token"),
    [
        ({"authorization": "Bearer t0ken"}, None),
        ({"authorization": "bearer  t0ken "}, None),
        ({"authorization": "t0ken"}, None),
        ({"authorization": "Basic " + base64.b64encode(b"eventbridge:t0ken").decode()}, None),
        ({"x-jfrog-event-auth": "t0ken"}, None),
        ({}, "t0ken"),
    ],
    ids=["bearer", "bearer-spaces", "bare", "basic", "jfrog", "url-path"],
)
def test_token_accepted(headers: dict[str, str], path_token: str | None) -> None:
    assert auth.authenticate(source("dockerhub", token="t0ken"), headers, path_token, b"{}", 0)


@pytest.mark.parametrize(
    ("headers", "path_token"),
    [
        ({}, None),
        ({"authorization": "Bearer t0ke"}, None),
        ({"authorization": "Bearer t0ken2"}, None),
        ({"authorization": "Basic !!!"}, None),
        ({"authorization": "Basic " + base64.b64encode(b"t0ken").decode()}, None),
        ({}, "T0KEN"),
        ({}, ""),
    ],
    ids=["nothing", "prefix", "longer", "bad-basic", "basic-no-password", "case", "empty"],
)
def test_token_refused(headers: dict[str, str], path_token: str | None) -> None:
    assert not auth.authenticate(source("dockerhub", token="t0ken"), headers, path_token, b"{}", 0)


def test_insecure_source_takes_anyone_and_others_nobody() -> None:
    assert auth.authenticate(source("quay", insecure=True), {}, None, b"{}", 0)
    assert not auth.authenticate(source("quay"), {}, None, b"{}", 0)
