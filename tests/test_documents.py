from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from cdhelper import documents
from cdhelper.errors import InputError

SCHEMAS = Path(__file__).parent.parent / "schemas"


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_schemas_are_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert documents.load_schema(path.name.removesuffix(".schema.json")) == schema


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.yaml"
    target.write_text("old")
    documents.write_atomic(str(target), "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["plan.yaml"]
    assert target.stat().st_mode & 0o644 == 0o644


def test_write_atomic_into_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"):
        documents.write_atomic(str(tmp_path / "no" / "plan.yaml"), "x")


def test_json_path_quotes_odd_keys() -> None:
    assert documents.json_path("$", ["a", 0, "b.c", "d"]) == '$.a[0]["b.c"].d'


def test_long_messages_are_cut() -> None:
    problems = documents.schema_errors({"format": "x" * 500}, "plan")
    assert all(len(p) < 200 for p in problems)


def test_dump_yaml_keeps_key_order_and_quotes_timestamps() -> None:
    text = documents.dump_yaml({"b": 1, "a": "2026-01-01T00:00:00Z"})
    assert text == "b: 1\na: '2026-01-01T00:00:00Z'\n"
