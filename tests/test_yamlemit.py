"""cdhelper.yamlemit writes the bytes PyYAML writes, or leaves the document to PyYAML.

Generated documents mix what plans hold (ids, digests, tags, reasons, timestamps, nulls,
integers, booleans, nested mappings and lists, empty ones) with text PyYAML quotes or
folds: YAML keywords, numbers and dates as text, indicators, comments, quotes, long
sentences that fold at the width, keys too long to be simple. Every document this writer
accepts must come out byte for byte as ``yaml.safe_dump`` writes it.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdhelper import yamlemit, yamlfile

PROFILE = settings(
    max_examples=10_000 if os.environ.get("CDHELPER_FUZZ") else 400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WORDS = [
    "a", "v1", "sha256:" + "ab" * 32, "yes", "No", "null", "~", "1", "0x1", "1.5", "1e3",
    "2026-11-30T07:54:27.591357Z", "2026-11-30", "-", "- a", "-a", "a:", "a: b", "a:b", "#x",
    "a #b", "x#y", "'q'", "it's", '"d"', "", " ", "  ", "---", "...", "?", "? a", "?a", ":",
    "[x]", "{a}", "a,b", "&a", "*b", "!t", "|", ">", "%", "@", "`", "=", "<<", ".inf", ".nan",
    "_x", "/p", "docker.io/library/nginx:1.25", "long" * 20, "x" * 130, "é", "a\nb", "a\tb",
    "Yes", "on", "OFF", "y", "n", "(the webhook gives no digest)", "tag v1 pushed",
]  # fmt: skip
TEXT = (
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
    | st.sampled_from(WORDS)
    | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=250)
)
SCALARS = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | TEXT | st.floats()
KEYS = st.sampled_from(["id", "name", "reason", "image", "service"]) | TEXT
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=30,
)


def pyyaml(data: Any) -> str:
    return str(yaml.dump(data, Dumper=yaml.SafeDumper, **yamlfile.STYLE))


@PROFILE
@given(
    data=st.dictionaries(KEYS, DOCUMENTS, min_size=1, max_size=5)
    | st.lists(DOCUMENTS, min_size=1, max_size=5)
)
def test_what_it_writes_is_what_pyyaml_writes(data: Any) -> None:
    written = yamlemit.dump(data)
    if written is not None:
        assert written == pyyaml(data)
    assert yamlfile.dump(data) == pyyaml(data)


def test_a_plan_is_written_by_it() -> None:
    plan = {
        "format": "cdhelper-plan",
        "created_at": "2026-11-30T07:54:27.591357Z",
        "target": {"kind": "swarmpit", "url": None},
        "actions": [
            {
                "service": {"id": "svc1", "name": "shop_api"},
                "image": "docker.io/bench/app:v1",
                "version": 1201,
                "reason": "published digest differs: tag v1 points to sha256:333333333333, "
                "the service runs sha256:000000000000 " * 2,
                "events": [0, 1],
                "windows": [],
                "policy": {},
            }
        ],
    }
    written = yamlemit.dump(plan)
    assert written is not None
    assert written == pyyaml(plan)
    assert "\n    published" in written  # folded past the width, as PyYAML folds


def test_what_it_does_not_write_is_left_to_pyyaml() -> None:
    data: Any
    for data in ({"a": 1.5}, {"a": "é"}, {"a": "x\ny"}, {"k" * 123: 1}, {"": 1}, [], "text"):
        assert yamlemit.dump(data) is None, data
