"""Block-style YAML written the way PyYAML writes it, for the documents cdhelper writes.

A plan over a large Swarm lists thousands of actions and skipped services; PyYAML builds a
node per value and an event per node, then emits them (~90 µs an action, even with
libyaml's emitter). Plans, reports and snapshots are nested mappings and lists of strings,
integers, booleans and nulls, so this module writes them directly: the bytes PyYAML's
``safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True,
width=100)`` writes, which tests compare on generated documents. Whatever it was not built
for (floats, text that is not printable ASCII or has a line break, a key PyYAML would not
write as a plain or single-quoted simple key) makes :func:`dump` answer None: the caller
then asks PyYAML.

The rules ported are PyYAML's (``emitter.py``: ``analyze_scalar``, ``choose_scalar_style``,
``write_plain``, ``write_single_quoted``, ``write_indent``; the indentation of block
collections, sequences inside mappings written without indentation); whether a plain
scalar would be read back as another type is asked of PyYAML's own resolver.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

WIDTH = 100  # PyYAML's best_width as cdhelper sets it
_INDENT = 2

# Printable ASCII starting with a letter, "_" or "/", with no space, quote, comment or
# flow/block indicator that changes anything in block context and no final ":", and not a
# word PyYAML's resolver could read as a boolean or a null (whatever the case): plain.
_PLAIN = re.compile(
    r"(?!(?i:yes|no|true|false|on|off|null|y|n)\Z)[A-Za-z_/][A-Za-z0-9_./:@+=-]*(?<!:)"
)
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


class UnsupportedError(Exception):
    """A value this writer does not write: PyYAML writes the document."""


def dump(data: Any) -> str | None:
    """``data`` as PyYAML writes it (see the module's doc), or None: ask PyYAML."""
    if not isinstance(data, (dict, list)) or not data:
        return None
    out: list[str] = []
    try:
        _block(data, 0, out)
    except UnsupportedError:
        return None
    out.append("\n")
    return "".join(out)


def _block(value: dict[Any, Any] | list[Any], indent: int, out: list[str]) -> None:
    """A non-empty block collection at ``indent``, its first line begun (the cursor there).

    The common values (a plain word, null, an integer) are written here, one piece per
    line: a plan of 100,000 services has half a million of them.
    """
    if isinstance(value, dict):
        _mapping(value, indent, out)
    else:
        _sequence(value, indent, out)


def _mapping(value: dict[Any, Any], indent: int, out: list[str]) -> None:
    append = out.append
    newline = "\n" + " " * indent
    first = True
    for key, item in value.items():
        if first:
            first = False
        else:
            append(newline)
        head = _key(key)
        kind = type(item)
        if kind is str:
            if _PLAIN.fullmatch(item):
                append(f"{head} {item}")  # no space in it: never folded
            else:  # a text (cached: plans repeat their reasons), after "key: "
                append(f"{head} {_written(item, indent + _INDENT, indent + len(head) + 1)}")
        elif item is None:
            append(f"{head} null")
        elif kind is int:
            append(f"{head} {item}")
        elif kind is dict and item:  # a mapping in a mapping: indented, on the next line
            append(f"{head}\n{' ' * (indent + _INDENT)}")
            _mapping(item, indent + _INDENT, out)
        else:
            append(head)
            _value(item, indent, out, indent + len(head), in_mapping=True)


def _sequence(value: list[Any], indent: int, out: list[str]) -> None:
    append = out.append
    newline = "\n" + " " * indent
    first = True
    for item in value:
        if first:
            first = False
        else:
            append(newline)
        kind = type(item)
        if kind is str and _PLAIN.fullmatch(item):
            append(f"- {item}")
        elif kind is dict and item:  # "- key: value", the mapping's keys under the first
            append("- ")
            _mapping(item, indent + _INDENT, out)
        else:
            append("-")
            _value(item, indent, out, indent + 1, in_mapping=False)


def _value(item: Any, indent: int, out: list[str], column: int, *, in_mapping: bool) -> None:
    """What follows ``key:`` or ``-`` (written; the cursor is at ``column``)."""
    kind = type(item)
    if kind is dict or kind is list:
        if not item:
            out.append(" {}" if kind is dict else " []")
        elif kind is dict:
            if in_mapping:
                out.append("\n" + " " * (indent + _INDENT))
                _block(item, indent + _INDENT, out)
            else:  # "- key: value", the mapping's keys under the first
                out.append(" ")
                _block(item, indent + _INDENT, out)
        elif in_mapping:  # a sequence in a mapping is not indented
            out.append("\n" + " " * indent)
            _block(item, indent, out)
        else:
            out.append(" ")
            _block(item, indent + _INDENT, out)
        return
    out.append(" ")
    _scalar(item, indent + _INDENT, out, column + 1)


def _scalar(item: Any, indent: int, out: list[str], column: int) -> None:
    kind = type(item)
    if kind is str:
        if _PLAIN.fullmatch(item):
            out.append(item)  # no space in it: never folded
        else:
            out.append(_written(item, indent, column))
    elif item is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if item else "false")
    elif kind is int:
        out.append(str(item))
    else:
        raise UnsupportedError(kind.__name__)


