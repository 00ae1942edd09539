"""The fault-injection server: a real HTTP server on loopback that tests program per request.

Swarmpit, registries and token services can answer anything; these tests make them. A
:class:`FaultServer` listens on 127.0.0.1 (or another loopback address) and answers each
request with a *behaviour*: the next one queued for its method and path, else the route's
standing one, else 404. Behaviours cover what a hostile or broken server does: any status
and body (huge, deeply nested JSON, binary, invalid UTF-8, the request's own headers echoed
back), a connection reset (before the answer, or in the middle of it), a hang, a trickle
of one byte at a time, a redirect (to another host), ``Retry-After``. Every behaviour that
waits is bounded, so a test always ends. :func:`swarmpit` gives a server Swarmpit's
shapes (``GET /api/services``, ``GET /api/services/{id}``, ``POST .../redeploy``).

    with FaultServer() as server:
        swarmpit(server, services)
        server.queue("POST", "/api/services/b/redeploy", deep_json(500))
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from helpers import DATA

Behaviour = Callable[["Handler"], None]
MAX_WAIT = 30.0  # no behaviour keeps a connection longer than this


@dataclass(frozen=True)
class Seen:
    """A request the server received."""

    method: str
    path: str  # without the query
    query: str
    headers: Mapping[str, str]


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        owner = self.server.owner
        owner.record(Seen(self.command, path, parts.query, dict(self.headers.items())))
        owner.behaviour(self.command, path)(self)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def send(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        """A whole answer with its Content-Length."""
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self) -> None:
        """Close the connection with a TCP reset (RST), not an orderly FIN."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        self.wfile = io.BytesIO()  # the server flushes it after the handler returns

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what these tests are about


class FaultServer:
    """Answers each request with the behaviour queued or set for its method and path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._lock = threading.Lock()
        self._queued: dict[tuple[str, str], deque[Behaviour]] = defaultdict(deque)
        self._standing: dict[tuple[str, str], Behaviour] = {}
        self.requests: list[Seen] = []
        self._server = _Server((host, 0), Handler)
        self._server.owner = self
        self.url = f"http://{host}:{self._server.server_address[1]}"
        # A short poll: close() (shutdown) waits up to one interval.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def on(self, method: str, path: str, behaviour: Behaviour) -> None:
        """Answer every ``method path`` request with ``behaviour`` (once the queue is empty)."""
        with self._lock:
            self._standing[(method, path)] = behaviour

    def queue(self, method: str, path: str, *behaviours: Behaviour) -> None:
        """Answer the next ``method path`` requests with these behaviours, in order."""
        with self._lock:
            self._queued[(method, path)].extend(behaviours)

    def behaviour(self, method: str, path: str) -> Behaviour:
        with self._lock:
            queued = self._queued.get((method, path))
            if queued:
                return queued.popleft()
            return self._standing.get((method, path), reply(404, {"error": "not found"}))

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def seen(self, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Behaviours ---------------------------------------------------------------------------


def reply(
    status: int = 200, body: Any = b"", headers: Mapping[str, str] | None = None
) -> Behaviour:
    """A whole answer; ``body`` bytes as they are, anything else as JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda handler: handler.send(status, data, headers)


