"""The fast path of schema validation: a compiled validator that only says yes or no.

``jsonschema`` explains every problem with its JSON path, and costs ~0.1 ms per service
of a large inventory; ``jsonschema-rs`` (Rust) answers the same question ~80 times
faster but words its errors differently. So :func:`cdhelper.documents.schema_errors`
asks this module first, and only a document it does not pass goes to ``jsonschema``,
which says what is wrong: messages never change, and the schemas in ``schemas/`` stay
the one source of truth (both validators compile the same file).

Both must mean the same by every schema they share. Formats are annotations in both
(draft 2020-12; cdhelper asserts none). Regular expressions are where they could part:
``jsonschema`` runs Python's ``re`` (with a final ``$`` meaning the end of the text, as
ECMA 262 says), ``jsonschema-rs`` its ECMA 262 dialect. A schema is compiled here only
when each of its patterns keeps to a subset that reads the same in both (literals,
classes of explicit characters and ranges, ``\\uXXXX``, groups, alternation, quantifiers,
``^`` and a final ``$``); ``\\s``, ``\\d``, ``\\w``, ``.`` and the like differ between
dialects (``\\s`` and U+001C, say), and such a schema always takes the full path.
Tests compare the two paths on valid and mutated documents of every schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol


class Compiled(Protocol):
    def is_valid(self, instance: Any) -> bool: ...


# An escape both dialects read as the one character: \uXXXX, or an escaped punctuation mark.
_SAFE_ESCAPE = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|[\\/.\[\]{}()*+?^$|-])")
# Outside a class: the characters that are syntax in both dialects, and plain characters.
_SAFE_OUTSIDE = re.compile(r"[^\\.\[$]")


def compile_schema(schema: dict[str, Any]) -> Compiled | None:
    """A compiled validator that means what ``jsonschema`` means by ``schema``, if one can.

    None when none can stand in for ``jsonschema``: the package is missing, or a pattern
    is outside the dialect both read alike.
    """
    if not shared_dialect(schema):
        return None
    try:
        import jsonschema_rs  # noqa: PLC0415 (loaded by the commands that validate)
    except ImportError:
        return None
    compiled: Compiled = jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
    return compiled


def passes(compiled: Compiled | None, instance: Any) -> bool:
    """True when ``compiled`` passes ``instance``; False means "ask jsonschema".

    False too when there is no compiled validator, or the instance holds a value that is
    not JSON (the full path then says what it is).
    """
    if compiled is None:
        return False
    try:
        return compiled.is_valid(instance)
    except Exception:  # any doubt goes to the full validator
        return False


def shared_dialect(schema: Any) -> bool:
    """Whether every regular expression of ``schema`` means the same in Python and ECMA 262."""
    return all(pattern_is_shared(p, final_end=f) for p, f in _patterns(schema))


def _patterns(schema: Any) -> Iterator[tuple[str, bool]]:
    """Each ``pattern`` (its final ``$`` read as the end) and ``patternProperties`` key."""
    if isinstance(schema, list):
        for item in schema:
            yield from _patterns(item)
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            yield value, True
        elif key == "patternProperties" and isinstance(value, dict):
            # jsonschema searches these with plain re: there a final $ also matches before
            # a final newline, which ECMA's does not.
            yield from ((p, False) for p in value)
            yield from _patterns(list(value.values()))
        elif key in ("properties", "$defs", "definitions", "dependentSchemas") and isinstance(
            value, dict
        ):
            yield from _patterns(list(value.values()))  # keys there are names, not keywords
        else:
            yield from _patterns(value)


def pattern_is_shared(pattern: str, *, final_end: bool = True) -> bool:
    """A pattern in the subset that Python's ``re`` and ECMA 262 read alike.

    ``final_end``: a final ``$`` counts as the end of the text (cdhelper's ``pattern``).
    """
    body = pattern
    if final_end and body.endswith("$") and not _escaped_at(body, len(body) - 1):
        body = body[:-1]
    position = 0
    in_class = False
    while position < len(body):
        char = body[position]
        if char == "\\":
            escape = _SAFE_ESCAPE.match(body, position)
            if escape is None:
                return False
            position = escape.end()
            continue
        if in_class:
            if char == "[":
                return False  # a nested class, or POSIX [:alpha:]: Python warns, ECMA differs
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if body.startswith("[^]", position) or body.startswith("[]", position):
                return False  # ECMA's empty class: Python reads a literal ]
        elif (
            char == "(" and body.startswith("(?", position) and not body.startswith("(?:", position)
        ):
            return False  # lookaround, named groups, inline flags
        elif not _SAFE_OUTSIDE.match(char):
            return False  # . or a $ before the end
        position += 1
    return not in_class


def _escaped_at(text: str, index: int) -> bool:
    backslashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return backslashes % 2 == 1
