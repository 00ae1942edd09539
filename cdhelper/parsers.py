"""Strict JSON and YAML parsing of untrusted text: plain JSON values out, or one InputError.

Everything cdhelper reads is hostile until proven otherwise: a webhook body, an inventory,
a plan someone edited. The standard parsers accept more than JSON (``NaN``, ``Infinity``,
``1e999``, lone surrogates such as ``"\\ud800"``, repeated keys, YAML anchors that expand
a kilobyte into gigabytes) and fail with exceptions that are not errors to a user
(``RecursionError``, ``ValueError`` for an integer of 5,000 digits). Here every such input
becomes a message that says what and where, and what comes out is a tree of dict, list,
str, int, float, bool and None that the rest of cdhelper can walk and write back safely.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Hashable, Iterable
from itertools import islice
from typing import Any, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from cdhelper.errors import InputError
from cdhelper.values import shown

MAX_DEPTH = 64  # deeper than any document cdhelper reads (a Docker service spec is ~10)
MAX_INT_DIGITS = 4300  # Python's own limit for str -> int
MAX_PROBLEMS = 20  # problems listed in one error
MAX_COUNTED = 1000  # problems counted at most: counting all of a huge file is unbounded work

T = TypeVar("T")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Rejected:
    """A value the JSON parser met that cdhelper refuses; the tree check reports its path."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


class DuplicateKeys(dict[str, Any]):
    """A JSON object whose text repeats keys; the tree check reports it with its path."""

    duplicates: tuple[str, ...] = ()


def _json_constant(name: str) -> Rejected:
    return Rejected(f"{name} is not JSON")


def _json_float(text: str) -> float | Rejected:
    value = float(text)
    if math.isfinite(value):
        return value
    return Rejected(f"number {shown(text)} is out of range")


