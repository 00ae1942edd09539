"""The fast reader of plans: the block YAML that cdhelper writes, read line by line.

PyYAML builds a node, two marks and a resolved tag for every scalar before it builds the
value, in Python even over libyaml: ~0.15 ms per action of a plan, most of ``show`` on a
large one. The plan writer only ever emits block mappings with plain identifier keys,
indentless block sequences, and scalars plain or single-quoted on one line (or folded over
a few); this reader takes that subset in one pass over the lines and returns None for
anything else, which :mod:`cdhelper.yamlfile` then reads with PyYAML, messages and all.

It decides nothing about values itself: a plain scalar gets the tag PyYAML's resolver gives
it and the value :class:`~cdhelper.yamlfile.StrictLoader`'s constructor makes of it (cached
per text), and a scalar outside the one-line forms is read by PyYAML on its own. So the
structure is the only thing this module parses, and tests compare it with PyYAML's.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import ScalarNode

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,127}):(?: (.*))?\Z")
_BLANK = re.compile(r"^ *\n", re.MULTILINE)
_QUOTED = re.compile(r"'((?:[^']|'')*)'\Z")
# What cannot start a one-line plain scalar (YAML's indicators, and a space).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_STR = "tag:yaml.org,2002:str"
_SCALARS = (str, int, float, bool, type(None))


def _plain(text: str) -> bool:
    """A line of a plain scalar, read as it stands: no indicator first, no comment, no key."""
    return (
        text != ""
        and text[0] not in _INDICATORS
        and text[-1] not in ": "
        and ": " not in text
        and " #" not in text
    )


class _OutsideError(Exception):
    """Outside the subset: PyYAML reads the text."""


def read(text: str, loader: type[yaml.SafeLoader]) -> dict[str, Any] | None:
    """The mapping ``text`` holds, as ``loader`` would build it; None when outside the subset.

    ``text`` must already be printable ASCII without anchors, tags or flow collections
    (:func:`cdhelper.yamlfile._fast_ok`); a line indented 33 columns or more is refused
    there too, which keeps the recursion here shallow.
    """
    lines = text.split("\n")
    if lines.pop() != "" or not lines or lines[0][:1] in ("", " ") or _BLANK.search(text):
        return None  # blank lines matter to multi-line scalars only: PyYAML's business
    reader = _Reader(lines, loader)
    try:
        data = reader.mapping(0, lines[0])
    except _OutsideError:
        return None
    return data if reader.pos == len(lines) else None


class _Reader:
    def __init__(self, lines: list[str], loader: type[yaml.SafeLoader]) -> None:
        self.lines = lines
        self.pos = 0  # the line being read
        # each line's indentation, and -1 past the last
        self.indents = [len(line) - len(line.lstrip(" ")) for line in lines]
        self.indents.append(-1)
        self.loader = loader
        self.resolver = loader("")
        first = set(loader.yaml_implicit_resolvers)
        self.may_resolve = None if None in first else frozenset(k for k in first if k)
        self.plain: dict[str, Any] = {}  # plain scalar text -> its value, for this document

    def mapping(self, column: int, content: str) -> dict[str, Any]:
        """A block mapping whose keys sit at ``column``; ``content`` is its first line's."""
        result: dict[str, Any] = {}
        while True:
            match = _KEY.match(content)
            if match is None:
                raise _OutsideError
            key = self.scalar_value(match[1])
            if type(key) is not str or key in result:
                raise _OutsideError  # PyYAML names the duplicate, check_tree the odd key
            self.pos += 1
            rest = match[2]
            result[key] = self.nested(column) if rest is None else self.scalar(rest, column)
            following = self.indents[self.pos]
            if following < column:
                return result
            if following > column:
                raise _OutsideError
            content = self.lines[self.pos][column:]

    def nested(self, column: int) -> Any:
        """The block node after ``key:`` at ``column``: deeper, or an indentless sequence."""
        following = self.indents[self.pos]
        if following < column:
            raise _OutsideError  # an empty value (null): the writer says null
        content = self.lines[self.pos][following:]
        if content.startswith("- "):
            return self.sequence(following)
        if following == column:
            raise _OutsideError
        return self.mapping(following, content)

    def sequence(self, column: int) -> list[Any]:
        """A block sequence whose dashes sit at ``column``."""
        items: list[Any] = []
        while True:
            content = self.lines[self.pos][column + 2 :]
            if _KEY.match(content):
                items.append(self.mapping(column + 2, content))
            elif content[:1] in ("-", " ", ""):
                raise _OutsideError  # a nested sequence, or an odd indentation
            else:
                self.pos += 1
                items.append(self.scalar(content, column))
            following = self.indents[self.pos]
            if following < column:
                return items
            if following > column:
                raise _OutsideError
            if not self.lines[self.pos].startswith("- ", column):
                return items  # the next key of the mapping this sequence is the value of

    def scalar(self, text: str, column: int) -> Any:
        """The scalar ``text`` starts; lines deeper than ``column`` continue it (folded)."""
        if self.indents[self.pos] > column:
            start = self.pos
            while self.indents[self.pos] > column:
                self.pos += 1
            more = [self.lines[i][self.indents[i] :] for i in range(start, self.pos)]
            return self.folded(text, more)
        if _plain(text):
            return self.scalar_value(text)
        if text[:1] == "'":
            quoted = _QUOTED.match(text)
            if quoted:
                return quoted[1].replace("''", "'")
        elif text == "[]":
            return []
        elif text == "{}":
            return {}
        return self.by_pyyaml(text, more=[])

    def folded(self, text: str, more: list[str]) -> Any:
        """A scalar over several lines: each line break is a space (no line is blank here).

        A plain scalar's lines are taken as they are; a quoted one drops the spaces
        before each break, as YAML folds it.
        """
        if _plain(text) and all(_plain(line) for line in more):
            return self.scalar_value(" ".join([text, *more]))
        if text[:1] == "'":
            quoted = _QUOTED.match(" ".join([text.rstrip(" ")] + [p.rstrip(" ") for p in more]))
            if quoted:
                return quoted[1].replace("''", "'")
        return self.by_pyyaml(text, more)

    def scalar_value(self, text: str) -> Any:
        """A one-line plain scalar's value: what PyYAML resolves and constructs from it."""
        if self.may_resolve is not None and text[0] not in self.may_resolve:
            return text
        try:
            return self.plain[text]
        except KeyError:
            pass
        resolve = self.resolver.resolve
        tag = resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if tag == _STR:
            value: Any = text
        else:
            try:
                value = self.loader.yaml_constructors[tag](self.resolver, ScalarNode(tag, text))
            except Exception:
                raise _OutsideError from None  # refused (.nan, a huge integer): PyYAML says so
        self.plain[text] = value
        return value

    def by_pyyaml(self, first: str, more: list[str]) -> Any:
        """A scalar outside the one-line forms, as PyYAML reads it under a key of its own.

        Folding does not depend on how deep the continuation lines are, only that they
        are deeper than the key: here it sits at column 0.
        """
        snippet = "x: " + first + "\n" + "".join(f" {line}\n" for line in more)
        try:
            loaded = yaml.load(snippet, Loader=self.loader)  # noqa: S506 (a SafeLoader)
        except Exception:
            raise _OutsideError from None
        if type(loaded) is not dict or list(loaded) != ["x"]:
            raise _OutsideError
        value = loaded["x"]
        if type(value) not in _SCALARS:
            raise _OutsideError
        return value
