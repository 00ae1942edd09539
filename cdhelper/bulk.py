"""Large JSON arrays read element by element: strict and validated, without the whole tree.

An inventory of 100,000 services is a 135 MB array; parsed whole it is ~700 MB of Python
objects, and checked whole it costs seconds. Here the array is split into its elements
without building them (msgspec), and each element is parsed (orjson), held to the rules
of :mod:`cdhelper.parsers` (no repeated key, no NaN, no lone surrogate, no huge integer,
bounded depth), validated against the schema of one item (jsonschema-rs) and handed to a
``build`` function that keeps what it needs; the element's tree is then dropped.

This path gives the whole-document path's answer or none: when it cannot vouch for an
element (the element has a problem, or it could not be sure), :func:`load` answers None
and the caller reads the document the whole-document way, whose error messages (every
problem with its JSON path) are the reference. So messages never change, and this path
never accepts what that one refuses:

- orjson refuses what is not JSON (``NaN``, a number out of range, a lone surrogate, bad
  UTF-8, a byte order mark) but keeps the last of repeated keys and reads an integer
  beyond 64 bits as a float. So each element is written back (orjson, compact) and must
  equal its own text made compact (msgspec changes only whitespace): a repeated key, a
  rounded integer, any value read differently from ``json`` would change the text.
- An element whose text differs for an innocent reason (``\\u00e9`` for ``é``, ``1e2``
  for ``100.0``) is parsed the strict way alone (:func:`cdhelper.parsers.loads_json`).
- Depth: an element whose text opens fewer brackets than the levels left is shallow
  enough; any other has its containers counted level by level.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from typing import Any, NoReturn, TypeVar

from cdhelper import documents, fastschema, parsers
from cdhelper.errors import InputError

T = TypeVar("T")
# (index, the element's tree, a function that parses the element again) -> a record, or
# None for an element the caller skips. The tree is not kept; the function may be (it
# holds only the element's place in the document's text).
Build = Callable[[int, Any, Callable[[], Any]], T | None]

# Below this size (about 400 Swarmpit services) the whole-document path is as quick, and
# msgspec and orjson need not be loaded (~7 ms of a command's start).
WORTH_IT = 512 * 1024

# The keywords a schema for a plain array may have besides ``items`` for this path to
# stand in for it: the rest would constrain the array itself (minItems, contains, ...).
_ARRAY_KEYWORDS = frozenset({"$schema", "$id", "title", "description", "type", "items", "$defs"})


def elements(data: bytes | str) -> list[Any] | None:
    """The elements of a top-level JSON array, each as its unparsed text; None otherwise."""
    try:
        import msgspec  # noqa: PLC0415 (only for large inputs)
    except ImportError:
        return None
    try:
        found: list[Any] = msgspec.json.decode(data, type=list[msgspec.Raw])
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    return found


def first(items: list[Any]) -> Any:
    """The first element's tree (None for an empty array, or one that is not plain JSON)."""
    import orjson  # noqa: PLC0415

    try:
        return orjson.loads(memoryview(items[0])) if items else None
    except orjson.JSONDecodeError:
        return None


def load(
    items: list[Any],
    schema_name: str,
    build: Build[T],
    fields: Any = None,
    keep: Keep | None = None,
) -> list[T] | None:
    """Each element checked and built, in order; None if any could not be vouched for.

    ``schema_name`` is the whole array's schema; its ``items`` validates each element.
    ``build`` (or ``keep``) raising :class:`~cdhelper.errors.InputError` also answers
    None: the whole-document path then says what is wrong, as it always has.

    ``fields``: a msgspec type (a ``TypedDict``) of what ``build`` reads. With it, a large
    array is checked by a forked child while this process builds the records from those
    fields alone (msgspec decodes them, skipping the rest): the two halves of the work
    run on two cores. The records are used only if the child vouched for every element.
    ``keep``: only the elements it admits are built (every one is checked all the same).
    """
    validator = _item_validator(schema_name)
    if validator is None:
        return None
    with _collector_paused():
        if fields is not None and len(items) >= BESIDE and _may_fork():
            return _load_beside(items, validator, build, fields, keep)
        return _load_here(items, validator, build, keep)


@dataclass(frozen=True)
class Keep:
    """Which elements are built at all: those ``admits`` (of what the msgspec type
    ``fields`` reads of one; a part of what ``build`` reads: a few fields decode quicker)."""

    admits: Callable[[Any], bool]
    fields: Any


# From this many elements on, checking them in a child pays for the fork (~2 ms).
BESIDE = 2000


class _DoubtError(Exception):
    """An element this path cannot vouch for: the whole-document path reads the document."""


_DOUBT: Any = object()  # what _vouch answers for an element it cannot vouch for


