"""Whatever JSON or YAML arrives, cdhelper answers with InputError or a result: never a
traceback. Random documents, and the real fixtures with parts removed or retyped."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdhelper import plan, sources
from cdhelper.backends import parse_inventory
from cdhelper.errors import InputError
from cdhelper.sources.base import Context

from helpers import DATA

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
FIXTURES = {
    name: json.loads((DATA / name).read_text())
    for name in (
        "dockerhub-push-int.json",
        "registry-notifications-push-app-v1.json",
        "docker-engine-services.json",
        "swarmpit-services.json",
    )
}
REPLACEMENTS: st.SearchStrategy[Any] = st.sampled_from(
    [None, 0, -1, 1.5, "", "x", "Bad Value!", [], {}, True]
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def mutate(draw: st.DrawFn, document: Any, times: int) -> Any:
    """Delete or retype ``times`` randomly chosen parts of ``document`` (in place)."""
    for _ in range(times):
        if not paths(document):
            break
        where = draw(st.sampled_from(paths(document)))
        parent = document
        for part in where[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(REPLACEMENTS)
    return document


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(sorted(FIXTURES)))
    return mutate(draw, copy.deepcopy(FIXTURES[name]), draw(st.integers(1, 3)))


def never_a_traceback(call: Any, document: Any) -> None:
    try:
        call(document)
    except InputError as exc:
        assert str(exc).startswith("x:")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=JSON | mutated())
def test_events(document: Any) -> None:
    never_a_traceback(lambda d: sources.parse_document(d, Context("x")), document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=JSON | mutated())
def test_inventories(document: Any) -> None:
    never_a_traceback(lambda d: parse_inventory(d, "x"), document)


@settings(max_examples=200, deadline=None)
@given(document=JSON)
def test_plans(document: Any) -> None:
    never_a_traceback(lambda d: plan.loads(yaml.safe_dump(d), "x"), document)


def _sample_plan() -> Any:
    from test_plan import sample

    return yaml.safe_load(plan.dumps(sample()))


@st.composite
def mutated_plan(draw: st.DrawFn) -> Any:
    return mutate(draw, _sample_plan(), draw(st.integers(1, 2)))


@settings(max_examples=300, deadline=None)
@given(document=mutated_plan())
def test_mutated_plans(document: Any) -> None:
    never_a_traceback(lambda d: plan.loads(yaml.safe_dump(d), "x"), document)
