"""The store: deliveries committed with their events, dedupe for a day, batches, dispatches."""

from __future__ import annotations

from pathlib import Path

from cdhelper.inbox.store import KEY_SECONDS, Store

from helpers import digest, push

MAX_BATCH = 60.0


def open_store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "state" / "inbox.sqlite3"))


def test_accepted_events_join_one_open_batch_and_survive_a_reopen(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = store.accept(
        "reg",
        100.0,
        "k1",
        b'{"a": 1}',
        [push("127.0.0.1:5000/app:v1", digest("1"))],
        "accepted",
        None,
        MAX_BATCH,
    )
    second = store.accept(
        "reg",
        105.0,
        None,
        b'{"b": 2}',
        [push("127.0.0.1:5000/app:v1.2", digest("1"))],
        "accepted",
        None,
        MAX_BATCH,
    )
    assert first.batch_id == second.batch_id is not None
    store.close()
    store = open_store(tmp_path)
    [batch] = store.open_batches()
    assert (batch.first_at, batch.last_at, batch.mode) == (100.0, 105.0, "webhook")
    events = store.batch_events(batch.id)
    assert [e.image.tagged for e in events] == ["127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1.2"]
    assert [e.digest for e in events] == [digest("1")] * 2
    assert store.batch_payloads(batch.id) == [{"a": 1}, {"b": 2}]
    assert store.queue_depth() == (2, 0)


def test_a_delivery_id_is_a_duplicate_for_a_day(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    event = [push("127.0.0.1:5000/app:v1")]
    assert not store.accept("reg", 100.0, "k", b"{}", event, "accepted", None, MAX_BATCH).duplicate
    again = store.accept(
        "reg", 100.0 + KEY_SECONDS - 1, "k", b"{}", event, "accepted", None, MAX_BATCH
    )
    assert again.duplicate and again.delivery_id is None
    later = store.accept(
        "reg", 100.0 + KEY_SECONDS + 1, "k", b"{}", event, "accepted", None, MAX_BATCH
    )
    assert not later.duplicate
    store.prune(100.0 + 2 * KEY_SECONDS + 2)
    assert not store.accept(
        "reg", 100.0 + 2 * KEY_SECONDS + 3, "k", b"{}", event, "accepted", None, MAX_BATCH
    ).duplicate


def test_deliveries_without_events_join_no_batch(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ignored = store.accept("reg", 1.0, None, b"{}", [], "ignored", "pull: not a push", MAX_BATCH)
    assert ignored.batch_id is None and ignored.delivery_id is not None
    assert store.open_batches() == []
    recent = store.recent()
    assert recent["deliveries"][0]["detail"] == "pull: not a push"


def test_a_batch_past_its_maximum_age_takes_no_new_delivery(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    event = [push("127.0.0.1:5000/app:v1")]
    first = store.accept("reg", 0.0, None, b"{}", event, "accepted", None, MAX_BATCH)
    second = store.accept("reg", MAX_BATCH + 1, None, b"{}", event, "accepted", None, MAX_BATCH)
    assert first.batch_id != second.batch_id
    assert len(store.open_batches()) == 2


def test_closing_queues_one_dispatch_per_environment_in_order(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    event = [push("127.0.0.1:5000/app:v1")]
    one = store.accept("reg", 0.0, None, b"{}", event, "accepted", None, MAX_BATCH).batch_id
    assert one is not None
    targets = [("int", "plans"), ("prod", "apply")]
    assert store.close_batch(one, targets, 1.0)
    assert not store.close_batch(one, targets, 2.0)  # closed once only
    two = store.smart_batch("int", "plans", 3.0, "request")
    heads = store.pending()
    assert [(d.environment, d.batch_id) for d in heads] == [("int", one), ("prod", one)]
    head = heads[0]
    assert store.start_attempt(head.id, 4.0) == 1
    store.save_plan(head.id, "plan: yes")
    store.finish(head.id, "done", "wrote it", 5.0, {"file": "x"})
    store.finish(head.id, "failed", "again?", 6.0)  # a finished dispatch stays finished
    assert store.dispatch(head.id).status == "done"
    assert store.dispatch(head.id).record == '{"file": "x"}'
    assert sorted((d.environment, d.batch_id) for d in store.pending()) == [
        ("int", two),
        ("prod", one),
    ]
    assert store.last_smart("int") == 3.0 and store.last_smart("prod") is None
    store.retry_at(heads[1].id, 99.0, "503")
    assert store.dispatch(heads[1].id).next_attempt_at == 99.0
    assert store.queue_depth() == (0, 2)


def test_prune_forgets_finished_history_after_a_week(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    batch = store.accept(
        "reg", 0.0, None, b"{}", [push("127.0.0.1:5000/app:v1")], "accepted", None, MAX_BATCH
    ).batch_id
    assert batch is not None
    store.close_batch(batch, [("int", "plans")], 1.0)
    [pending] = store.pending()
    store.prune(8 * 86400.0)
    assert store.recent()["batches"]  # a batch with a pending dispatch is kept
    store.finish(pending.id, "done", "ok", 2.0)
    store.prune(8 * 86400.0)
    assert store.recent() == {"deliveries": [], "batches": [], "dispatches": []}
