"""Scope filters: which services a plan looks at (``--filter``).

``label=KEY=VALUE`` (or ``label=KEY`` for any value), ``stack=NAME`` and ``name=GLOB``.
As with ``docker service ls --filter``: filters of one kind are alternatives (any may
match), filters of different kinds must all match.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from cdhelper.inventory import Service

KINDS = ("label", "stack", "name")


@dataclass(frozen=True)
class Filter:
    kind: str
    value: str

    def matches(self, service: Service) -> bool:
        if self.kind == "stack":
            return service.stack == self.value
        if self.kind == "name":
            return fnmatch.fnmatchcase(service.name, self.value)
        key, sep, wanted = self.value.partition("=")
        return key in service.labels and (not sep or service.labels[key] == wanted)


def parse_filters(texts: Sequence[str]) -> tuple[Filter, ...]:
    filters = []
    for text in texts:
        kind, sep, value = text.partition("=")
        if not sep or kind not in KINDS or not value or value.startswith("="):
            raise ValueError(
                f"invalid filter {text!r}: expected label=KEY[=VALUE], stack=NAME or name=GLOB"
            )
        filters.append(Filter(kind, value))
    return tuple(filters)


def in_scope(service: Service, filters: Sequence[Filter]) -> bool:
    kinds = {f.kind for f in filters}
    return all(any(f.matches(service) for f in filters if f.kind == kind) for kind in kinds)
