from __future__ import annotations

import pytest

from cdhelper.registry_auth import parse_challenge


def test_parse_challenge() -> None:
    parsed = parse_challenge('Bearer realm="https://a/token",service="s",scope="repository:x:pull"')
    assert parsed is not None and parsed.scheme == "bearer"
    assert parsed.params == {
        "realm": "https://a/token",
        "service": "s",
        "scope": "repository:x:pull",
    }
    assert parse_challenge("") is None


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        (
            "Bearer realm=https://a/token,service=s",
            "bearer",
            {"realm": "https://a/token", "service": "s"},
        ),
        ('BEARER realm="r"', "bearer", {"realm": "r"}),
    ],
)
def test_challenge_forms(header: str, scheme: str, params: dict[str, str]) -> None:
    parsed = parse_challenge(header)
    assert parsed is not None
    assert (parsed.scheme, dict(parsed.params)) == (scheme, params)
