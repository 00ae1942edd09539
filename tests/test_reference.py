from __future__ import annotations

import pytest

from cdhelper.reference import ImageRef, ReferenceError, is_digest, short_digest

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
