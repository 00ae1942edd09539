"""Real JSON documents, mutated: the inputs of the property tests of the quick JSON paths.

Inventories and every source's payloads, with values deleted, replaced by odd values or by
raw text that orjson, msgspec and ``json`` read differently (or not at all), written in the
styles the servers write, their bytes sometimes damaged.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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


def a_place(draw: st.DrawFn, document: Any) -> tuple[Any, Any] | None:
    """A place in ``document``, drawn: (its container, its key or index); None if none."""
    where = paths(document)
    if not where:
        return None
    path = draw(st.sampled_from(where))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    return parent, path[-1]


@st.composite
def mutated_texts(draw: st.DrawFn, documents: list[Any] = INVENTORIES) -> bytes:
    """A real document (an inventory by default), a few values changed or replaced by raw
    text, written in one of the styles, its bytes perhaps damaged."""
    document = copy.deepcopy(draw(st.sampled_from(documents)))
    raws: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        place = a_place(draw, document)
        if place is None:
            break
        parent, key = place
        choice = draw(st.integers(0, 2))
        if choice == 0 and isinstance(parent, dict):
            del parent[key]
        elif choice == 1:
            parent[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        else:
            parent[key] = PLACEHOLDER.format(len(raws))
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
