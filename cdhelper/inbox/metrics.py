"""The inbox's Prometheus metrics (``GET /metrics``), in a registry of its own."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)

from cdhelper.inbox.store import Store


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: noise here
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "cdhelper_deliveries",
            "Webhook deliveries by configured source and outcome (accepted, ignored, duplicate, "
            "invalid, unauthorized, too_large).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.dispatches = Counter(
            "cdhelper_dispatches",
            "Dispatch attempts by environment, dispatch type and outcome (done, nothing, retry, "
            "failed).",
            ["environment", "type", "outcome"],
            registry=self.registry,
        )
        self.queue = Gauge(
            "cdhelper_queue_depth",
            "Work waiting: deliveries in open batches, dispatches not yet finished.",
            ["queue"],
            registry=self.registry,
        )

    def render(self, store: Store) -> bytes:
        waiting, pending = store.queue_depth()
        self.queue.labels("deliveries").set(waiting)
        self.queue.labels("dispatches").set(pending)
        return generate_latest(self.registry)
