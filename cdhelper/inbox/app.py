"""The inbox's HTTP interface (Starlette), served by uvicorn.

``POST /hooks/<source>[/<token>]`` takes one payload as its registry sends it;
``POST /smart/<environment>`` (admin token) asks for a smart plan; ``GET /healthz``;
``GET /metrics``. A delivery is answered 202 only once it is committed to the store.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cdhelper import documents, sources
from cdhelper.errors import CdhelperError
from cdhelper.inbox import auth, log
from cdhelper.inbox.config import Config, SourceConfig
from cdhelper.inbox.deliveries import delivery_key
from cdhelper.inbox.metrics import Metrics
from cdhelper.inbox.store import Store
from cdhelper.inbox.worker import Worker
from cdhelper.sources.base import Context

_SHOWN_NAME = 64  # of an unknown source's name, in the log


class TooLargeError(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    body: Mapping[str, Any]
    outcome: str  # for metrics and the log
    fields: Mapping[str, Any]  # for the log


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


class Inbox:
    def __init__(
        self,
        config: Config,
        store: Store,
        worker: Worker,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.worker = worker
        self.metrics = metrics
        self.clock = clock

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        source = self.config.source(name)
        if source is None:
            log.emit("delivery", source=name[:_SHOWN_NAME], outcome="unknown_source", status=404)
            return _json(404, {"error": f"no webhook source named {name[:_SHOWN_NAME]!r}"})
        try:
            body = await read_body(request, self.config.max_body_bytes)
        except TooLargeError:
            answer = Answer(
                413,
                {"error": f"the body is larger than {self.config.max_body_bytes} bytes"},
                "too_large",
                {},
            )
        else:
            answer = await run_in_threadpool(
                self.receive, source, dict(request.headers), request.path_params.get("token"), body
            )
        self.metrics.deliveries.labels(source.name, answer.outcome).inc()
        log.emit(
            "delivery",
            source=source.name,
            outcome=answer.outcome,
            status=answer.status,
            **answer.fields,
        )
        if answer.status == 202:
            self.worker.notify()
        return _json(answer.status, answer.body)

    def receive(
        self, source: SourceConfig, headers: Mapping[str, str], token: str | None, body: bytes
    ) -> Answer:
        """Authenticate, parse, deduplicate and store one delivery (runs in a thread)."""
        received = self.clock()
        if not auth.authenticate(source, headers, token, body, received):
            return Answer(401, {"error": "unauthorized"}, "unauthorized", {})
        if source.type == "ghcr" and headers.get("x-github-event") == "ping":
            return Answer(200, {"status": "ping", "events": 0}, "ignored", {"note": "ping"})
        return self._accept(source, headers, body, received)

    def _accept(
        self, source: SourceConfig, headers: Mapping[str, str], body: bytes, received: float
    ) -> Answer:
        where = f"delivery to {source.name}"
        try:
            payload = documents.parse_json(body.decode("utf-8"), where)
            parsed = sources.parse_payload(
                payload,
                Context(where, registry_host=source.registry_host),
                sources.by_name(source.type),
            )
        except (UnicodeDecodeError, RecursionError) as exc:
            why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "nested too deeply"
            problem = f"{where}: not a JSON payload: {why}"
            self._record_invalid(source, received, problem)
            return Answer(400, {"error": problem}, "invalid", {})
        except CdhelperError as exc:
            self._record_invalid(source, received, str(exc))
            return Answer(
                400,
                {"error": exc.message, "problems": list(exc.problems)},
                "invalid",
                {"problems": len(exc.problems)},
            )
        key = delivery_key(source.name, source.type, headers, payload, parsed)
        events = parsed.events
        ignored = list(parsed.ignored)
        stored = self.store.accept(
            source.name,
            received,
            key,
            body,
            events,
            "accepted" if events else "ignored",
            "; ".join(ignored)[:1000] or None,
            self.config.max_batch_seconds,
        )
        if stored.duplicate:
            return Answer(200, {"status": "duplicate"}, "duplicate", {"key": key})
        fields = {"delivery": stored.delivery_id, "events": len(events), "batch": stored.batch_id}
        if not events:
            answer = {"delivery": stored.delivery_id, "events": 0, "ignored": ignored}
            return Answer(200, answer, "ignored", fields)
        return Answer(
            202, {"delivery": stored.delivery_id, "events": len(events)}, "accepted", fields
        )

    def _record_invalid(self, source: SourceConfig, received: float, problem: str) -> None:
        self.store.accept(
            source.name,
            received,
            None,
            None,
            (),
            "invalid",
            problem[:1000],
            self.config.max_batch_seconds,
        )

    async def smart(self, request: Request) -> Response:
        name = request.path_params["environment"]
        if not self._is_admin(request.headers.get("authorization", "")):
            log.emit("smart", outcome="unauthorized", status=401)
            return _json(401, {"error": "unauthorized"})
        env = self.config.environment(name)
        if env is None:
            return _json(404, {"error": f"no environment named {name[:_SHOWN_NAME]!r}"})
        batch = await run_in_threadpool(
            self.store.smart_batch, env.name, env.dispatch_type, self.clock(), "request"
        )
        log.emit("smart", environment=env.name, batch=batch, outcome="accepted", status=202)
        self.worker.notify()
        return _json(202, {"batch": batch, "environment": env.name})

    def _is_admin(self, authorization: str) -> bool:
        if self.config.admin_token is None:
            return False
        scheme, _, given = authorization.partition(" ")
        expected = self.config.admin_token.value.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)

    async def healthz(self, request: Request) -> Response:
        waiting, pending = await run_in_threadpool(self.store.queue_depth)
        return _json(
            200, {"status": "ok", "waiting_deliveries": waiting, "pending_dispatches": pending}
        )

    async def metrics_page(self, request: Request) -> Response:
        text = await run_in_threadpool(self.metrics.render, self.store)
        return Response(text, media_type=CONTENT_TYPE_LATEST)


def _json(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # never the path: it may carry a token
    log.emit("request", method=request.method, status=exc.status_code)
    messages = {404: "not found", 405: "method not allowed"}
    return _json(exc.status_code, {"error": messages.get(exc.status_code, exc.detail)}, exc.headers)


def create_app(inbox: Inbox) -> Starlette:
    """The ASGI app; its lifespan starts and stops the worker."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        inbox.worker.start()
        yield
        await run_in_threadpool(inbox.worker.stop)

    routes = [
        Route("/hooks/{name}", inbox.hook, methods=["POST"]),
        Route("/hooks/{name}/{token}", inbox.hook, methods=["POST"]),
        Route("/smart/{environment}", inbox.smart, methods=["POST"]),
        Route("/healthz", inbox.healthz, methods=["GET"]),
        Route("/metrics", inbox.metrics_page, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
