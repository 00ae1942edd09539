"""Large JSON documents: read the quick ways only as the strict parser reads them.

``parsers`` reads a large text with orjson first (the same tree or none); a large event
document's events are parsed from msgspec's reading while a forked child reads it strictly
and validates it (:func:`cdhelper.bulk.beside`); two processes check a large inventory
from both ends (:class:`cdhelper.bulk._Meeting`).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdhelper import bulk, parsers, sources
from cdhelper.errors import InputError

from helpers import DATA, run_fresh
from jsontexts import EVENT_DOCUMENTS, INVENTORIES, PROFILE, mutated_texts


def meet(size: int, doubt: int | None) -> tuple[list[tuple[str, int]], dict[str, bool]]:
    """Two threads checking from both ends, taking turns element by element (while both
    check): (who checked which element, in order; each one's answer)."""
    seen: list[tuple[str, int]] = []
    answers: dict[str, bool] = {}
    meeting = bulk._Meeting(size)
    turn = threading.Condition()
    state: dict[str, Any] = {"next": "upward", "done": set()}

    def vouch(index: int, validator: Any) -> Any:
        me = threading.current_thread().name
        other = "downward" if me == "upward" else "upward"
        with turn:
            turn.wait_for(lambda: state["next"] == me or other in state["done"])
            seen.append((me, index))
            state["next"] = other
            turn.notify_all()
        return bulk._DOUBT if index == doubt else index

    def check(way: str) -> None:
        try:
            answers[way] = getattr(meeting, way)(list(range(size)), None)
        finally:
            with turn:
                state["done"].add(way)
                turn.notify_all()

    runs = [threading.Thread(target=check, args=(way,), name=way) for way in ("upward", "downward")]
    with mock.patch.object(bulk, "_vouch", vouch):
        for run in runs:
            run.start()
        for run in runs:
            run.join()
    return seen, answers


@pytest.mark.parametrize("size", [1, 2, 3, 500])
def test_the_two_ends_meet_with_every_element_checked(size: int) -> None:
    seen, answers = meet(size, None)
    checked = [index for _, index in seen]
    assert answers == {"upward": True, "downward": True}
    assert set(checked) == set(range(size))
    assert len(checked) - len(set(checked)) <= 1  # at most one checked by both
    if size > 2:
        assert {way for way, _ in seen} == {"upward", "downward"}


@pytest.mark.parametrize("doubt", [0, 100, 499])
def test_a_doubt_at_either_end_stops_both(doubt: int) -> None:
    seen, answers = meet(500, doubt)
    assert False in answers.values()
    assert len({index for _, index in seen}) < 500


# A fresh interpreter again: the events of a large document are parsed from msgspec's
# reading while a forked child reads it strictly and validates it.
EVENTS_BESIDE = """
import json, os, sys
from unittest import mock
from cdhelper import bulk, sources
from cdhelper.errors import InputError

path, forks, fork = sys.argv[1], [], os.fork
def counted():
    forks.append(1)
    return fork()
bulk.WORTH_IT, os.fork = 0, counted
def outcome():
    try:
        loaded = sources.load_events([path])
    except InputError as exc:
        return str(exc)
    return [repr(e) for e in loaded.events], list(loaded.ignored)
fast = outcome()
with mock.patch.object(bulk, "_may_fork", return_value=False):
    careful = outcome()
print(json.dumps({"forks": len(forks), "same": fast == careful, "refused": isinstance(fast, str)}))
"""


@pytest.mark.parametrize("damage", ["", "repeated key", "bad digest", "huge integer", "deep"])
def test_a_large_event_document_is_parsed_beside_its_strict_reading(
    tmp_path: Path, damage: str
) -> None:
    envelopes = json.loads((DATA / "registry-notifications-push-app-v1.json").read_text())
    events = [event for envelope in envelopes for event in envelope["events"]]
    envelope: dict[str, Any] = {"events": events * 200}
    if damage == "bad digest":  # msgspec reads it; the schema and the parser refuse it
        manifest = next(e for e in events if "manifest" in e["target"].get("mediaType", ""))
        envelope["events"][-1] = copy.deepcopy(manifest)
        envelope["events"][-1]["target"]["digest"] = "sha256:nothex"
    elif damage == "huge integer":  # valid; json and msgspec read it alike
        envelope["events"][0] = {**events[0], "length": 10**25}
    elif damage == "deep":
        envelope["events"][0] = {**events[0], "x": json.loads("[" * 70 + "]" * 70)}
    text = json.dumps(envelope)
    if damage == "repeated key":  # msgspec keeps the last; the strict reading refuses it
        text = text.replace('"action": ', '"action": "pull", "action": ', 1)
    path = tmp_path / "events.json"
    path.write_text(text)
    assert run_fresh(EVENTS_BESIDE, str(path)) == {
        "forks": 1,
        "same": True,
        "refused": damage not in ("", "huge integer"),
    }


@PROFILE
@given(data=mutated_texts(EVENT_DOCUMENTS))
def test_events_read_beside_are_the_events_read_carefully(tmp_path: Path, data: bytes) -> None:
    """Every source's payloads, mutated: the same events (or the same message) either way
    (forked when no other thread runs here; EVENTS_BESIDE above always forks)."""
    path = tmp_path / "events.json"
    path.write_bytes(data)

    def outcome() -> Any:
        try:
            loaded = sources.load_events([str(path)])
        except InputError as exc:
            return str(exc)
        return loaded

    with mock.patch.object(bulk, "WORTH_IT", 0):
        fast = outcome()
    with mock.patch.object(bulk, "_may_fork", return_value=False):
        careful = outcome()
    assert fast == careful


@PROFILE
@given(data=mutated_texts(INVENTORIES + EVENT_DOCUMENTS))
def test_msgspec_reads_what_the_strict_parser_accepts_as_it_does(data: bytes) -> None:
    """What bulk.beside's callers rely on: the quick reading is the strict one's tree."""
    try:
        strict = parsers.loads_json(data.decode("utf-8"), "x")
    except (InputError, UnicodeDecodeError):
        return
    assert json.dumps(msgspec.json.decode(data)) == json.dumps(strict)  # 1 is not 1.0


@PROFILE
@given(data=mutated_texts(), hashed=st.booleans())
def test_a_large_text_is_parsed_as_the_strict_parser_parses_it(data: bytes, hashed: bool) -> None:
    """parsers.loads_json reads a large text with orjson first: the same tree or message."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return

    def outcome() -> Any:
        try:
            tree = parsers.loads_json(text, "x")
        except InputError as exc:
            return str(exc)
        return json.dumps(tree)  # also tells 1 from 1.0 and True from 1

    strict = outcome()
    large = mock.patch.object(parsers, "LARGE", 0)
    with large, mock.patch.object(parsers, "HASHED", 0 if hashed else 10**12):
        assert outcome() == strict


@PROFILE
@given(data=mutated_texts(INVENTORIES + EVENT_DOCUMENTS), hashed=st.booleans())
def test_large_bytes_are_vouched_for_only_as_the_strict_parser_reads_them(
    data: bytes, hashed: bool
) -> None:
    """parsers.loads_vouched (from the bytes, bad UTF-8 and all): the strict tree or no."""
    try:
        strict: Any = json.dumps(parsers.loads_json(data.decode("utf-8"), "x"))
    except (InputError, UnicodeDecodeError):
        strict = None
    with mock.patch.object(parsers, "HASHED", 0 if hashed else 10**12):
        try:
            vouched = json.dumps(parsers.loads_vouched(data))
        except ValueError:
            return  # no answer is always allowed: the strict path then reads it
    assert vouched == strict


def test_a_large_valid_text_is_not_parsed_twice() -> None:
    text = json.dumps({"events": [{"n": n, "tag": "v1"} for n in range(20_000)]}, indent=1)
    assert len(text) >= parsers.LARGE
    expected = json.loads(text)
    with mock.patch("json.loads", side_effect=AssertionError("strict parse")):
        assert parsers.loads_json(text, "x") == expected
    repeated = text.replace('"tag"', '"n": 1, "tag"', 1)
    with pytest.raises(InputError, match=r"\$\.events\[0\]: duplicate key 'n'"):
        parsers.loads_json(repeated, "x")


# Fresh interpreters: the forked child must end in os._exit whatever happens, and the
# parent must never wait for a child whose answer no longer matters. A child that would
# run on is made to wait forever: if the parent waited for it, the run would hang.
NO_ESCAPE = """
import os, signal, sys, time
from unittest import mock
from cdhelper import bulk

case = sys.argv[1]
def forever(*args):
    time.sleep(3600)
    return True
try:
    if case == "work raises":
        bulk.beside(forever, lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    elif case == "build raises":
        def build(index, fields, again):
            raise KeyboardInterrupt
        with mock.patch.object(bulk, "_vouch", forever):
            bulk._load_beside([b"{}"] * 10, None, build, dict, None)
    elif case == "no one listens":
        readable, writable = os.pipe()
        spare = os.dup(readable)
        os.close(readable)
        child = os.fork()
        if child == 0:
            bulk._child(spare, writable, lambda: True)
        os.close(writable)
        os.close(spare)
        print("exit", os.waitpid(child, 0)[1])
except KeyboardInterrupt:
    print("interrupted")
print("parent", os.getpid() == PARENT)
"""


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("work raises", "interrupted\nparent True\n"),
        ("build raises", "interrupted\nparent True\n"),
        ("no one listens", "exit 0\nparent True\n"),
    ],
)
def test_a_forked_child_never_runs_on_in_the_callers_code(case: str, said: str) -> None:
    """Reviewed: a child whose parent stopped listening got BrokenPipeError and ran on."""
    script = "import os\nPARENT = os.getpid()\n" + NO_ESCAPE
    ran = subprocess.run(
        [sys.executable, "-c", script, case],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (ran.returncode, ran.stdout) == (0, said), ran.stderr
