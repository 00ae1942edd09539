"""The inbox's durable state: deliveries, their events, batches and dispatch attempts (SQLite).

Every accepted delivery is committed before the inbox answers 202, so a ``kill -9`` loses
nothing that was acknowledged. The database runs in WAL mode with ``synchronous=FULL``:
each commit reaches the disk, so an acknowledged delivery also survives a power cut, not
only a crash of the process (``NORMAL`` would only survive the latter); at the inbox's rates
one fsync per delivery is cheap. A dispatch is marked ``done`` in the same transaction that
records the receiver's confirmation; an attempt cut short by a crash stays ``pending`` and
is made again after a restart (at least once, never twice once confirmed).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cdhelper.events import PushEvent
from cdhelper.inbox.records import Accepted, Batch, Dispatch
from cdhelper.reference import ImageRef
from cdhelper.values import format_time, parse_time

KEY_SECONDS = 24 * 3600  # how long a delivery id is remembered for deduplication
HISTORY_SECONDS = 7 * 24 * 3600  # finished batches, their deliveries and dispatches


_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,                 -- webhook | smart
    environment TEXT,                   -- smart batches are for one environment
    trigger TEXT NOT NULL,              -- deliveries | request | schedule
    status TEXT NOT NULL,               -- open | closed
    first_at REAL NOT NULL,             -- first delivery
    last_at REAL NOT NULL,              -- last delivery
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS batches_status ON batches(status);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,               -- the configured source's name
    received_at REAL NOT NULL,
    delivery_key TEXT,                  -- for deduplication, when the delivery has an id
    outcome TEXT NOT NULL,              -- accepted | ignored | invalid
    events INTEGER NOT NULL,
    batch_id INTEGER REFERENCES batches(id),
    detail TEXT,                        -- why ignored or invalid
    body BLOB                           -- as received (accepted and ignored deliveries)
);
CREATE INDEX IF NOT EXISTS deliveries_batch ON deliveries(batch_id);
CREATE TABLE IF NOT EXISTS delivery_keys (
    key TEXT PRIMARY KEY,
    delivery_id INTEGER NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    source TEXT NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT,
    timestamp TEXT,
    event_id TEXT,
    media_type TEXT
);
CREATE INDEX IF NOT EXISTS events_batch ON events(batch_id);
CREATE TABLE IF NOT EXISTS dispatches (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    environment TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,               -- pending | done | failed | nothing
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    last_attempt_at REAL,
    finished_at REAL,
    detail TEXT,
    plan TEXT,                          -- the plan (YAML) once made: retries send the same
    record TEXT,                        -- what the dispatcher kept (JSON): apply's report
    UNIQUE (batch_id, environment)
);
CREATE INDEX IF NOT EXISTS dispatches_status ON dispatches(status);
"""


_FORGET_BATCH = (
    "DELETE FROM events WHERE batch_id = ?",
    "DELETE FROM deliveries WHERE batch_id = ?",
    "DELETE FROM dispatches WHERE batch_id = ?",
    "DELETE FROM batches WHERE id = ?",
)


