"""Strict JSON parsing of untrusted text: plain JSON values out, or one InputError.

Everything cdhelper reads is hostile until proven otherwise: a webhook body, an inventory,
a plan someone edited. The standard parsers accept more than JSON (``NaN``, ``Infinity``,
``1e999``, lone surrogates such as ``"\\ud800"``, repeated keys, YAML anchors that expand
a kilobyte into gigabytes) and fail with exceptions that are not errors to a user
(``RecursionError``, ``ValueError`` for an integer of 5,000 digits). Here every such input
becomes a message that says what and where, and what comes out is a tree of dict, list,
str, int, float, bool and None that the rest of cdhelper can walk and write back safely.
YAML (plans) is read by :mod:`cdhelper.yamlfile` and checked by the same :func:`check_tree`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any, TypeVar

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
        next(_MARKS)


# Every mark the hooks make draws a number (atomically): a parse that drew none made none.
_MARKS = itertools.count()


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
    next(_MARKS)
    marked = DuplicateKeys(value)
    marked.duplicates = tuple(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
    return marked


# For json.loads: values cdhelper refuses become marks that check_tree reports with their path.
JSON_HOOKS: dict[str, Any] = {
    "parse_constant": _json_constant,
    "parse_float": _json_float,
    "parse_int": _json_int,
    "object_pairs_hook": _json_object,
}


def loads_json(text: str, where: str) -> Any:
    """Parse JSON (RFC 8259 only) and check the tree: see :func:`check_tree`.

    What the parse itself rules out is not checked again: keys are strings, and a
    constant, a float out of range, a huge integer or a repeated key makes a mark. When it
    made none and the text holds no surrogate, only the depth is left to check, on the
    containers alone (the full walk of a large inventory costs as much as its parse).
    A large text is first read by :func:`_loads_large`, which gives the same tree or none.
    """
    if len(text) >= LARGE:
        data = _loads_large(text)
        if data is not _NOT_VOUCHED:
            return data
    start = next(_MARKS)
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
    if next(_MARKS) == start + 1 and not _may_hold_surrogate(text) and shallow(data):
        if isinstance(data, (dict, list)):
            _last_plain[0] = data
        return data
    check_tree(data, where, "JSON")
    return data


# From this size on, JSON is read by orjson first (~3 times json's speed with the hooks).
LARGE = 256 * 1024
HASHED = 16 * 1024 * 1024  # from this size on, compared by digest (see _loads_large)
_NOT_VOUCHED = object()


def loads_vouched(data: bytes) -> Any:
    """Large UTF-8 JSON parsed as :func:`loads_json` parses its text, when the quick way
    (:func:`_loads_large`) vouches for it; ValueError otherwise (the strict way says why).

    From the bytes: no decoded copy of a large document is made.
    """
    tree = _loads_large(data)
    if tree is _NOT_VOUCHED:
        raise ValueError("not vouched for: read it the strict way")
    return tree


def _loads_large(text: str | bytes) -> Any:
    """``text`` parsed by orjson, if that is the tree ``json`` and the rules here give.

    orjson refuses what is not JSON (``NaN``, numbers out of range, lone surrogates, bad
    UTF-8, a byte order mark) but keeps the last of repeated keys and reads an integer
    past 64 bits as a float: so the tree, written back, must be the text itself with its
    whitespace taken out (msgspec changes nothing else; past :data:`HASHED` their digests
    are compared, so the two copies are never held at once). Then only the depth is left
    to check. Otherwise (or without orjson and msgspec) the answer is
    :data:`_NOT_VOUCHED`: the strict path reads it.
    """
    try:
        import msgspec  # noqa: PLC0415 (large inputs only)
        import orjson  # noqa: PLC0415
    except ImportError:
        return _NOT_VOUCHED
    try:
        if len(text) < HASHED:
            compact = msgspec.json.format(text, indent=-1)
            data = orjson.loads(text)
            same = _same_text(orjson.dumps(data), compact)
        else:  # a digest of each, one after the other: never both copies at once
            compact = msgspec.json.format(text, indent=-1)
            expected = _digest(compact)
            del compact
            data = orjson.loads(text)
            same = hashlib.blake2b(orjson.dumps(data)).digest() == expected
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, msgspec.DecodeError, RecursionError):
        return _NOT_VOUCHED
    if not same or not shallow(data):
        return _NOT_VOUCHED
    if isinstance(data, (dict, list)):
        _last_plain[0] = data
    return data


def _digest(text: str | bytes, chunk: int = 1 << 20) -> bytes:
    """The blake2b digest of ``text`` in UTF-8, encoded a megabyte at a time."""
    if isinstance(text, bytes):
        return hashlib.blake2b(text).digest()
    digest = hashlib.blake2b()
    if not text.isascii():
        digest.update(text.encode("utf-8"))
    for at in range(0, len(text) if text.isascii() else 0, chunk):
        digest.update(text[at : at + chunk].encode("ascii"))
    return digest.digest()


def _same_text(encoded: bytes, text: str | bytes, chunk: int = 1 << 20) -> bool:
    """``encoded == text.encode()``, a megabyte at a time when ``text`` is ASCII (no copy
    of a large document is made just to compare it)."""
    if isinstance(text, bytes):
        return encoded == text
    if not text.isascii():
        return encoded == text.encode("utf-8")
    if len(encoded) != len(text):
        return False
    # startswith at an offset compares at C speed without a copy (a memoryview does not)
    return all(
        encoded.startswith(text[at : at + chunk].encode("ascii"), at)
        for at in range(0, len(text), chunk)
    )


def _may_hold_surrogate(text: str) -> bool:
    """A lone surrogate comes from an escape such as \\ud800, or from a str that holds one."""
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return True
    return not text.isascii() and _SURROGATE.search(text) is not None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def shallow(data: Any, levels: int = MAX_DEPTH) -> bool:
    """At most ``levels`` levels of containers (a scalar has none), counted level by level.

    With the default, no container nested :data:`MAX_DEPTH` deep (as :func:`_plain`
    counts); a part of a document ``k`` levels down may have ``MAX_DEPTH - k``.
    """
    level = [data] if type(data) is dict or type(data) is list else []
    for _ in range(levels):
        if not level:
            return True
        inner = []
        for container in level:
            items = container.values() if type(container) is dict else container
            inner += [item for item in items if type(item) is dict or type(item) is list]
        level = inner
    return not level


def check_tree(data: Any, where: str, what: str, base: str = "$") -> None:
    """Refuse what cannot round-trip: too deep, lone surrogates, repeated keys, odd values.

    Iterative, so a deep tree cannot exhaust the stack here; whatever passes is at most
    :data:`MAX_DEPTH` deep, so the schema validator and every later walker are safe too.
    The last container found plain is remembered: a document is checked when parsed and
    again when validated (live answers are only validated), and the second walk of a
    large inventory would cost as much as the first. cdhelper never changes a parsed tree.
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

    if data is _last_plain[0] and data is not None:
        return
    if _plain(data):
        if isinstance(data, (dict, list)):
            _last_plain[0] = data
        return
    found = bounded(problems(), str)
    if len(found) == 1:
        raise InputError(f"{where}: not valid {what}: {found[0]}")
    if found:
        raise InputError(f"{where}: not valid {what}", found)


# The last container found plain, held (so no other object can take its id); one slot,
# set and read in one step each, so threads (the inbox) never see it half-changed.
_last_plain: list[Any] = [None]


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