@lru_cache(maxsize=1024)
def _key(key: Any) -> str:
    """A mapping key as written, with its colon (a plan's few keys repeat thousands of times)."""
    # PyYAML writes a key "? key" unless it is simple: shorter than 128 with its tag, !!str
    if type(key) is not str or len(key) + len("!!str") >= 128:
        raise UnsupportedError("key")
    if _PLAIN.fullmatch(key):
        return key + ":"
    style = _style(key)
    if style == "'" and key:
        return "'" + key.replace("'", "''") + "':"
    if style == "":
        return key + ":"
    raise UnsupportedError("key")


@lru_cache(maxsize=4096)
def _written(text: str, indent: int, column: int) -> str:
    """A string value in PyYAML's style for it, folded at spaces past the width as it folds.

    Plans repeat their texts: a smart plan over a large Swarm says "up to date: runs ..."
    for every service of an image, at the same place in each entry.
    """
    pieces: list[str] = []
    if _style(text) == "":
        _plain(text, indent, pieces, column)
    else:
        _single_quoted(text, indent, pieces, column)
    return "".join(pieces)


@lru_cache(maxsize=4096)
def _style(text: str) -> str:
    """``""`` (plain) or ``"'"``: PyYAML's choice for printable ASCII without a line break."""
    if not _PRINTABLE.fullmatch(text):
        raise UnsupportedError("text")
    if text == "":
        return "'"
    if _resolve(text) != "tag:yaml.org,2002:str":
        return "'"
    if text[0] == " " or text[-1] == " " or _block_indicators(text):
        return "'"
    return ""


def _resolve(text: str) -> str:
    """The tag PyYAML's resolver gives ``text`` written plain."""
    return str(_RESOLVER.resolve(yaml.nodes.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]


_RESOLVER = yaml.resolver.Resolver()


def _block_indicators(text: str) -> bool:
    """PyYAML's ``analyze_scalar``, block context: what forbids a plain scalar there."""
    if text.startswith(("---", "...")):
        return True
    length = len(text)
    for index, char in enumerate(text):
        followed_by_space = index + 1 >= length or text[index + 1] == " "
        if index == 0:
            if char in "#,[]{}&*!|>'\"%@`":
                return True
            if char in "?:-" and followed_by_space:
                return True
        else:
            if char == ":" and followed_by_space:
                return True
            if char == "#" and text[index - 1] == " ":
                return True
    return False


def _plain(text: str, indent: int, out: list[str], column: int) -> None:
    """PyYAML's ``write_plain``: at a single space past the width, a new line instead."""
    if column + len(text) <= WIDTH:  # no space is past the width
        out.append(text)
        return
    words = text.split(" ")
    out.append(words[0])
    column += len(words[0])
    pending = 0  # spaces not yet written
    for word in words[1:]:
        if word == "":
            pending += 1
            continue
        spaces = pending + 1
        pending = 0
        if spaces == 1 and column > WIDTH:
            out.append("\n" + " " * indent)
            column = indent
        else:
            out.append(" " * spaces)
            column += spaces
        out.append(word)
        column += len(word)


def _single_quoted(text: str, indent: int, out: list[str], column: int) -> None:
    """PyYAML's ``write_single_quoted``: folded like plain text, but never at either end."""
    if column + 1 + len(text) + text.count("'") <= WIDTH:  # no space is past the width
        out.append("'" + text.replace("'", "''") + "'")
        return
    out.append("'")
    column += 1
    position = 0
    length = len(text)
    while position < length:
        if text[position] == " ":
            end = position
            while end < length and text[end] == " ":
                end += 1
            if end - position == 1 and column > WIDTH and position != 0 and end != length:
                out.append("\n" + " " * indent)
                column = indent
            else:
                out.append(text[position:end])
                column += end - position
            position = end
            continue
        end = position
        while end < length and text[end] != " ":
            end += 1
        word = text[position:end].replace("'", "''")
        out.append(word)
        column += len(word)
        position = end
    out.append("'")
