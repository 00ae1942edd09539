"""Inventories read element by element (:mod:`cdhelper.bulk`) give what the whole read gives.

The same services (fingerprints included) or the same message, on real inventories written
compact or pretty, with odd values, and with text the fast parser reads differently from
``json`` (repeated keys, ``NaN``, huge integers, lone surrogates, escapes, deep nesting,
a byte order mark, bad UTF-8). Count-based checks show which path ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given

from cdhelper import bulk, documents, parsers
from cdhelper.backends import Wanted, load_inventory, parse_inventory
from cdhelper.errors import InputError
from cdhelper.inventory import Inventory
from cdhelper.reference import ImageRef

from helpers import DATA, run_fresh
from jsontexts import INVENTORIES, PROFILE, STYLES, mutated_texts


@pytest.fixture(autouse=True, params=["here", "beside"])
def every_size_element_by_element(request: pytest.FixtureRequest) -> Iterator[None]:
    """The fixtures are small: read them element by element as a large file is read,
    checked in this process, and (``beside``) by a forked child while this one builds
    (when no other thread runs here: see test_a_child_checks_beside_the_builder)."""
    beside = 0 if request.param == "beside" else 10**9
    with mock.patch.object(bulk, "WORTH_IT", 0), mock.patch.object(bulk, "BESIDE", beside):
        yield


def both(tmp_path: Path, data: bytes, wanted: Wanted = None) -> tuple[Any, Any]:
    """(read element by element, read whole): an Inventory or the message, each; with
    ``wanted``, the services it admits (the element-by-element read builds no others)."""
    path = tmp_path / "inventory.json"
    path.write_bytes(data)
    where = str(path)

    def outcome(read: Any) -> Any:
        try:
            found = read()
        except InputError as exc:
            return str(exc)
        if wanted is None:
            return found
        return Inventory(found.target, tuple(s for s in found.services if wanted(s.ref)))

    def whole() -> Any:
        return parse_inventory(documents.parse_json(documents.decode(data, where), where), where)

    return outcome(lambda: load_inventory(where, wanted)), outcome(whole)


def of_even_length(ref: ImageRef) -> bool:
    """Wanted: about half of the repositories of the fixtures."""
    return len(ref.repository) % 2 == 0


@PROFILE
@given(data=mutated_texts())
def test_element_by_element_reads_what_the_whole_read_reads(tmp_path: Path, data: bytes) -> None:
    fast, whole = both(tmp_path, data)
    assert fast == whole
    if not isinstance(fast, str):
        # the fingerprints too (hashed on demand, from the element's text on the fast path)
        assert [s.fingerprint for s in fast.services] == [s.fingerprint for s in whole.services]


@PROFILE
@given(data=mutated_texts())
def test_only_the_wanted_services_are_built_and_every_one_is_checked(
    tmp_path: Path, data: bytes
) -> None:
    """A webhook plan wants the services of the pushed repositories: the others are not
    built, but a problem in any service is reported all the same."""
    fast, whole = both(tmp_path, data, of_even_length)
    assert fast == whole
    if not isinstance(fast, str):
        assert [s.fingerprint for s in fast.services] == [s.fingerprint for s in whole.services]


def test_a_service_not_wanted_with_a_bad_image_is_refused(tmp_path: Path) -> None:
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    unwanted = next(
        i
        for i, s in enumerate(document)
        if not of_even_length(ImageRef.parse(s["repository"]["image"]))
    )
    document[unwanted]["repository"]["image"] = "registry.example.com/UPPER:v1"
    fast, whole = both(tmp_path, json.dumps(document).encode(), of_even_length)
    assert fast == whole
    assert f"$[{unwanted}].repository.image" in fast


@pytest.mark.parametrize("style", STYLES, ids=str)
@pytest.mark.parametrize("document", INVENTORIES, ids=lambda d: f"{len(d)} services")
def test_a_valid_inventory_is_read_without_the_whole_document_parser(
    tmp_path: Path, document: list[Any], style: dict[str, Any]
) -> None:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(document, **style))
    expected = parse_inventory(document, str(path))
    with mock.patch.object(parsers, "loads_json", side_effect=AssertionError("whole parse")):
        assert load_inventory(str(path)) == expected


def test_an_element_written_differently_is_parsed_strictly_alone(tmp_path: Path) -> None:
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    text = json.dumps(document, ensure_ascii=True).replace(
        '"serviceName": "', '"serviceName": "\\u0041', 1
    )
    path = tmp_path / "inventory.json"
    path.write_text(text)
    calls = mock.Mock(side_effect=parsers.loads_json)
    with mock.patch.object(parsers, "loads_json", calls), mock.patch.object(bulk, "BESIDE", 10**9):
        inventory = load_inventory(str(path))
    assert calls.call_count == 1  # that element alone: the others were vouched for
    assert inventory.services[0].name.startswith("A")
    assert inventory == parse_inventory(json.loads(text), str(path))


def test_a_repeated_key_is_never_read_past(tmp_path: Path) -> None:
    """orjson keeps the last of repeated keys; here the whole read says what is wrong."""
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    text = json.dumps(document, separators=(",", ":")).replace(
        '"version":', '"version":1,"version":', 1
    )
    path = tmp_path / "inventory.json"
    path.write_text(text)
    items = bulk.elements(path.read_bytes())
    assert items is not None
    assert bulk.load(items, "swarmpit-services", lambda index, tree, again: tree) is None
    with pytest.raises(InputError, match=r"\$\[0\]: duplicate key 'version'"):
        load_inventory(str(path))


@pytest.mark.parametrize(
    ("levels", "accepted"), [(61, True), (62, True), (63, False), (200, False)]
)
def test_depth_is_bounded_as_the_whole_read_bounds_it(
    tmp_path: Path, levels: int, accepted: bool
) -> None:
    """An element nested ``levels`` deep inside the array: the document is one deeper."""
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    document[0]["extra"] = json.loads("[" * levels + "]" * levels) if levels < 100 else None
    text = json.dumps(document)
    if levels >= 100:
        text = text.replace('"extra": null', '"extra": ' + "[" * levels + "]" * levels)
    fast, whole = both(tmp_path, text.encode())
    assert fast == whole
    assert isinstance(fast, str) is not accepted
    if not accepted:
        assert "nested deeper than 64 levels" in fast


def test_a_schema_that_constrains_the_array_itself_is_read_whole() -> None:
    with mock.patch.object(documents, "load_schema", return_value={"type": "array", "minItems": 1}):
        bulk._item_validator.cache_clear()
        try:
            assert bulk._item_validator("swarmpit-services") is None
        finally:
            bulk._item_validator.cache_clear()


def test_only_a_large_file_is_read_element_by_element(tmp_path: Path) -> None:
    document = json.loads((DATA / "swarmpit-services.json").read_text())
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_text(json.dumps(document))
    large.write_text(json.dumps(document * (2 * 1024 * 1024 // len(json.dumps(document)))))
    with mock.patch.object(bulk, "WORTH_IT", 1024 * 1024):
        split = mock.Mock(side_effect=bulk.elements)
        with mock.patch.object(bulk, "elements", split):
            load_inventory(str(small))
            assert split.call_count == 0
            assert len(load_inventory(str(large)).services) > len(document)
            assert split.call_count == 1


# Run in a fresh interpreter: a test process may hold other threads (servers of other
# tests), and then cdhelper rightly does not fork.
BESIDE_CHECK = """
import json, os, sys
from cdhelper import bulk, documents
from cdhelper.backends import Wanted, load_inventory, parse_inventory
from cdhelper.errors import InputError