def _json_int(text: str) -> int | Rejected:
    if len(text) > MAX_INT_DIGITS:
        return Rejected(f"integer with {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    seen: set[str] = set()
    marked = DuplicateKeys(value)
    marked.duplicates = tuple(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return marked


# For json.loads: values cdhelper refuses become marks that check_tree reports with their path.
JSON_HOOKS: dict[str, Any] = {
    "parse_constant": _json_constant,
    "parse_float": _json_float,
    "parse_int": _json_int,
    "object_pairs_hook": _json_object,
}


def loads_json(text: str, where: str) -> Any:
    """Parse JSON (RFC 8259 only) and check the tree: see :func:`check_tree`."""
    try:
        data = json.loads(text, **JSON_HOOKS)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise InputError(
            f"{where}: not valid JSON: nested deeper than {MAX_DEPTH} levels"
        ) from None
    check_tree(data, where, "JSON")
    return data


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a plan must not use."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader for the JSON subset of YAML, without aliases, anchors or repeated keys.

    cdhelper writes plans as plain data; refusing anchors costs nothing and keeps a 1 KB
    "billion laughs" document from expanding. Timestamps stay strings (the schema checks
    them), and tags that build no JSON value (binary, set, omap, pairs) are refused.
    """

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(
                problem="YAML anchors and aliases (&name, *name) are not allowed in a plan",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(
                    problem="YAML merge keys (<<) are not allowed in a plan",
                    problem_mark=key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise _Refused(
                        problem=f"duplicate key {shown(key)}",
                        problem_mark=key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_INT_DIGITS:
            raise _Refused(
                problem=f"integer with more than {MAX_INT_DIGITS} digits",
                problem_mark=node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Refused(
                problem=f"{shown(node.value)} is not a JSON number",
                problem_mark=node.start_mark,
            )
        return value

    def construct_text(self, node: ScalarNode) -> str:
        return str(self.construct_scalar(node))

    def refuse_tag(self, node: Node) -> None:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise _Refused(
            problem=f"the YAML tag {tag} builds no JSON value", problem_mark=node.start_mark
        )


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_text)
for _tag in ("binary", "set", "omap", "pairs"):
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", StrictLoader.refuse_tag)


def loads_yaml(text: str, where: str) -> Any:
    """Parse YAML with :class:`StrictLoader` and check the tree: see :func:`check_tree`."""
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as exc:
        raise InputError(f"{where}: refused: {exc.problem}{_position(exc)}") from None
    except yaml.MarkedYAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {exc.problem}{_position(exc)}") from None
    except yaml.reader.ReaderError as exc:
        raise InputError(
            f"{where}: not valid YAML: character #x{exc.character:04x} at offset {exc.position} "
            "is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {shown(str(exc), 200)}") from None
    except RecursionError:
        raise InputError(
            f"{where}: not valid YAML: nested deeper than {MAX_DEPTH} levels"
        ) from None
    check_tree(data, where, "YAML")
    return data


def _position(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def check_tree(data: Any, where: str, what: str, base: str = "$") -> None:
    """Refuse what cannot round-trip: too deep, lone surrogates, repeated keys, odd values.

    Iterative, so a deep tree cannot exhaust the stack here; whatever passes is at most
    :data:`MAX_DEPTH` deep, so the schema validator and every later walker are safe too.
    """

    def problems() -> Any:
        stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]  # a value and its path
        while stack:
            value, path = stack.pop()
            why = _problem(value, path)
            if why is not None:
                yield f"{json_path(base, path)}: {why}"
                continue
            if isinstance(value, dict):
                stack.extend((item, (*path, key)) for key, item in reversed(value.items()))
            elif isinstance(value, list):
                stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(value))))

    if _plain(data):
        return
    found = bounded(problems(), str)
    if len(found) == 1:
        raise InputError(f"{where}: not valid {what}: {found[0]}")
    if found:
        raise InputError(f"{where}: not valid {what}", found)


def _plain(data: Any) -> bool:
    """The fast check (no paths kept): True when :func:`_problem` would find nothing."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        items = _plain_items(value, depth)
        if items is None:
            return False
        for item in items:
            if type(item) is dict or type(item) is list:
                stack.append((item, depth + 1))
            elif not _plain_scalar(item):
                return False
    return True


def _plain_items(value: Any, depth: int) -> Iterable[Any] | None:
    """A plain container's items; None when the slow walk must say what and where."""
    if depth >= MAX_DEPTH:
        return None
    if type(value) is list:
        return value
    if type(value) is dict and all(type(k) is str and not _has_surrogate(k) for k in value):
        return value.values()
    return None  # a mark, a DuplicateKeys, a key that is not a string


def _plain_scalar(item: Any) -> bool:
    kind = type(item)
    if kind is str:
        return not _has_surrogate(item)
    if kind is float:
        return math.isfinite(item)
    return item is None or kind is int or kind is bool


def _problem(value: Any, path: tuple[Any, ...]) -> str | None:
    if isinstance(value, str):
        return _LONE_SURROGATE if _has_surrogate(value) else None
    if isinstance(value, (dict, list)):
        return _container_problem(value, path)
    if isinstance(value, Rejected):
        return value.why
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a JSON number"
    if value is None or isinstance(value, (bool, int, float)):
        return None
    return f"a {type(value).__name__} is not a JSON value"


_LONE_SURROGATE = "holds a lone surrogate (such as \\ud800), which is not a Unicode character"


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _container_problem(value: dict[Any, Any] | list[Any], path: tuple[Any, ...]) -> str | None:
    if len(path) >= MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, DuplicateKeys):
        keys = ", ".join(shown(k) for k in dict.fromkeys(value.duplicates))
        return f"duplicate key {keys}: which one counts would be a guess"
    for key in value if isinstance(value, dict) else ():
        if not isinstance(key, str):
            return f"key {shown(key)} is not a string"
        if _has_surrogate(key):
            return f"a key {_LONE_SURROGATE}"
    return None


def bounded(
    items: Iterable[T], render: Callable[[T], str], order: Callable[[T], Any] | None = None
) -> list[str]:
    """The first :data:`MAX_PROBLEMS` items rendered, then how many more there are.

    Counting stops after :data:`MAX_COUNTED`: a file with a million problems costs no more
    than one with a thousand. ``order`` sorts what was counted (best first) before the cut.
    """
    head = list(islice(items, MAX_COUNTED + 1))
    more = "at least " if len(head) > MAX_COUNTED else ""
    head = head[:MAX_COUNTED]
    if order is not None:
        head.sort(key=order)
    listed = [render(item) for item in head[:MAX_PROBLEMS]]
    if len(head) > MAX_PROBLEMS:
        listed.append(f"and {more}{len(head) - MAX_PROBLEMS} more")
    return listed


def json_path(base: str, parts: Iterable[Any]) -> str:
    """``$.a[0]["b.c"]``: the JSONPath of a value, its keys quoted and cut when odd or long."""
    path = base
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).isidentifier() and len(str(part)) <= 40:
            path += f".{part}"
        else:
            path += f"[{shown(str(part), 40, quote=json.dumps)}]"
    return path
