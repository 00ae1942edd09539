from __future__ import annotations

import re

import pytest

from cdhelper.reference import (
    ImageRef,
    ReferenceError,
    is_digest,
    is_valid_tag,
    parse_registry,
    short_digest,
)

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", "latest", None),
        ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
        ("ns/app:v1", "docker.io", "ns/app", "v1", None),
        ("docker.io/ns/app:v1", "docker.io", "ns/app", "v1", None),
        ("index.docker.io/ns/app:v1", "docker.io", "ns/app", "v1", None),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest", None),
        ("library/nginx:TEST", "docker.io", "library/nginx", "TEST", None),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000", "app", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/team/app:v1.2.3_abc", "localhost:5000", "team/app", "v1.2.3_abc", None),
        ("Registry.Example.com/app:v1", "registry.example.com", "app", "v1", None),
        ("ghcr.io/owner/app:v1@" + D, "ghcr.io", "owner/app", "v1", D),
        ("nginx@" + D, "docker.io", "library/nginx", None, D),
        ("[::1]:5000/app:v1", "[::1]:5000", "app", "v1", None),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_parse_normalises(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Nginx:v1", "invalid repository"),
        ("app:v1 x", "invalid tag"),
        ("app:-v1", "invalid tag"),
        ("app@sha256:xyz", "invalid digest"),
        ("example.com/", "invalid repository"),
        ("example.com/App:v1", "invalid repository"),
        ("bad_host:5000/app", "invalid registry host"),
        ("", "invalid repository"),
        ("app:v1\n", "invalid tag"),
        ("app:vé", "invalid tag"),
        ("app:v١", "invalid tag"),  # an Arabic-Indic digit: \w, but not ASCII
        ("r.io:0/app:v1", "invalid registry host 'r.io:0' in image reference .*: the port must"),
        ("r.io:65536/app:v1", "the port must be 1-65535"),
        ("r.io:0005000/app", "the port must be 1-65535"),
        (
            "[::zz]:5000/app",
            r"invalid registry host .\[::zz\]:5000. in image reference .\[::zz\]:5000/app.$",
        ),
        ("[1::2::3]:5000/app", "not an IPv6 address"),
        ("[1.2.3.4]/app", "not an IPv6 address"),
        ("MYREG/app:v1", "a name without a dot or a port reads as a Docker Hub namespace"),
        ("r.io/" + "a" * 251, "longer than 255 characters"),
        ("app@sha256:" + "A" * 64, "invalid digest"),
        ("app@sha512:" + "a" * 128, "invalid digest"),
        ("app@sha256:" + "a" * 64 + "\n", "invalid digest"),
    ],
)
def test_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(ReferenceError, match=message):
        ImageRef.parse(text)


def test_tags_are_case_sensitive() -> None:
    assert ImageRef.parse("app:TEST") != ImageRef.parse("app:test")


def test_string_forms() -> None:
    ref = ImageRef.parse("127.0.0.1:5000/app:v1@" + D)
    assert ref.name == "127.0.0.1:5000/app"
    assert ref.tagged == "127.0.0.1:5000/app:v1"
    assert str(ref) == f"127.0.0.1:5000/app:v1@{D}"
    assert str(ref.without_digest()) == "127.0.0.1:5000/app:v1"
    assert ref.with_registry("registry.local").name == "registry.local/app"
    assert ImageRef.parse("nginx@" + D).tagged == "docker.io/library/nginx"


def test_digest_helpers() -> None:
    assert is_digest(D)
    assert not is_digest("sha256:zz")
    assert short_digest(D) == "sha256:" + "a" * 12


@pytest.mark.parametrize(
    ("host", "normalised"),
    [
        ("registry.example.com", "registry.example.com"),
        ("Registry.Example.com:443", "registry.example.com:443"),
        ("localhost", "localhost"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("[::1]:5000", "[::1]:5000"),
        ("[2001:db8::1]", "[2001:db8::1]"),
        ("index.docker.io", "docker.io"),
        ("r.io:65535", "r.io:65535"),
    ],
)
def test_parse_registry_accepts_what_docker_accepts(host: str, normalised: str) -> None:
    assert parse_registry(host) == normalised
    assert ImageRef.parse(f"{host}/app:v1").registry == normalised


@pytest.mark.parametrize(
    "host",
    ["myregistry", "bad_host", "r.io:", "r.io:x", "-r.io", "r.io.", "r io", "r.io/x", "[::1", ""],
)
def test_parse_registry_refuses(host: str) -> None:
    with pytest.raises(ReferenceError, match=re.escape(f"invalid registry host {host!r}")):
        parse_registry(host)


def test_messages_quote_at_most_a_little_of_the_input() -> None:
    with pytest.raises(ReferenceError) as info:
        ImageRef.parse("app:" + "x" * 100_000 + " ")
    assert len(str(info.value)) < 200


def test_tags_are_ascii() -> None:
    assert is_valid_tag("v1.2.3_abc-DEF")
    assert not is_valid_tag("ß")
    assert not is_valid_tag("v1\n")
