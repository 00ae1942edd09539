"""Dispatcher types: how the inbox hands an environment's plan onward.

:data:`DISPATCH_TYPES` lists them, one line per type, and is the only place naming them all.
"""

from __future__ import annotations

from cdhelper.errors import ConfigError
from cdhelper.inbox.dispatchers import apply, github, jenkins, plans
from cdhelper.inbox.dispatchers.base import DispatchType

DISPATCH_TYPES: tuple[DispatchType, ...] = (
    plans.TYPE,
    apply.TYPE,
    jenkins.TYPE,
    github.TYPE,
)


def names() -> list[str]:
    return [t.name for t in DISPATCH_TYPES]


def by_name(name: str) -> DispatchType:
    for kind in DISPATCH_TYPES:
        if kind.name == name:
            return kind
    raise ConfigError(f"unknown dispatch type {name!r}: expected one of {', '.join(names())}")