class Store:
    """The store: a SQLite connection per thread (request threads, the worker); reads never
    wait (WAL), writes take turns."""

    def __init__(self, path: str) -> None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection: in WAL mode readers never wait for the writer, so the
        worker's reads do not hold up the requests' commits (writers queue in SQLite)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._all_lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        yield self._connection()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # One writer at a time, queued here: SQLite's own busy wait sleeps in steps of
        # milliseconds, which would show in every answer's latency under load.
        with self._write_lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- deliveries --------------------------------------------------------------------

    def accept(
        self,
        source: str,
        received_at: float,
        key: str | None,
        body: bytes | None,
        events: Sequence[PushEvent],
        outcome: str,
        detail: str | None,
        max_batch_seconds: float,
    ) -> Accepted:
        """Record a delivery (and its events in the open batch); committed on return."""
        with self._transaction() as db:
            if key is not None:
                seen = db.execute(
                    "SELECT delivery_id FROM delivery_keys WHERE key = ? AND received_at > ?",
                    (key, received_at - KEY_SECONDS),
                ).fetchone()
                if seen is not None:
                    return Accepted(None, duplicate=True)
            batch_id = self._join_batch(db, received_at, max_batch_seconds) if events else None
            delivery_id = _insert(
                db,
                "INSERT INTO deliveries (source, received_at, delivery_key, outcome, events,"
                " batch_id, detail, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, received_at, key, outcome, len(events), batch_id, detail, body),
            )
            if key is not None:
                db.execute(
                    "INSERT OR REPLACE INTO delivery_keys (key, delivery_id, received_at)"
                    " VALUES (?, ?, ?)",
                    (key, delivery_id, received_at),
                )
            db.executemany(
                "INSERT INTO events (delivery_id, batch_id, source, registry, repository, tag,"
                " digest, timestamp, event_id, media_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        delivery_id,
                        batch_id,
                        e.source,
                        e.image.registry,
                        e.image.repository,
                        e.image.tag,
                        e.digest,
                        format_time(e.timestamp),
                        e.event_id,
                        e.media_type,
                    )
                    for e in events
                ],
            )
            return Accepted(delivery_id, batch_id=batch_id)

    @staticmethod
    def _join_batch(db: sqlite3.Connection, now: float, max_batch_seconds: float) -> int:
        row = db.execute(
            "SELECT id FROM batches WHERE status = 'open' AND mode = 'webhook' AND first_at > ?"
            " ORDER BY id DESC LIMIT 1",
            (now - max_batch_seconds,),
        ).fetchone()
        if row is None:
            return _insert(
                db,
                "INSERT INTO batches (mode, trigger, status, first_at, last_at)"
                " VALUES ('webhook', 'deliveries', 'open', ?, ?)",
                (now, now),
            )
        db.execute("UPDATE batches SET last_at = max(last_at, ?) WHERE id = ?", (now, row["id"]))
        return int(row["id"])

    # -- batches -------------------------------------------------------------------------

    def open_batches(self) -> list[Batch]:
        with self._reading() as db:
            rows = db.execute("SELECT * FROM batches WHERE status = 'open' ORDER BY id")
            return [Batch(**dict(r)) for r in rows]

    def close_batch(
        self, batch_id: int, environments: Sequence[tuple[str, str]], now: float
    ) -> bool:
        """Close an open batch and queue one dispatch per (environment, dispatch type)."""
        with self._transaction() as db:
            closed = db.execute(
                "UPDATE batches SET status = 'closed', closed_at = ?"
                " WHERE id = ? AND status = 'open'",
                (now, batch_id),
            ).rowcount
            if closed:
                _queue(db, batch_id, environments, now)
            return bool(closed)

    def smart_batch(self, environment: str, dispatch_type: str, now: float, trigger: str) -> int:
        """A closed smart batch for one environment, its dispatch queued."""
        with self._transaction() as db:
            batch_id = _insert(
                db,
                "INSERT INTO batches (mode, environment, trigger, status, first_at, last_at,"
                " closed_at) VALUES ('smart', ?, ?, 'closed', ?, ?, ?)",
                (environment, trigger, now, now, now),
            )
            _queue(db, batch_id, [(environment, dispatch_type)], now)
            return batch_id

    def last_smart(self, environment: str) -> float | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT max(first_at) AS at FROM batches WHERE mode = 'smart' AND environment = ?",
                (environment,),
            ).fetchone()
        return None if row["at"] is None else float(row["at"])

    def batch(self, batch_id: int) -> Batch:
        with self._reading() as db:
            row = db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return Batch(**dict(row))

    def batch_events(self, batch_id: int) -> list[PushEvent]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT * FROM events WHERE batch_id = ? ORDER BY id", (batch_id,)
            ).fetchall()
        return [
            PushEvent(
                r["source"],
                ImageRef(r["registry"], r["repository"], r["tag"]),
                r["digest"],
                parse_time(r["timestamp"]) if r["timestamp"] else None,
                r["event_id"],
                r["media_type"],
            )
            for r in rows
        ]

    def batch_payloads(self, batch_id: int) -> list[Any]:
        """The batch's payloads as received, in the order they arrived."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT body FROM deliveries WHERE batch_id = ? ORDER BY id", (batch_id,)
            ).fetchall()
        return [json.loads(r["body"]) for r in rows]

    # -- dispatches ----------------------------------------------------------------------

    def pending(self) -> list[Dispatch]:
        """Per environment, its oldest unfinished dispatch: environments dispatch in order."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT * FROM dispatches WHERE status = 'pending' ORDER BY id"
            ).fetchall()
        heads: dict[str, Dispatch] = {}
        for row in rows:
            heads.setdefault(row["environment"], Dispatch(**dict(row)))
        return list(heads.values())

    def dispatch(self, dispatch_id: int) -> Dispatch:
        with self._reading() as db:
            row = db.execute("SELECT * FROM dispatches WHERE id = ?", (dispatch_id,)).fetchone()
        return Dispatch(**dict(row))

    def save_plan(self, dispatch_id: int, plan: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE dispatches SET plan = ? WHERE id = ?", (plan, dispatch_id))

    def start_attempt(self, dispatch_id: int, now: float) -> int:
        """Count an attempt before it is made: a crash during it leaves it pending."""
        with self._transaction() as db:
            db.execute(
                "UPDATE dispatches SET attempts = attempts + 1, last_attempt_at = ? WHERE id = ?",
                (now, dispatch_id),
            )
            row = db.execute(
                "SELECT attempts FROM dispatches WHERE id = ?", (dispatch_id,)
            ).fetchone()
            return int(row["attempts"])

    def finish(
        self, dispatch_id: int, status: str, detail: str, now: float, record: Any = None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE dispatches SET status = ?, detail = ?, finished_at = ?, record = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, detail, now, None if record is None else json.dumps(record), dispatch_id),
            )

    def retry_at(self, dispatch_id: int, when: float, detail: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE dispatches SET next_attempt_at = ?, detail = ? WHERE id = ?",
                (when, detail, dispatch_id),
            )

    # -- upkeep and views ----------------------------------------------------------------

    def prune(self, now: float) -> None:
        """Forget delivery ids after a day, and finished history after a week."""
        old = now - HISTORY_SECONDS
        with self._transaction() as db:
            db.execute("DELETE FROM delivery_keys WHERE received_at <= ?", (now - KEY_SECONDS,))
            finished = (
                "SELECT id FROM batches WHERE status = 'closed' AND closed_at <= ? AND NOT EXISTS"
                " (SELECT 1 FROM dispatches d"
                " WHERE d.batch_id = batches.id AND d.status = 'pending')"
            )
            gone = [r["id"] for r in db.execute(finished, (old,))]
            for statement in _FORGET_BATCH:
                db.executemany(statement, [(i,) for i in gone])
            db.execute("DELETE FROM deliveries WHERE batch_id IS NULL AND received_at <= ?", (old,))

    def queue_depth(self) -> tuple[int, int]:
        """(deliveries waiting in open batches, dispatches not yet finished)."""
        with self._reading() as db:
            waiting = db.execute(
                "SELECT count(*) FROM deliveries d JOIN batches b ON d.batch_id = b.id"
                " WHERE b.status = 'open'"
            ).fetchone()[0]
            pending = db.execute(
                "SELECT count(*) FROM dispatches WHERE status = 'pending'"
            ).fetchone()[0]
        return int(waiting), int(pending)

    def recent(self, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
        """The latest deliveries, batches and dispatches, newest first (``inbox status``)."""
        with self._reading() as db:
            deliveries = db.execute(
                "SELECT id, source, received_at, delivery_key, outcome, events, batch_id, detail"
                " FROM deliveries ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            batches = db.execute(
                "SELECT b.*,"
                " (SELECT count(*) FROM deliveries d WHERE d.batch_id = b.id) AS deliveries,"
                " (SELECT count(*) FROM events e WHERE e.batch_id = b.id) AS events"
                " FROM batches b ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            dispatches = db.execute(
                "SELECT id, batch_id, environment, type, status, attempts, created_at,"
                " next_attempt_at, last_attempt_at, finished_at, detail"
                " FROM dispatches ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return {
            "deliveries": [dict(r) for r in deliveries],
            "batches": [dict(r) for r in batches],
            "dispatches": [dict(r) for r in dispatches],
        }


def _insert(db: sqlite3.Connection, sql: str, values: Sequence[Any]) -> int:
    rowid = db.execute(sql, values).lastrowid
    assert rowid is not None
    return rowid


def _queue(
    db: sqlite3.Connection, batch_id: int, environments: Sequence[tuple[str, str]], now: float
) -> None:
    db.executemany(
        "INSERT INTO dispatches (batch_id, environment, type, status, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, 'pending', ?, ?)",
        [(batch_id, name, kind, now, now) for name, kind in environments],
    )
