"""Inventories read element by element (:mod:`cdhelper.bulk`) give what the whole read gives.

The same services (fingerprints included) or the same message, on real inventories written
compact or pretty, with odd values, and with text the fast parser reads differently from
``json`` (repeated keys, ``NaN``, huge integers, lone surrogates, escapes, deep nesting,
a byte order mark, bad UTF-8). Count-based checks show which path ran.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdhelper import bulk, documents, parsers, sources
from cdhelper.backends import load_inventory, parse_inventory
from cdhelper.errors import InputError

from helpers import DATA, paths

PROFILE = settings(
    max_examples=10_000 if os.environ.get("CDHELPER_FUZZ") else 200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
INVENTORIES = [
    json.loads(path.read_text())
    for path in sorted([*DATA.glob("*services.json"), *(DATA / "sources").glob("*/inventories/*")])
]
# Every source's payloads, one at a time and as the arrays of payloads files may hold.
PAYLOADS = [
    json.loads(path.read_text())
    for path in sorted([*DATA.glob("*push*.json"), *(DATA / "sources").glob("*/*.json")])
]
EVENT_DOCUMENTS = [*PAYLOADS, PAYLOADS[:3], PAYLOADS[-2:]]
STYLES: list[dict[str, Any]] = [
    {"separators": (",", ":")},  # what Swarmpit and the Engine answer
    {},
    {"indent": 2},
    {"indent": 2, "ensure_ascii": False},
]
# Text put where a value was: what orjson and json read differently, or not at all.
RAW_VALUES = [
    "NaN", "-Infinity", "1e999", "1.0E2", "1e2", "-0", "-0.0", "0.1e1", "12345678901234567890123",
    "18446744073709551616", "9" * 5000, '"\\ud800"', '"x\\udc00"', '"\\ud83d\\ude00"', '"\\u0041b"',
    '"\\/"', '"\\u00e9"', '"\\u003c&\\u003e"', '{"a": 1, "a": 2}', '{"a": {"b": 1, "b": 1}}',
    "[" * 70 + "]" * 70, "[" * 62 + "]" * 62, "[" * 61 + "]" * 61, '"\u2028"', '"\\u2028"',
]  # fmt: skip
ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, 2**70, "", "v1\n", "\u00e9", [], {}, [{}]]
PLACEHOLDER = "\x00raw{}\x00"


@pytest.fixture(autouse=True, params=["here", "beside"])
def every_size_element_by_element(request: pytest.FixtureRequest) -> Iterator[None]:
    """The fixtures are small: read them element by element as a large file is read,
    checked in this process, and (``beside``) by a forked child while this one builds
    (when no other thread runs here: see test_a_child_checks_beside_the_builder)."""
    beside = 0 if request.param == "beside" else 10**9
    with mock.patch.object(bulk, "WORTH_IT", 0), mock.patch.object(bulk, "BESIDE", beside):
        yield


def both(tmp_path: Path, data: bytes) -> tuple[Any, Any]:
    """(read element by element, read whole): an Inventory or the message, each."""
    path = tmp_path / "inventory.json"
    path.write_bytes(data)
    where = str(path)

    def outcome(read: Any) -> Any:
        try:
            return read()
        except InputError as exc:
            return str(exc)

    def whole() -> Any:
        return parse_inventory(documents.parse_json(documents.decode(data, where), where), where)

    return outcome(lambda: load_inventory(where)), outcome(whole)


@st.composite
def inventory_texts(draw: st.DrawFn, documents: list[Any] = INVENTORIES) -> bytes:
    """A real inventory (or other document), a few values changed or replaced by raw text,
    in one of the styles."""
    document = copy.deepcopy(draw(st.sampled_from(documents)))
    raws: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        where = paths(document)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        choice = draw(st.integers(0, 2))
        if choice == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif choice == 1:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        else:
            parent[path[-1]] = PLACEHOLDER.format(len(raws))
            raws.append(draw(st.sampled_from(RAW_VALUES)))
    text = json.dumps(document, **draw(st.sampled_from(STYLES)))
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(PLACEHOLDER.format(index)), raw)
    data = text.encode("utf-8", "surrogatepass")
    edit = draw(st.sampled_from(["", "bom", "bad-utf8", "cut", "trailing"]))
    if edit == "bom":
        data = b"\xef\xbb\xbf" + data
    elif edit == "bad-utf8":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + b"\xff" + data[at:]
    elif edit == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif edit == "trailing":
        data += b" ,"
    return data


@PROFILE
@given(data=inventory_texts())
def test_element_by_element_reads_what_the_whole_read_reads(tmp_path: Path, data: bytes) -> None:
    fast, whole = both(tmp_path, data)
    assert fast == whole
    if not isinstance(fast, str):
        # the fingerprints too (hashed on demand, from the element's text on the fast path)
        assert [s.fingerprint for s in fast.services] == [s.fingerprint for s in whole.services]


@pytest.mark.parametrize("style", STYLES, ids=str)
@pytest.mark.parametrize("document", INVENTORIES, ids=lambda d: f"{len(d)} services")
def test_a_valid_inventory_is_read_without_the_whole_document_parser(
    tmp_path: Path, document: list[Any], style: dict[str, Any]
) -> None:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(document, **style))
    expected = parse_inventory(document, str(path))
    with mock.patch.object(parsers, "loads_json", side_effect=AssertionError("whole parse")):
        assert load_inventory(str(path)) == expected


def test_an_element_written_differently_is_parsed_strictly_alone(tmp_path: Path) -> None:
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    text = json.dumps(document, ensure_ascii=True).replace(
        '"serviceName": "', '"serviceName": "\\u0041', 1
    )
    path = tmp_path / "inventory.json"
    path.write_text(text)
    calls = mock.Mock(side_effect=parsers.loads_json)
    with mock.patch.object(parsers, "loads_json", calls), mock.patch.object(bulk, "BESIDE", 10**9):
        inventory = load_inventory(str(path))
    assert calls.call_count == 1  # that element alone: the others were vouched for
    assert inventory.services[0].name.startswith("A")
    assert inventory == parse_inventory(json.loads(text), str(path))


def test_a_repeated_key_is_never_read_past(tmp_path: Path) -> None:
    """orjson keeps the last of repeated keys; here the whole read says what is wrong."""
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    text = json.dumps(document, separators=(",", ":")).replace(
        '"version":', '"version":1,"version":', 1
    )
    path = tmp_path / "inventory.json"
    path.write_text(text)
    items = bulk.elements(path.read_bytes())
    assert items is not None
    assert bulk.load(items, "swarmpit-services", lambda index, tree, again: tree) is None
    with pytest.raises(InputError, match=r"\$\[0\]: duplicate key 'version'"):
        load_inventory(str(path))


@pytest.mark.parametrize(
    ("levels", "accepted"), [(61, True), (62, True), (63, False), (200, False)]
)
def test_depth_is_bounded_as_the_whole_read_bounds_it(
    tmp_path: Path, levels: int, accepted: bool
) -> None:
    """An element nested ``levels`` deep inside the array: the document is one deeper."""
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    document[0]["extra"] = json.loads("[" * levels + "]" * levels) if levels < 100 else None
    text = json.dumps(document)
    if levels >= 100:
        text = text.replace('"extra": null', '"extra": ' + "[" * levels + "]" * levels)
    fast, whole = both(tmp_path, text.encode())
    assert fast == whole
    assert isinstance(fast, str) is not accepted
    if not accepted:
        assert "nested deeper than 64 levels" in fast


def test_a_schema_that_constrains_the_array_itself_is_read_whole() -> None:
    with mock.patch.object(documents, "load_schema", return_value={"type": "array", "minItems": 1}):
        bulk._item_validator.cache_clear()
        try:
            assert bulk._item_validator("swarmpit-services") is None
        finally:
            bulk._item_validator.cache_clear()


def test_only_a_large_file_is_read_element_by_element(tmp_path: Path) -> None:
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_text(json.dumps(document))
    large.write_text(json.dumps(document * (2 * 1024 * 1024 // len(json.dumps(document)))))
    with mock.patch.object(bulk, "WORTH_IT", 1024 * 1024):
        split = mock.Mock(side_effect=bulk.elements)
        with mock.patch.object(bulk, "elements", split):
            load_inventory(str(small))
            assert split.call_count == 0
            assert len(load_inventory(str(large)).services) > len(document)
            assert split.call_count == 1


# Run in a fresh interpreter: a test process may hold other threads (servers of other
# tests), and then cdhelper rightly does not fork.
BESIDE_CHECK = """
import json, os, sys
from cdhelper import bulk, documents
from cdhelper.backends import load_inventory, parse_inventory
from cdhelper.errors import InputError

