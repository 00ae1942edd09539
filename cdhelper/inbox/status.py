"""``cdhelper inbox status``: recent deliveries, batches and dispatch outcomes, from the store."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from cdhelper import documents
from cdhelper.errors import InputError
from cdhelper.inbox.config import Config
from cdhelper.inbox.store import Store
from cdhelper.values import format_time

_TIMES = (
    "received_at",
    "first_at",
    "last_at",
    "closed_at",
    "created_at",
    "next_attempt_at",
    "last_attempt_at",
    "finished_at",
)


def read(config: Config, limit: int) -> dict[str, list[dict[str, Any]]]:
    if not os.path.exists(config.database):
        raise InputError(f"{config.database}: no inbox store yet (has `cdhelper serve` run?)")
    store = Store(config.database)
    try:
        recent = store.recent(limit)
    finally:
        store.close()
    for rows in recent.values():
        for row in rows:
            for key in _TIMES:
                if row.get(key) is not None:
                    row[key] = format_time(datetime.fromtimestamp(row[key], UTC))
    return recent


def render(recent: dict[str, list[dict[str, Any]]], fmt: str) -> str:
    if fmt == "json":
        return documents.dump_json(recent)
    lines = ["deliveries (newest first):"]
    for d in recent["deliveries"]:
        batch = f" batch {d['batch_id']}" if d["batch_id"] else ""
        why = f"  ({_one_line(d['detail'])})" if d["detail"] else ""
        lines.append(
            f"  #{d['id']} {d['received_at']} {d['source']}: {d['outcome']}, "
            f"{d['events']} event(s){batch}{why}"
        )
    lines.append("batches:")
    for b in recent["batches"]:
        scope = f" for {b['environment']}" if b["environment"] else ""
        lines.append(
            f"  #{b['id']} {b['mode']}{scope} ({b['trigger']}): {b['status']}, "
            f"{b['deliveries']} delivery(ies), {b['events']} event(s), first {b['first_at']}"
            + (f", closed {b['closed_at']}" if b["closed_at"] else "")
        )
    lines.append("dispatches:")
    for d in recent["dispatches"]:
        lines.append(
            f"  #{d['id']} batch {d['batch_id']} -> {d['environment']} ({d['type']}): "
            f"{d['status']} after {d['attempts']} attempt(s): {_one_line(d['detail'] or '-')}"
        )
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
