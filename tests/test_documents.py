from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from cdhelper import documents, plan
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


def test_invalid_utf8_names_the_byte_and_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_bytes(b'{"tag": "v1\xff"}')
    with pytest.raises(InputError) as info:
        documents.read_text(str(path))
    assert str(info.value) == f"{path}: not valid UTF-8: byte 0xff at offset 11"


def test_a_huge_number_of_schema_errors_is_bounded() -> None:
    snapshot = {
        "format": "cdhelper-inventory",
        "format_version": 1,
        "cdhelper_version": "0",
        "created_at": "2026-01-01T00:00:00Z",
        "target": {"kind": "docker", "url": None},
        "services": [{"id": 1}] * 100_000,
    }
    problems = documents.schema_errors(snapshot, "inventory")
    assert len(problems) == 21
    assert problems[0].startswith("$.services[0]")
    assert problems[-1] == "and at least 980 more"


def test_schema_errors_sort_indexes_as_numbers() -> None:
    from test_plan import sample

    data = yaml.safe_load(plan.dumps(sample()))
    event = data["events"][0]
    del event["id"]
    data["events"] = [{**event, "index": i} for i in range(12)]
    problems = documents.schema_errors(data, "plan")
    assert [p.split(":")[0] for p in problems] == [f"$.events[{i}]" for i in range(12)]


@pytest.mark.parametrize("value", ["v1\n", "v1\n\n", "vé", "v1 "])
def test_patterns_mean_the_end_of_the_text(value: str) -> None:
    payload = {"push_data": {"tag": value}, "repository": {"repo_name": "a/b"}}
    [problem] = documents.schema_errors(payload, "dockerhub-webhook")
    assert problem.startswith(f"$.push_data.tag: {value!r} does not match")


def test_messages_never_repeat_big_instances() -> None:
    huge = {"format": {"k": "x" * 100_000}, "mode": ["y" * 100_000]}
    problems = documents.schema_errors(huge, "plan")
    assert problems
    assert all(len(p) < 200 for p in problems)
