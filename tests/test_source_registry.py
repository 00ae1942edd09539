"""The source registry as a whole: every source has a schema, and detection is exclusive.

Each fixture under ``tests/data/sources/<name>/`` is detected as exactly that source, and
as no other; the bundled Docker Hub and registry captures likewise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdhelper import documents, sources
from cdhelper.sources.base import Context

from helpers import DATA

FIXTURES = sorted((DATA / "sources").glob("*/**/*.json"))
CAPTURES = {
    DATA / "dockerhub-push-int.json": "dockerhub",
    DATA / "registry-notifications-push-app-v1.json": "registry",
}


def test_every_source_has_a_valid_schema() -> None:
    for source in sources.SOURCES:
        assert documents.load_schema(source.schema)["title"]
    assert len({s.name for s in sources.SOURCES}) == len(sources.SOURCES)


def _payloads(path: Path) -> list[object]:
    data = json.loads(path.read_text())
    if sources.looks_like_inventory(data):
        return []
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize(
    ("path", "name"),
    [*((p, p.relative_to(DATA / "sources").parts[0]) for p in FIXTURES), *CAPTURES.items()],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_each_fixture_is_detected_as_its_own_source_only(path: Path, name: str) -> None:
    for payload in _payloads(path):
        assert isinstance(payload, dict)
        matches = [s.name for s in sources.SOURCES if s.detect(payload)]
        assert matches == [name]
        assert sources.detect(payload, Context(path.name)).name == name
