from __future__ import annotations

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


def test_json_path_cuts_long_keys() -> None:
    path = parsers.json_path("$", ["k" * 1000, 0, "a b"])
    assert path == '$["' + "k" * 40 + '"…][0]["a b"]'