path, forks, fork = sys.argv[1], [], os.fork
def counted():
    forks.append(1)
    return fork()
bulk.BESIDE, bulk.WORTH_IT, os.fork = 10, 0, counted
def outcome(read):
    try:
        return read()
    except InputError as exc:
        return str(exc)
fast = outcome(lambda: load_inventory(path))
text = documents.decode(documents.read_bytes(path), path)
whole = outcome(lambda: parse_inventory(documents.parse_json(text, path), path))
same = fast == whole and (
    isinstance(fast, str)
    or [s.fingerprint for s in fast.services] == [s.fingerprint for s in whole.services]
)
print(json.dumps({"forks": len(forks), "same": same, "refused": isinstance(fast, str)}))
"""


@pytest.mark.parametrize(
    "damage", ["", "repeated key", "repeated key at the end", "bad type", "huge integer"]
)
def test_a_child_checks_beside_the_builder(tmp_path: Path, damage: str) -> None:
    """Large files: a forked child checks from the first element while the command builds,
    then checks from the last one; both must agree."""
    document = json.loads((DATA / "swarmpit-services.json").read_text()) * 50
    if damage == "bad type":  # the builder's decode refuses it (and so does the schema)
        document[-1] = {**document[-1], "version": {"x": 1}}
    elif damage == "huge integer":  # valid; orjson would read it as a float
        document[0] = {**document[0], "replicas": 10**25}
    text = json.dumps(document, separators=(",", ":"))
    if damage == "repeated key":  # the child's first: its "no" alone sends the whole path
        text = text.replace('"version":', '"version":1,"version":', 1)
    elif damage == "repeated key at the end":  # whoever of the two checks it says no
        at = text.rindex('"version":')
        text = text[:at] + '"version":1,' + text[at:]
    path = tmp_path / "inventory.json"
    path.write_text(text)
    ran = subprocess.run(
        [sys.executable, "-c", BESIDE_CHECK, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ran.stdout) == {
        "forks": 1,
        "same": True,
        "refused": damage not in {"", "huge integer"},
    }


def meet(size: int, doubt: int | None) -> tuple[list[tuple[str, int]], dict[str, bool]]:
    """Two threads checking from both ends, yielding to each other at every element:
    (who checked which element, in order; each one's answer)."""
    seen: list[tuple[str, int]] = []
    answers: dict[str, bool] = {}
    meeting = bulk._Meeting(size)

    def vouch(index: int, validator: Any) -> Any:
        seen.append((threading.current_thread().name, index))
        time.sleep(0)  # the other thread's turn
        return bulk._DOUBT if index == doubt else index

    def check(way: str) -> None:
        answers[way] = getattr(meeting, way)(list(range(size)), None)

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
    ran = subprocess.run(
        [sys.executable, "-c", EVENTS_BESIDE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ran.stdout) == {
        "forks": 1,
        "same": True,
        "refused": damage not in ("", "huge integer"),
    }


@PROFILE
@given(data=inventory_texts(EVENT_DOCUMENTS))
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
@given(data=inventory_texts(INVENTORIES + EVENT_DOCUMENTS))
def test_msgspec_reads_what_the_strict_parser_accepts_as_it_does(data: bytes) -> None:
    """What bulk.beside's callers rely on: the quick reading is the strict one's tree."""
    try:
        strict = parsers.loads_json(data.decode("utf-8"), "x")
    except (InputError, UnicodeDecodeError):
        return
    assert json.dumps(msgspec.json.decode(data)) == json.dumps(strict)  # 1 is not 1.0


@PROFILE
@given(data=inventory_texts(), hashed=st.booleans())
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


def test_a_large_valid_text_is_not_parsed_twice() -> None:
    text = json.dumps({"events": [{"n": n, "tag": "v1"} for n in range(20_000)]}, indent=1)
    assert len(text) >= parsers.LARGE
    expected = json.loads(text)
    with mock.patch("json.loads", side_effect=AssertionError("strict parse")):
        assert parsers.loads_json(text, "x") == expected
    repeated = text.replace('"tag"', '"n": 1, "tag"', 1)
    with pytest.raises(InputError, match=r"\$\.events\[0\]: duplicate key 'n'"):
        parsers.loads_json(repeated, "x")