def _vouch(raw: Any, validator: fastschema.Compiled) -> Any:
    """The element's tree, strict and valid; :data:`_DOUBT` when it cannot vouch for it."""
    shallow = parsers.MAX_DEPTH - 1  # the array is one level; its elements start below
    text = bytes(raw)  # a copy of 1 KB: bytes compare at C speed, a memoryview does not
    read = _as_json(raw, text)
    if read is not None:
        tree, written = read
        deep = written.count(b"[") + written.count(b"{") > shallow
    else:
        tree = _strict(text)
        if tree is None:
            return _DOUBT
        deep = True
    if deep and not parsers.shallow(tree, shallow):
        return _DOUBT
    return tree if fastschema.passes(validator, tree) else _DOUBT


def _checked(items: list[Any], validator: fastschema.Compiled) -> Iterator[tuple[Any, ...]]:
    """(index, raw, tree, again) for each element vouched for; _DoubtError at the first not."""
    for index, raw in enumerate(items):
        tree = _vouch(raw, validator)
        if tree is _DOUBT:
            raise _DoubtError
        yield index, raw, tree, _Again(raw)


def _may_fork() -> bool:
    """A child can check beside this process: POSIX fork, two CPUs it may run on, no other
    thread (a forked copy of another thread's locks could hang)."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cpus or 1) > 1


def _load_beside(
    items: list[Any],
    validator: fastschema.Compiled,
    build: Build[T],
    fields: Any,
    keep: Keep | None,
) -> list[T] | None:
    """A child checks elements from the first on while this process builds the records,
    then checks from the last one down until the two meet (:class:`_Meeting`): however
    the costs of building and checking compare, both finish together."""
    import msgspec  # noqa: PLC0415

    try:
        meeting = _Meeting(len(items))
    except OSError:  # no shared memory: everything here
        return _load_here(items, validator, build, keep)
    forked = _fork(lambda: meeting.upward(items, validator))
    if forked is None:
        return _load_here(items, validator, build, keep)
    child, readable = forked
    answer = None  # the child's, once read
    try:
        kept = None if keep is None else (keep.admits, msgspec.json.Decoder(keep.fields).decode)
        records = _built(items, build, msgspec.json.Decoder(fields).decode, kept)
        if records is not None and meeting.downward(items, validator):
            answer = os.read(readable, 1)
    finally:
        _reap(child, readable, kill=answer is None)
    return records if answer == b"1" else None


def beside(check: Callable[[], object], work: Callable[[], T]) -> T | None:
    """``work()``, done here while a forked child runs ``check()``: its answer when both
    succeed, else None (and None when no child can be forked): the caller then does the
    work the careful way, which says what is wrong.

    For a large document whose strict reading (``check``) and use (``work``, on a quicker
    reading that gives the same tree when the strict one accepts it) cost about the same:
    ``work`` must have no effect but its answer, as it may run on input ``check`` refuses.
    """
    if not _may_fork():
        return None

    def checked() -> bool:
        check()
        return True

    forked = _fork(checked)
    if forked is None:
        return None
    child, readable = forked
    answer = None  # the child's, once read
    try:
        try:
            result = work()
        except Exception:  # no answer: the careful way says what is wrong
            return None
        answer = os.read(readable, 1)
    finally:
        _reap(child, readable, kill=answer is None)
    return result if answer == b"1" else None


def _fork(answers: Callable[[], bool]) -> tuple[int, int] | None:
    """A forked child that runs ``answers`` and writes what it says (one byte) to a pipe:
    (its pid, the pipe's end to read), or None when no child could be forked."""
    try:
        readable, writable = os.pipe()
    except OSError:
        return None
    try:
        child = os.fork()
    except OSError:
        os.close(readable)
        os.close(writable)
        return None
    if child == 0:  # pragma: no cover (the child ends in os._exit: coverage cannot see it)
        _child(readable, writable, answers)
    os.close(writable)
    return child, readable


def _child(  # pragma: no cover (the forked child: coverage does not follow it)
    readable: int, writable: int, answers: Callable[[], bool]
) -> NoReturn:
    """A forked child's whole life: whatever happens, it ends here, never in the caller's
    code (Ctrl-C is the parent's: it kills the child; an exception means no)."""
    answer = b"0"
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.close(readable)
        answer = b"1" if answers() else b"0"
    finally:
        try:
            os.write(writable, answer)
        except OSError:
            pass  # the parent no longer listens
        finally:
            os._exit(0)


def _reap(child: int, readable: int, *, kill: bool) -> None:
    """The child waited for (killed first when its answer no longer matters: the parent
    already knows it, or gave up), its pipe closed; no child is left running."""
    try:
        if kill:
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    finally:
        os.close(readable)


class _Meeting:
    """Two processes checking one array from both ends, through two shared counters.

    The child claims elements upward from the first, the parent downward from the last;
    each publishes its claim before checking the element, and stops where the other's
    claims begin. Each stops only on seeing a claim the other made (and so checks), on any
    memory model, so no element goes unchecked; an element may be checked by both (at the
    meeting, when both read the other's counter before it moved), which costs time, never
    correctness. A process that finds a doubt tells the other to stop: the answer is no.
    """

    def __init__(self, size: int) -> None:
        import mmap  # noqa: PLC0415

        self._size = size
        # An anonymous mapping is shared with a forked child: [next up, lowest down].
        self._counters = memoryview(mmap.mmap(-1, 16)).cast("q")
        self._counters[0], self._counters[1] = 0, size

    def upward(self, items: list[Any], validator: fastschema.Compiled) -> bool:
        counters = self._counters
        index = 0
        while index < counters[1]:
            counters[0] = index + 1
            if _vouch(items[index], validator) is _DOUBT:
                counters[0] = self._size + 1  # the parent need check nothing more
                return False
            index += 1
        return True

    def downward(self, items: list[Any], validator: fastschema.Compiled) -> bool:
        counters = self._counters
        index = self._size - 1
        while index >= counters[0]:
            counters[1] = index
            if _vouch(items[index], validator) is _DOUBT:
                self.stop_child()
                return False
            index -= 1
        return True

    def stop_child(self) -> None:
        """The answer is no: the child need check nothing more."""
        self._counters[1] = -1


def _built(
    items: list[Any],
    build: Build[T],
    decode: Callable[[Any], Any],
    keep: tuple[Callable[[Any], bool], Callable[[Any], Any]] | None,
) -> list[T] | None:
    """The records, built from what ``decode`` reads of each element (of those ``keep``'s
    test admits of what its decoder reads); None if one failed.

    The elements are not vouched for yet (the child is checking them), so any failure
    here (a missing key, a type msgspec refuses) only means: the whole-document path
    will say what is wrong.
    """
    records: list[T] = []
    for index, raw in enumerate(items):
        try:
            if keep is not None and not keep[0](keep[1](raw)):
                continue
            record = build(index, decode(raw), _Again(raw))
        except Exception:  # not vouched for yet: see above
            return None
        if record is not None:
            records.append(record)
    return records


def _load_here(
    items: list[Any], validator: fastschema.Compiled, build: Build[T], keep: Keep | None
) -> list[T] | None:
    try:
        return [
            record
            for index, raw, tree, again in _checked(items, validator)
            if (keep is None or keep.admits(tree))
            and (record := build(index, tree, again)) is not None
        ]
    except (_DoubtError, InputError):
        return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cycle collection while records are built: they make no cycles, only objects.

    Python's collector runs every few hundred new objects and, ever more often, walks
    every object alive; over 100,000 records that is ~30 % of the whole load.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Again:
    """An element (vouched for) parsed again, from its place in the document.

    Kept per service, so small; used when a plan needs the service's fingerprint. msgspec
    reads it: what the strict parser accepts, msgspec reads as it does (integers past 64
    bits too, which orjson reads as floats; property-tested).
    """

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __call__(self) -> Any:
        import msgspec  # noqa: PLC0415 (large inputs only)

        return msgspec.json.decode(self.raw)


def _as_json(raw: Any, text: bytes) -> tuple[Any, bytes] | None:
    """(tree, its compact text) as orjson reads ``text``, if that is what ``json`` reads.

    orjson refuses what is not JSON but keeps the last of repeated keys and reads an
    integer past 64 bits as a float; written back, such a tree is not ``text`` made
    compact (msgspec changes only whitespace). None then, or when orjson refuses it.
    """
    msgspec, orjson = _libraries()
    try:
        tree = orjson.loads(text)
        written = orjson.dumps(tree)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    if written == text or written == msgspec.json.format(raw, indent=-1):
        return tree, written
    return None


@cache
def _libraries() -> tuple[Any, Any]:
    """msgspec and orjson, imported once (an import statement per element costs ~5 %)."""
    import msgspec  # noqa: PLC0415 (large inputs only)
    import orjson  # noqa: PLC0415

    return msgspec, orjson


def _strict(text: bytes) -> Any:
    """The element parsed the whole-document way, or None if that finds any problem."""
    try:
        return parsers.loads_json(text.decode("utf-8"), "")
    except (InputError, UnicodeDecodeError):
        return None


@cache
def _item_validator(schema_name: str) -> fastschema.Compiled | None:
    """A compiled validator of one element, if the schema is a plain array of such items."""
    schema = documents.load_schema(schema_name)
    if schema.get("type") != "array" or not set(schema) <= _ARRAY_KEYWORDS:
        return None
    items = schema.get("items", True)
    if not isinstance(items, dict) or "$defs" in items or not _refs_to_defs(items):
        return None
    # $defs stay beside the item schema, so "$ref": "#/$defs/..." resolves as before.
    return fastschema.compile_schema({**items, "$defs": schema.get("$defs", {})})


def _refs_to_defs(schema: Any) -> bool:
    """Whether every ``$ref`` in ``schema`` names a ``$defs`` entry (all that still resolves)."""
    if isinstance(schema, list):
        return all(_refs_to_defs(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    ref = schema.get("$ref")
    if ref is not None and not (isinstance(ref, str) and ref.startswith("#/$defs/")):
        return False
    return all(_refs_to_defs(value) for value in schema.values())
