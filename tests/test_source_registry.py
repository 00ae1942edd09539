"""The source registry as a whole: every source has a schema and a unique name.

(That detection is exclusive across every fixture is tests/sources/test_common.py's job.)
"""

from __future__ import annotations

from cdhelper import documents, sources


def test_every_source_has_a_valid_schema() -> None:
    for source in sources.SOURCES:
        assert documents.load_schema(source.schema)["title"]
    assert len({s.name for s in sources.SOURCES}) == len(sources.SOURCES)
