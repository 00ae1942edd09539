"""The block reader builds exactly PyYAML's tree, or declines and leaves the text to PyYAML."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdhelper import plan, yamlblock, yamlfile
from cdhelper.inventory import Target

PROFILE = settings(
    max_examples=10_000 if os.environ.get("CDHELPER_FUZZ") else 300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DUMP: dict[str, Any] = {"sort_keys": False, "default_flow_style": False, "width": 100}


def pyyaml(text: str) -> str:
    """PyYAML's tree (its repr: 1, 1.0 and True differ), or that it refused the text."""
    try:
        return repr(yaml.load(text, Loader=yamlfile.StrictLoader))
    except (yaml.YAMLError, RecursionError):
        return "error"


def block(text: str) -> str | None:
    """The block reader's tree (its repr), None when it declines; only on texts it may see."""
    if not yamlfile._fast_ok(text):
        return None
    data = yamlblock.read(text, yamlfile.StrictLoader)
    return None if data is None else repr(data)


ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
WORDS = st.lists(st.sampled_from(["tag", "v1", "a:b", "#x", "it's", "-", "x" * 30]), max_size=40)
TRICKY = st.sampled_from(
    ["yes", "no", "on", "Off", "~", "null", "Null", "1e3", "0x1f", "0o17", "017", "1_000", "+1",
     "-1", ".5", ".inf", "-.inf", ".NaN", "2026-11-27T03:51:11Z", "1:30", "- a", ": b", "#c",
     "a #b", "a# b", "a: b", "a:", "'q'", '"d"', "|", ">", "...", "---", " lead", "trail ",
     "[x]", "{y}", "a,b", "?", "<<", "=", "9" * 4400, "sha256:" + "a" * 64, ""]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ASCII
    | TRICKY
    | WORDS.map(" ".join)  # long enough to be folded over lines
)
KEYS = st.from_regex(r"\A[a-z_][a-z0-9_]{0,12}\Z") | TRICKY | ASCII
TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
NAMES = st.from_regex(r"\A[a-z_][a-z0-9_]{0,12}\Z")
DOCUMENTS = st.dictionaries(KEYS, TREES, min_size=1, max_size=6) | st.dictionaries(
    NAMES,  # plan-like: names as keys, mostly inside the subset
    st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, min_size=1, max_size=4)
            | st.dictionaries(NAMES, inner, min_size=1, max_size=5)
        ),
        max_leaves=25,
    ),
    min_size=1,
    max_size=6,
)


@PROFILE
@given(data=DOCUMENTS)
def test_a_written_document_reads_as_pyyaml_reads_it(data: dict[str, Any]) -> None:
    text = yaml.dump(data, Dumper=yaml.SafeDumper, **DUMP)
    found = block(text)
    assert found is None or found == pyyaml(text)


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """A written document with a few characters inserted, replaced or deleted."""
    text: str = yaml.dump(draw(DOCUMENTS), Dumper=yaml.SafeDumper, **DUMP)
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 4))):
        at = rng.randrange(len(text) + 1)
        piece = draw(st.sampled_from([*" -:?,'\"#\n[]{}|>@`\\0aZ", "  ", "- ", ": ", "'x'"]))
        text = text[:at] + piece + text[at + draw(st.integers(0, 2)) :]
    return text


@PROFILE
@given(text=damaged())
def test_a_damaged_document_reads_as_pyyaml_reads_it_or_is_declined(text: str) -> None:
    found = block(text)
    assert found is None or found == pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: '1'\nc: null\nd: true\ne: 1.5\nf: 0x1f\ng: 017\nh: 1_000\ni: ~\n",
        "a: it's\nb: 'it''s'\nc: 'a: b'\nd: '#x'\ne: '- a'\nf: ''\n",
        "a:\n- 1\n- b: 2\n  c:\n  - x\n  d: {}\n- []\n",
        "a:\n  b:\n    c: d\n  e: f\ng: h\n",
        "a: a long\n  folded line\n  of text\nb: 'and a quoted  \n  one'\n",
        "a: 1\n  2\nb: 'it''s\n   ''quoted'''\n",
        "a: x\n  - y\nb: x\n  #y\nc: 'x\n  y' # z\n",
        "a:\n- a long\n  folded item\n- 'quoted\n  item'\n",
        "a: x # comment\n",
        "a: 'x' # comment\n",
        'a: "double \\u0041"\n',
        "a:\n  - b\n  - c\n",
        "a:\n    b: 1\n    c: 2\n",
        "a: \nb: 1\n",
    ],
)
def test_the_forms_of_the_subset_read_as_pyyaml_reads_them(text: str) -> None:
    assert block(text) == pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: 2\na: 3\n",  # PyYAML names the duplicate
        "a: 1\n\nb: 2\n",  # blank lines: multi-line scalars
        "- a\n- b\n",  # not a mapping: no plan
        "a:\n- - b\n",  # nested sequences
        "a:\nb: 1\n",  # an empty value
        "yes: 1\n",  # a key PyYAML reads as true
        "a: .nan\n",  # refused with a message
        "a: 1\n  b: 2\n",  # a mapping value under a scalar
        "a: b: c\n",
        "a: 'b\n  c' d\n",
        "a: 1",  # no final newline
        "a: 1\n# note\n",
    ],
)
def test_what_the_subset_leaves_to_pyyaml(text: str) -> None:
    assert yamlfile._fast_ok(text)
    assert yamlblock.read(text, yamlfile.StrictLoader) is None


def large_plan(actions: int) -> str:
    events = ()
    made = plan.Plan(
        mode=plan.Mode.SMART,
        target=Target("swarmpit", None),
        events=events,
        actions=tuple(
            plan.Action(
                service=plan.ServiceId(f"svc{i:05d}", f"stack_service{i}"),
                image=f"docker.io/bench/app{i}:v1",
                spec_image=f"bench/app{i}:v1",
                tag="v1",
                current_digest="sha256:" + f"{i:064x}",
                target_digest="sha256:" + "3" * 64,
                version=1000 + i,
                fingerprint="sha256:" + f"{i + 1:064x}",
                reason=("tag v1 points to a new digest: " + "word " * (i % 30)).strip(),
            )
            for i in range(actions)
        ),
        skipped=(),
        warnings=(("a warning long enough to be folded by the writer " * 4).strip(),),
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    return plan.dumps(made)


def test_a_written_plan_is_read_without_pyyaml() -> None:
    """Counted, not timed: PyYAML (or libyaml) never sees a line of the plan, folded
    scalars (plain and quoted) included."""
    text = large_plan(300)
    assert "\n  warning" in text.split("warnings:")[1], "the warning must be folded"
    assert "\n    word word" in text, "a quoted reason must be folded"
    with mock.patch.object(yaml, "load", wraps=yaml.load) as load:
        loaded = yamlfile.loads(text, "plan.yaml")
    assert load.call_args_list == []
    assert repr(loaded) == pyyaml(text)
    assert plan.loads(text, "plan.yaml").actions[299].version == 1299


def test_each_plain_text_is_resolved_once_per_document() -> None:
    text = large_plan(200)
    with mock.patch.object(
        yamlfile.StrictLoader, "resolve", autospec=True, side_effect=yaml.SafeLoader.resolve
    ) as resolve:
        yamlblock.read(text, yamlfile.StrictLoader)
    resolved = [call.args[2] for call in resolve.call_args_list]
    assert len(resolved) == len(set(resolved))
    assert "stack_service7" not in resolved  # a text no resolver could claim (its first letter)
