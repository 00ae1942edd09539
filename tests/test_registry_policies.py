"""The registry client's reads for the release policies, against a stand-in that pages.

The CNCF registry 2.8 (the real one the integration tests run) ignores ``?n=`` and sends
no ``Link`` header, so pagination is exercised here, on loopback, by a small server that
pages as the distribution spec says (``Link: <...?n=2&last=...>; rel="next"``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cdhelper.reference import ImageRef
from cdhelper.registry import RegistryClient
from cdhelper.values import Platform

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class PagingRegistry:
    """Serves /v2/, a paged tag list and fixed manifests and blobs for one repository."""

    def __init__(self, tags: list[str], page: int = 2, foreign_link: bool = False) -> None:
        self.tags = tags
        self.page = page
        self.foreign_link = foreign_link
        self.requests: list[str] = []
        self.objects: dict[str, tuple[str, bytes]] = {}
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                status, headers, body = registry.answer(self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, media_type: str, document: dict[str, Any]) -> str:
        data = json.dumps(document).encode()
        self.objects[_digest(data)] = (media_type, data)
        return _digest(data)

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(path)
        if url.path == "/v2/":
            return 200, {}, b"{}"
        if url.path == "/v2/app/tags/list":
            query = parse_qs(url.query)
            size = min(int(query.get("n", ["100"])[0]), self.page)
            last = query.get("last", [None])[0]
            start = self.tags.index(last) + 1 if last else 0
            chunk = self.tags[start : start + size]
            headers = {"Content-Type": "application/json"}
            if start + size < len(self.tags):
                where = "http://127.0.0.2:1" if self.foreign_link else ""
                headers["Link"] = (
                    f'<{where}/v2/app/tags/list?n={size}&last={chunk[-1]}>; rel="next"'
                )
            return 200, headers, json.dumps({"name": "app", "tags": chunk}).encode()
        for kind in ("manifests", "blobs"):
            prefix = f"/v2/app/{kind}/"
            if url.path.startswith(prefix) and url.path[len(prefix) :] in self.objects:
                media_type, data = self.objects[url.path[len(prefix) :]]
                return 200, {"Content-Type": media_type}, data
        return 404, {}, b'{"errors": [{"code": "NOT_FOUND"}]}'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def paging() -> Iterator[PagingRegistry]:
    server = PagingRegistry([f"v1.{i}.0" for i in range(7)] + ["v1", "TEST"])
    yield server
    server.close()


def test_tags_follow_link_pagination_one_listing_per_repository(paging: PagingRegistry) -> None:
    client = RegistryClient()
    refs = [ImageRef(paging.host, "app", "v1.0.0"), ImageRef(paging.host, "app", "v1")]
    listed = client.list_tags(refs)
    [(ref, found)] = listed.items()
    assert ref == ImageRef(paging.host, "app", None)
    assert found.tags == tuple(paging.tags) and found.error is None
    pages = [p for p in paging.requests if p.startswith("/v2/app/tags/list")]
    assert len(pages) == 5 and client.stats.tag_lists == 5
    assert pages[0] == "/v2/app/tags/list?n=1000"
    assert pages[1] == "/v2/app/tags/list?n=2&last=v1.1.0"


def test_a_link_to_another_origin_is_refused() -> None:
    server = PagingRegistry(["v1.0.0", "v1.1.0", "v1.2.0"], foreign_link=True)
    try:
        found = RegistryClient().list_tags([ImageRef(server.host, "app", None)])
    finally:
        server.close()
    [listing] = found.values()
    assert listing.error == f"registry {server.host}: the tag list links another origin: refused"


def test_a_missing_repository_is_an_error_of_that_listing(paging: PagingRegistry) -> None:
    [listing] = RegistryClient().list_tags([ImageRef(paging.host, "nope", None)]).values()
    assert listing.error == f"registry {paging.host}: no repository nope"


def test_index_platforms_and_config_created(paging: PagingRegistry) -> None:
    config = paging.add(
        "application/vnd.oci.image.config.v1+json",
        {"created": "2026-11-20T10:00:00Z", "architecture": "amd64", "os": "linux"},
    )
    child = paging.add(
        MANIFEST, {"mediaType": MANIFEST, "config": {"digest": config}, "layers": []}
    )
    index = paging.add(
        INDEX,
        {
            "mediaType": INDEX,
            "manifests": [
                {"digest": child, "platform": {"os": "linux", "architecture": "amd64"}},
                {
                    "digest": child,
                    "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
                },
                {"digest": child, "platform": {"os": "unknown", "architecture": "unknown"}},
            ],
        },
    )
    client = RegistryClient()
    client.prepare(paging.host)
    ref = ImageRef(paging.host, "app", "v1", index)
    assert client.index_platforms(ref) == (
        Platform("linux", "amd64"),
        Platform("linux", "arm", "v7"),
    )
    assert client.index_platforms(ImageRef(paging.host, "app", "v1", child)) is None
    created = client.created(ref)
    assert created is not None and created.isoformat() == "2026-11-20T10:00:00+00:00"
    # each manifest read once per plan; one blob read, which is no Docker Hub pull
    assert sum(p == f"/v2/app/manifests/{index}" for p in paging.requests) == 1
    assert (client.stats.manifest_gets, client.stats.blob_gets) == (2, 1)
