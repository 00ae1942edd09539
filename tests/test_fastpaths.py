"""The fast paths decide exactly what the full ones decide, and the messages stay theirs.

Schema validation: the compiled validator (``jsonschema-rs``) passes a document exactly
when ``jsonschema`` finds no problem, on every schema it stands in for, on the real
payloads of every source, inventories and plans, valid and mutated; and
:func:`documents.schema_errors` answers the same with and without it. YAML:
:func:`cdhelper.yamlfile.dump` writes the bytes PyYAML writes (:mod:`cdhelper.yamlemit`
or PyYAML itself), and libyaml reads what PyYAML reads where :mod:`cdhelper.yamlfile`
lets it. Large inventories and documents: ``tests/test_bulk.py``.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdhelper import documents, fastschema, parsers, plan, sources, yamlemit, yamlfile
from cdhelper.backends import load_inventory
from cdhelper.errors import InputError
from cdhelper.sources.base import Context

from helpers import DATA
from jsontexts import a_place

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted(p.name.removesuffix(".schema.json") for p in (ROOT / "schemas").glob("*.json"))
PROFILE = settings(
    max_examples=10_000 if os.environ.get("CDHELPER_FUZZ") else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _documents() -> list[tuple[str, Any]]:
    """(schema, valid document): every source's payloads, inventories, a snapshot, a plan."""
    found: list[tuple[str, Any]] = []
    payloads = [*(DATA / "sources").glob("*/*.json"), *DATA.glob("*push*.json")]
    for path in sorted(payloads):
        data = json.loads(path.read_text())
        for payload in data if isinstance(data, list) else [data]:
            found.append((sources.detect(payload, Context(str(path))).schema, payload))
    for path in sorted([*DATA.glob("*services.json"), *(DATA / "sources").glob("*/inventories/*")]):
        data = json.loads(path.read_text())
        kind = "docker-services" if "ID" in data[0] else "swarmpit-services"
        found.append((kind, data))
    inventory = load_inventory(str(DATA / "swarmpit-services.json"))
    found.append(("inventory", inventory.to_snapshot(datetime(2026, 11, 27, tzinfo=UTC))))
    found.append(("plan", yamlfile.loads(_plan_text(), "plan")))
    return found


def _plan_text() -> str:
    from cdhelper import jobs
    from cdhelper.backends import Source

    pushes = sources.load_events([str(DATA / "dockerhub-push-int.json")]).events
    request = jobs.PlanRequest(
        mode=plan.Mode.WEBHOOK,
        source=Source(inventory_file=str(DATA / "swarmpit-services.json")),
        pushes=pushes,
    )
    made = jobs.make_plan(request, datetime(2026, 11, 27, tzinfo=UTC)).plan
    assert made.actions, "the fixture plan must have an action to mutate"
    return plan.dumps(made)


DOCUMENTS = _documents()
_PLAN: str = _plan_text()
ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.0, 1.5, 2**70, -(2**70), "", "x", "v1\n", "a\x1c", "a\u2028",
    "a\x7f", "\u00e9", "sha256:" + "a" * 64, "sha256:" + "a" * 64 + "\n", "A" * 300, [], {},
    [{}], {"name": None},
]  # fmt: skip


@contextmanager
def full_path_only() -> Iterator[None]:
    with mock.patch.object(documents, "_compiled_validator", lambda name: None):
        yield


def full_errors(instance: Any, schema: str) -> list[str]:
    with full_path_only():
        return documents.schema_errors(instance, schema)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    """A valid document with a few parts deleted, retyped or replaced by odd values."""
    schema, original = draw(st.sampled_from(DOCUMENTS))
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(0, 3))):
        place = a_place(draw, document)
        if place is None:
            break
        parent, key = place
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            odd = draw(st.sampled_from(ODD_VALUES) | st.text(max_size=8))
            parent[key] = copy.deepcopy(odd)  # never the shared list itself
    return schema, document


def test_every_large_input_schema_has_a_compiled_validator() -> None:
    for name in SCHEMAS:
        compiled = documents._compiled_validator(name)
        # config's patterns use \s, which Python and ECMA 262 read differently
        assert (compiled is None) == (name == "config"), name