path, forks, fork = sys.argv[1], [], os.fork
def counted():
    forks.append(1)
    return fork()
bulk.BESIDE, bulk.WORTH_IT, os.fork = 10, 0, counted
def outcome(read):
    try:
        return read()
    except InputError as exc:
        return str(exc)
fast = outcome(lambda: load_inventory(path))
text = documents.decode(documents.read_bytes(path), path)
whole = outcome(lambda: parse_inventory(documents.parse_json(text, path), path))
same = fast == whole and (
    isinstance(fast, str)
    or [s.fingerprint for s in fast.services] == [s.fingerprint for s in whole.services]
)
print(json.dumps({"forks": len(forks), "same": same, "refused": isinstance(fast, str)}))
"""


@pytest.mark.parametrize(
    "damage", ["", "repeated key", "repeated key at the end", "bad type", "huge integer"]
)
def test_a_child_checks_beside_the_builder(tmp_path: Path, damage: str) -> None:
    """Large files: a forked child checks from the first element while the command builds,
    then checks from the last one; both must agree."""
    document = json.loads((DATA / "swarmpit-services.json").read_text()) * 50
    if damage == "bad type":  # the builder's decode refuses it (and so does the schema)
        document[-1] = {**document[-1], "version": {"x": 1}}
    elif damage == "huge integer":  # valid; orjson would read it as a float
        document[0] = {**document[0], "replicas": 10**25}
    text = json.dumps(document, separators=(",", ":"))
    if damage == "repeated key":  # the child's first: its "no" alone sends the whole path
        text = text.replace('"version":', '"version":1,"version":', 1)
    elif damage == "repeated key at the end":  # whoever of the two checks it says no
        at = text.rindex('"version":')
        text = text[:at] + '"version":1,' + text[at:]
    path = tmp_path / "inventory.json"
    path.write_text(text)
    assert run_fresh(BESIDE_CHECK, str(path)) == {
        "forks": 1,
        "same": True,
        "refused": damage not in {"", "huge integer"},
    }
