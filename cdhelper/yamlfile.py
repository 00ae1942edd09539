"""YAML in one place: the strict loader for plans, and the deterministic dumper.

cdhelper writes plans as plain data, so a plan it reads back may hold only what JSON can:
no anchors or aliases (a 1 KB "billion laughs" plan would expand to gigabytes), no merge
keys, no repeated keys, no tags that build other values (binary, set, omap, pairs), no
``.nan`` or ``.inf``; timestamps stay strings (the schema checks them). The result passes
:func:`cdhelper.parsers.check_tree` like any JSON document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from cdhelper import yamlblock, yamlemit
from cdhelper.errors import InputError
from cdhelper.parsers import MAX_DEPTH, MAX_INT_DIGITS, check_tree
from cdhelper.values import shown


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


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(CParser, StrictLoader):
        """:class:`StrictLoader`'s constructors and resolvers over libyaml's parser.

        libyaml composes in C, so :meth:`StrictLoader.compose_node` (which refuses
        anchors) never runs: :func:`_fast_ok` sends text that could hold one elsewhere.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


# What libyaml and PyYAML read alike (tests compare them): printable ASCII, lines indented at
# most 32 columns (so nesting stays shallow for libyaml's recursive C composer), flow
# collections only empty, and no & or * (the C composer does not report anchors).
_FAST_TEXT = re.compile(r"[^\x20-\x7e\n]|[&*!%]|^ {33}|\[(?!\])|\{(?!\})", re.MULTILINE)


def _fast_ok(text: str) -> bool:
    return yaml.__with_libyaml__ and text.isascii() and _FAST_TEXT.search(text) is None


def _load(text: str) -> Any:
    """The tree, from the fastest reader that reads the text as PyYAML does.

    The block reader (:mod:`cdhelper.yamlblock`) takes what the plan writer writes, ~10
    times faster than libyaml; libyaml parses the rest of what it reads alike ~3 times
    faster than PyYAML. Any error either meets is left to PyYAML: messages stay PyYAML's.
    """
    if _fast_ok(text):
        data = yamlblock.read(text, StrictLoader)
        if data is not None:
            return data
        try:
            return yaml.load(text, Loader=_FastLoader)  # noqa: S506 (StrictLoader's constructors)
        except Exception:  # noqa: S110 (PyYAML says what is wrong, below)
            pass
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)


def loads(text: str, where: str) -> Any:
    """Parse YAML with :class:`StrictLoader` and check the tree: see :func:`check_tree`."""
    try:
        data = _load(text)
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


# How plans are written: keys in the caller's order, block style, text as it is, 100 wide.
STYLE: dict[str, Any] = {
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": yamlemit.WIDTH,
}


def dump(data: Any) -> str:
    """Deterministic YAML: keys in the order the caller built them, block style.

    :mod:`cdhelper.yamlemit` writes what PyYAML would, directly (a plan of thousands of
    actions in a sixth of the time); PyYAML writes what it leaves (floats, text that is
    not printable ASCII or spans lines). libyaml's emitter is not used: it writes some
    documents differently (a key of 123 to 127 characters, text outside ASCII).
    """
    written = yamlemit.dump(data)
    if written is not None:
        return written
    return str(yaml.dump(data, Dumper=yaml.SafeDumper, **STYLE))