def test_the_fixtures_are_valid_on_both_paths() -> None:
    for schema, document in DOCUMENTS:
        assert full_errors(document, schema) == [], schema
        assert fastschema.passes(documents._compiled_validator(schema), document), schema


@PROFILE
@given(case=mutated())
def test_both_paths_decide_alike_and_report_the_same(case: tuple[str, Any]) -> None:
    schema, document = case
    expected = full_errors(document, schema)
    compiled = documents._compiled_validator(schema)
    assert fastschema.passes(compiled, document) == (expected == [])
    assert documents.schema_errors(document, schema) == expected


@PROFILE
@given(case=mutated())
def test_loading_gives_the_same_result_or_message_on_both_paths(case: tuple[str, Any]) -> None:
    """Through the loaders that build records: the same events, services or plan, or error."""
    schema, document = case

    def load() -> Any:
        try:
            if schema == "plan":
                return plan.loads(yamlfile.dump(document), "x")
            if schema.endswith("services") or schema == "inventory":
                from cdhelper.backends import parse_inventory

                return parse_inventory(document, "x")
            return sources.parse_document(document, Context("x"))
        except InputError as exc:
            return str(exc)

    fast = load()
    with full_path_only():
        assert load() == fast


@pytest.mark.parametrize(
    ("pattern", "shared"),
    [
        ("^[a-z0-9]+$", True),
        ("^[^\\u0000-\\u001f\\u007f]+$", True),
        ("^sha256:[0-9a-f]{64}$", True),
        ("^(?:[A-Za-z][A-Za-z0-9+.-]*://)?x$", True),
        ("^a\\.b\\$$", True),
        ("^[^/\\s]+$", False),
        ("^\\d+$", False),
        ("^\\w+$", False),
        ("^a.b$", False),
        ("^a$|^b$", False),
        ("^(?=a)a$", False),
        ("^(?i)a$", False),
        ("^a\\$", True),
        ("^[]a]$", False),
        ("^[[:alpha:]]$", False),
        ("^[a-z", False),
    ],
    ids=str,
)
def test_the_shared_regex_dialect(pattern: str, shared: bool) -> None:
    assert fastschema.pattern_is_shared(pattern) is shared


def _schema_patterns() -> list[str]:
    found: set[str] = set()
    for name in SCHEMAS:
        schema = documents.load_schema(name)
        if fastschema.shared_dialect(schema):
            found.update(p for p, _ in fastschema._patterns(schema))
    return sorted(found)


ODD_TEXT = st.text(
    st.sampled_from(list("aZ09_.-:/@[]\n\r\t \x00\x1c\x1f\x7f\x85\u00e9\u2028\ufeff")), max_size=12
)


@PROFILE
@given(pattern=st.sampled_from(_schema_patterns()), text=ODD_TEXT)
def test_every_schema_pattern_matches_alike(pattern: str, text: str) -> None:
    schema = {"type": "string", "pattern": pattern}
    compiled = fastschema.compile_schema(schema)
    assert compiled is not None
    python = documents._compiled(pattern).search(text) is not None
    assert compiled.is_valid(text) is python


def test_without_jsonschema_rs_the_full_path_answers() -> None:
    with mock.patch.dict("sys.modules", {"jsonschema_rs": None}):
        assert fastschema.compile_schema({"type": "string"}) is None
    assert fastschema.passes(None, "anything") is False
    not_json = fastschema.compile_schema({"type": "string"})
    assert fastschema.passes(not_json, object()) is False  # the full path says what it is


# YAML: the C emitter and parser, where yamlfile lets them, agree with PyYAML.

ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
TRICKY = st.sampled_from(
    ["yes", "no", "on", "~", "null", "1e3", "0x1f", "2026-11-27T03:51:11Z", "- a", ": b", "#c",
     "a #b", "'q'", '"d"', "|", ">", "!t", "%x", "@y", "`z", "...", "---", " lead", "trail ",
     "1_000", ".5", "+1", ".inf", ".NaN", "a: b", "[x]", "{y}", "a,b", "?"]
)  # fmt: skip
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ASCII | TRICKY
KEYS = st.from_regex(r"\A[a-z_]{1,20}\Z") | ASCII.filter(bool)
NESTED = SCALARS | st.lists(SCALARS, max_size=4) | st.dictionaries(KEYS, SCALARS, max_size=4)
VALUES = SCALARS | st.lists(NESTED, max_size=4) | st.dictionaries(KEYS, NESTED, max_size=4)
TREES = st.dictionaries(KEYS, VALUES, max_size=6)
PY_DUMP = yamlfile.STYLE


