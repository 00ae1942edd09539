"""The store's records: what a delivery's acceptance, a batch and a dispatch look like."""

from __future__ import annotations

from dataclasses import dataclass

# a dispatch's status
PENDING, DONE, FAILED, NOTHING = "pending", "done", "failed", "nothing"
# a batch's status
OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class Accepted:
    delivery_id: int | None  # None for a duplicate
    duplicate: bool = False
    batch_id: int | None = None


@dataclass(frozen=True)
class Batch:
    id: int
    mode: str
    environment: str | None
    trigger: str
    status: str
    first_at: float
    last_at: float
    closed_at: float | None


@dataclass(frozen=True)
class Dispatch:
    id: int
    batch_id: int
    environment: str
    type: str
    status: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_attempt_at: float | None
    finished_at: float | None
    detail: str | None
    plan: str | None
    record: str | None
