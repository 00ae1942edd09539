from __future__ import annotations

from typing import Any

import pytest

from cdhelper import yamlfile
from cdhelper.errors import InputError

DEEP = 100_000

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
    with pytest.raises(InputError) as info:
        yamlfile.loads(text, "p.yaml")
    assert str(info.value).startswith(message)


def test_yaml_timestamps_stay_strings() -> None:
    data: Any = yamlfile.loads("a: 2026-01-01T00:00:00Z\nb: 2026-01-01\n", "p.yaml")
    assert data == {"a": "2026-01-01T00:00:00Z", "b": "2026-01-01"}


def test_dump_keeps_key_order_and_quotes_timestamps() -> None:
    assert (
        yamlfile.dump({"b": 1, "a": "2026-01-01T00:00:00Z"}) == "b: 1\na: '2026-01-01T00:00:00Z'\n"
    )
