from __future__ import annotations

import time
from typing import Any

import pytest

from cdhelper import parsers
from cdhelper.errors import InputError

DEEP = 100_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "x.json: not valid JSON: $.a: NaN is not JSON"),
        ('{"a": [Infinity]}', "x.json: not valid JSON: $.a[0]: Infinity is not JSON"),
        ('{"a": -Infinity}', "x.json: not valid JSON: $.a: -Infinity is not JSON"),
        ('{"a": 1e999}', "x.json: not valid JSON: $.a: number '1e999' is out of range"),
        (
            '{"a": ' + "9" * 5000 + "}",
            "x.json: not valid JSON: $.a: integer with 5000 digits (at most 4300)",
        ),
        (
            '{"a": {"tag": "v1", "tag": "v2"}}',
            "x.json: not valid JSON: $.a: duplicate key 'tag': which one counts would be a guess",
        ),
        (
            '{"a": ["\\ud800"]}',
            "x.json: not valid JSON: $.a[0]: holds a lone surrogate (such as \\ud800), "
            "which is not a Unicode character",
        ),
        (
            '{"\\udfff": 1}',
            "x.json: not valid JSON: $: a key holds a lone surrogate (such as \\ud800), "
            "which is not a Unicode character",
        ),
        ("[" * DEEP + "]" * DEEP, "x.json: not valid JSON: nested deeper than 64 levels"),
        (
            '{"a": ' * DEEP + "1" + "}" * DEEP,
            "x.json: not valid JSON: nested deeper than 64 levels",
        ),
        ("[" * 70 + "]" * 70, "x.json: not valid JSON: $" + "[0]" * 64 + ": nested deeper"),
        ("[1, 2", "x.json: not valid JSON: Expecting ',' delimiter at line 1, column 6"),
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "float-overflow",
        "huge-int",
        "duplicate-key",
        "lone-surrogate",
        "surrogate-key",
        "deep-arrays",
        "deep-objects",
        "deeper-than-limit",
        "syntax",
    ],
)
def test_json_refusals(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parsers.loads_json(text, "x.json")
    assert str(info.value).startswith(message)


def test_json_values_that_pass() -> None:
    text = '{"a": [1, -2.5, 1e300, "é\\u00e9", null, true], "b": {"c": "' + "9" * 4300 + '"}}'
    assert parsers.loads_json(text, "x")["a"] == [1, -2.5, 1e300, "éé", None, True]
    assert parsers.loads_json("[" * 64 + "]" * 64, "x") is not None
    assert parsers.loads_json("1" * 4300, "x") == int("1" * 4300)


def test_many_problems_are_bounded() -> None:
    text = "[" + ",".join(["NaN"] * 100_000) + "]"
    with pytest.raises(InputError) as info:
        parsers.loads_json(text, "x.json")
    problems = info.value.problems
    assert len(problems) == 21
    assert problems[0] == "$[0]: NaN is not JSON"
    assert problems[-1] == "and at least 980 more"


def test_bounded_counts_exactly_below_the_cap() -> None:
    assert parsers.bounded(range(25), str) == [*map(str, range(20)), "and 5 more"]
    assert parsers.bounded(range(3), str, order=lambda i: -i) == ["2", "1", "0"]


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            LAUGHS,
            "p.yaml: refused: YAML anchors and aliases (&name, *name) are not allowed in a plan "
            "at line 1, column 4",
        ),
        ("a: &x 1\n", "p.yaml: refused: YAML anchors and aliases"),
        ("a: 1\nb: 2\na: 3\n", "p.yaml: refused: duplicate key 'a' at line 3, column 1"),
        ("a: {x: 1, x: 1}\n", "p.yaml: refused: duplicate key 'x' at line 1, column 11"),
        ("b:\n  <<: {y: 2}\n", "p.yaml: refused: YAML merge keys (<<) are not allowed"),
        ("a: .nan\n", "p.yaml: refused: '.nan' is not a JSON number at line 1, column 4"),
        ("a: -.inf\n", "p.yaml: refused: '-.inf' is not a JSON number"),
        ("a: " + "9" * 5000, "p.yaml: refused: integer with more than 4300 digits"),
        ("a: !!binary aGk=\n", "p.yaml: refused: the YAML tag !!binary builds no JSON value"),
        ("a: !!set {x}\n", "p.yaml: refused: the YAML tag !!set builds no JSON value"),
        ('a: "\\ud800"\n', "p.yaml: not valid YAML: $.a: holds a lone surrogate"),
        ("1: a\n", "p.yaml: not valid YAML: $: key 1 is not a string"),
        ("- " * DEEP + "x\n", "p.yaml: not valid YAML: nested deeper than 64 levels"),
        ("[" * DEEP, "p.yaml: not valid YAML: nested deeper than 64 levels"),
        ("a: b\x07\n", "p.yaml: not valid YAML: character #x0007 at offset 4 is not allowed"),
        ("a: [b\n", "p.yaml: not valid YAML: "),
        ("a: !foo x\n", "p.yaml: not valid YAML: could not determine a constructor"),
    ],
    ids=[
        "billion-laughs",
        "anchor",
        "duplicate-key",
        "duplicate-flow-key",
        "merge-key",
        "nan",
        "infinity",
        "huge-int",
        "binary",
        "set",
        "lone-surrogate",
        "int-key",
        "deep-block",
        "deep-flow",
        "control-character",
        "syntax",
        "unknown-tag",
    ],
)
def test_yaml_refusals(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        parsers.loads_yaml(text, "p.yaml")
    assert str(info.value).startswith(message)
    assert time.monotonic() - started < 2


def test_yaml_timestamps_stay_strings() -> None:
    data: Any = parsers.loads_yaml("a: 2026-01-01T00:00:00Z\nb: 2026-01-01\n", "p.yaml")
    assert data == {"a": "2026-01-01T00:00:00Z", "b": "2026-01-01"}


def test_json_path_cuts_long_keys() -> None:
    path = parsers.json_path("$", ["k" * 1000, 0, "a b"])
    assert path == '$["' + "k" * 40 + '"…][0]["a b"]'