def huge(status: int, size: int, fill: bytes = b"x") -> Behaviour:
    """``size`` bytes of body, written in chunks (never built whole in memory)."""

    def behave(handler: Handler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        chunk = fill * (65536 // len(fill))
        left = size
        try:
            while left > 0:
                piece = chunk[:left]
                handler.wfile.write(piece)
                left -= len(piece)
        except OSError:
            handler.close_connection = True  # the client stopped reading: as it should

    return behave


def deep_json(status: int, depth: int = 5_000_000) -> Behaviour:
    """``[[[[...]]]]`` nested ``depth`` deep: valid JSON that makes ``json`` recurse."""
    return huge_text(status, b"[" * depth + b"]" * depth)


def huge_text(status: int, body: bytes) -> Behaviour:
    def behave(handler: Handler) -> None:
        try:
            handler.send(status, body)
        except OSError:
            handler.close_connection = True

    return behave


def binary(status: int) -> Behaviour:
    """Bytes that are neither text nor JSON, control characters included."""
    return reply(status, bytes(range(256)) * 4, {"Content-Type": "application/octet-stream"})


def invalid_utf8(status: int) -> Behaviour:
    """A JSON-looking error whose text is not UTF-8, with a terminal escape inside."""
    return reply(status, b'{"error": "bad \xff\xfe\xc3\x28 \x1b[31mred\x1b[0m \\ud800"}')


def echo_headers(status: int = 200) -> Behaviour:
    """The request's own headers as the body: a server that leaks what it was sent."""

    def behave(handler: Handler) -> None:
        headers = dict(handler.headers.items())
        handler.send(status, json.dumps({"error": f"echo {headers}", "headers": headers}).encode())

    return behave


def reset_before_answer() -> Behaviour:
    """Read the request, then reset the connection: the server may have acted on it."""
    return lambda handler: handler.reset()


def reset_mid_answer(status: int = 200, sent: bytes = b'{"partial": ') -> Behaviour:
    """Send the status line, headers and a part of the body, then reset."""

    def behave(handler: Handler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(sent)
        handler.reset()

    return behave


def hang(seconds: float = 10.0) -> Behaviour:
    """Answer nothing for ``seconds`` (at most MAX_WAIT), then close."""

    def behave(handler: Handler) -> None:
        time.sleep(min(seconds, MAX_WAIT))
        handler.close_connection = True

    return behave


def trickle(interval: float = 0.1, seconds: float = 10.0, status: int = 200) -> Behaviour:
    """Promise a big body, then send one byte every ``interval`` s for at most ``seconds``."""

    def behave(handler: Handler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(10**9))
        handler.end_headers()
        until = time.monotonic() + min(seconds, MAX_WAIT)
        try:
            while time.monotonic() < until:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass  # the client gave up: as it should
        handler.close_connection = True

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    """Send the client elsewhere (another host: ``http://127.0.0.2:PORT/...``)."""
    return reply(status, b"", {"Location": location})


def retry_after(seconds: int | str, status: int = 429) -> Behaviour:
    return reply(status, {"error": "slow down"}, {"Retry-After": str(seconds)})


# Swarmpit's shapes ----------------------------------------------------------------------


def swarmpit_services() -> list[dict[str, Any]]:
    """The Swarmpit service list of tests/data (a real ``GET /api/services`` answer)."""
    data: list[dict[str, Any]] = json.loads((DATA / "swarmpit-services.json").read_text())
    return data


def swarmpit(server: FaultServer, services: Iterable[dict[str, Any]] | None = None) -> None:
    """Make ``server`` answer as a Swarmpit with ``services`` does, until told otherwise."""
    listed = list(services if services is not None else swarmpit_services())
    server.on("GET", "/api/services", reply(200, listed))
    for item in listed:
        server.on("GET", f"/api/services/{item['id']}", reply(200, item))
        server.on("POST", f"/api/services/{item['id']}/redeploy", reply(202))


# A registry's shapes ---------------------------------------------------------------------

MANIFEST_TYPE = "application/vnd.oci.image.index.v1+json"


def registry(server: FaultServer, tags: Mapping[str, str]) -> None:
    """Make ``server`` answer as an open registry whose ``name:tag`` point to digests."""
    server.on("GET", "/v2/", reply(200, {}))
    for reference, digest in tags.items():
        name, _, tag = reference.rpartition(":")
        headers = {"Docker-Content-Digest": digest, "Content-Type": MANIFEST_TYPE}
        for method in ("HEAD", "GET"):
            server.on(method, f"/v2/{name}/manifests/{tag}", reply(200, {}, headers))
