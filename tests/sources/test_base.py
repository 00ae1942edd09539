"""The shared helpers of the sources: cached where a storm repeats itself, never different."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdhelper.errors import InputError
from cdhelper.sources import base
from cdhelper.sources.base import Context

PROFILE = settings(max_examples=20_000 if os.environ.get("CDHELPER_FUZZ") else 500, deadline=None)
URL_PARTS = st.sampled_from(
    ["http", "https", "HTTP", "s3+x", "1a", ":", "//", "/", "?", "#", "@", "[", "]", "::1", "[::1]",
     "127.0.0.1", ":5000", "u:p@", "host", "Host.Example", "v2", "app", " ", "\t", "\n", "\x00",
     "\u00e9", "\uff0f", "%2F", ".", "-", "5000"]
)  # fmt: skip
URLS = st.lists(URL_PARTS, max_size=10).map("".join) | st.text(max_size=30)


def reference_host(url: str) -> str | ValueError:
    try:
        return urlsplit(url).netloc.rpartition("@")[2]
    except ValueError as exc:
        return exc


def cached_host(url: str) -> str | ValueError:
    try:
        return base.url_host(url)
    except ValueError as exc:
        return exc


@PROFILE
@given(url=URLS)
def test_url_host_is_what_urlsplit_says(url: str) -> None:
    expected, found = reference_host(url), cached_host(url)
    assert repr(found) == repr(expected)  # the host, or the same ValueError and message


def test_url_host_splits_each_authority_once() -> None:
    base._url_host.cache_clear()
    urls = [f"http://127.0.0.1:5000/v2/app{i}/manifests/sha256:{i:064x}" for i in range(1000)]
    assert {base.url_host(url) for url in urls} == {"127.0.0.1:5000"}
    assert base._url_host.cache_info().misses == 1


@pytest.mark.parametrize("host", ["registry", "host:99999", "[fe80::zz]:5000", "A_B.example"])
def test_a_refused_host_is_refused_each_time_with_its_message(host: str) -> None:
    for _ in range(2):
        with pytest.raises(InputError, match="invalid registry host") as caught:
            base.image(Context("x"), "$.t", host, "app", "v1")
        assert str(caught.value).startswith(f"x: $.t: invalid registry host '{host}'")
