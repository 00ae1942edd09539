"""The dispatcher types, one module each (see :mod:`cdhelper.inbox.dispatchers.base`)."""

from __future__ import annotations

from cdhelper.errors import ConfigError
from cdhelper.inbox.dispatchers import github, jenkins
from cdhelper.inbox.dispatchers.base import DispatchType

DISPATCH_TYPES: tuple[DispatchType, ...] = (jenkins.DISPATCH_TYPE, github.DISPATCH_TYPE)


def by_name(name: str) -> DispatchType:
    for kind in DISPATCH_TYPES:
        if kind.name == name:
            return kind
    known = ", ".join(k.name for k in DISPATCH_TYPES)
    raise ConfigError(f"unknown dispatch type {name!r}: expected one of {known}")