@PROFILE
@given(data=TREES | st.builds(lambda: yamlfile.loads(_PLAN, "plan")))
def test_dump_writes_the_bytes_pyyaml_writes(data: dict[str, Any]) -> None:
    assert yamlfile.dump(data) == yaml.dump(data, Dumper=yaml.SafeDumper, **PY_DUMP)


def test_text_yamlemit_leaves_is_written_by_pyyaml() -> None:
    for data in ({"a": "\U0001f600"}, {"a": "x\x85y"}, {"": 1}, {"a": "tab\there"}):
        assert yamlemit.dump(data) is None
        assert yamlfile.dump(data) == yaml.dump(data, Dumper=yaml.SafeDumper, **PY_DUMP)


def _strict_python(text: str) -> Any:
    try:
        return ("ok", yaml.load(text, Loader=yamlfile.StrictLoader))
    except (yaml.YAMLError, RecursionError) as exc:
        return ("error", type(exc).__name__)


def _fast(text: str) -> Any:
    try:
        return ("ok", yamlfile._load(text))
    except (yaml.YAMLError, RecursionError) as exc:
        return ("error", type(exc).__name__)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """Dumped trees and the plan, with a few characters inserted, replaced or deleted."""
    text = draw(st.just(_PLAN) | TREES.map(lambda d: yaml.safe_dump(d, sort_keys=False)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(0, 4))):
        at = rng.randrange(len(text) + 1)
        piece = draw(st.sampled_from([*list(" -:?,'\"#\n\t[]{}!|>%@`&*\\0aZ"), "  ", "<<: "]))
        cut = draw(st.integers(0, 2))
        text = text[:at] + piece + text[at + cut :]
    return text


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
@PROFILE
@given(text=yaml_texts())
def test_libyaml_reads_what_pyyaml_reads(text: str) -> None:
    assert _fast(text) == _strict_python(text)


def test_the_plan_loads_through_libyaml() -> None:
    assert yamlfile._fast_ok(_PLAN) is yaml.__with_libyaml__
    assert yamlemit.dump(yamlfile.loads(_PLAN, "x")) == _PLAN
    assert plan.loads(_PLAN, "x") == plan.loads(_PLAN.replace("\n", "\n# a comment\n", 1), "x")


# JSON: what the parse rules out is not walked again; the result and message stay the same.

FRAGMENTS = st.sampled_from(
    ['"\\ud800"', '"\\udc00"', '"\\ud83d\\ude00"', "NaN", "-Infinity", "1e999", "9" * 4301,
     '{"a": 1, "a": 2}', "[" * 70 + "]" * 70, '{"k": ' * 66 + "1" + "}" * 66, '"\\u0041"',
     '"\u00e9"', "1.5", "[]", "{}", "null"]
)  # fmt: skip


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """A fixture's text with a value replaced by a hostile fragment, or random JSON."""
    _, document = draw(st.sampled_from(DOCUMENTS))
    text = json.dumps(document)
    for _ in range(draw(st.integers(0, 2))):
        values = [
            m.start() for m in re.finditer(r'(?<=: )(?:"[^"\\]*"|-?\d+|null|true|false)', text)
        ]
        if not values:
            break
        at = draw(st.sampled_from(values))
        end = re.compile(r'"[^"\\]*"|-?\d+|null|true|false').match(text, at)
        assert end is not None
        text = text[:at] + draw(FRAGMENTS) + text[end.end() :]
    return text


def _loaded(text: str) -> Any:
    try:
        return ("ok", parsers.loads_json(text, "x"))
    except InputError as exc:
        return ("error", str(exc))


@PROFILE
@given(text=json_texts() | st.lists(FRAGMENTS, max_size=3).map(lambda f: f"[{', '.join(f)}]"))
def test_json_gives_the_same_tree_or_message_without_the_full_walk(text: str) -> None:
    fast = _loaded(text)
    with mock.patch.object(parsers, "shallow", lambda data: False):
        full = _loaded(text)
    assert repr(fast) == repr(full)  # repr: the marks of a refused tree compare by identity
