"""Click parameter types for option syntax: a malformed value is a usage error (exit 2).

Each type checks and converts one value, so the commands receive typed values and hold no
parsing code of their own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from cdhelper import filters, planner, windows
from cdhelper.reference import is_valid_host, normalise_registry
from cdhelper.values import parse_duration

if TYPE_CHECKING:  # click >= 8.3 makes ParamType generic; older releases are not subscriptable
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType


class FilterType(_ParamType):
    name = "filter"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, filters.Filter):
            return value
        try:
            [parsed] = filters.parse_filters([value])
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return parsed


class AliasType(_ParamType):
    """``ALIAS=REGISTRY`` as a normalised ``(alias, registry)`` pair."""

    name = "alias"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        try:
            [(alias, registry)] = planner.parse_aliases([value]).items()
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return (alias, registry)


class HostType(_ParamType):
    """A registry host, ``host[:port]``, as Docker would accept it; normalised."""

    name = "host"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str) or not is_valid_host(value):
            self.fail(f"invalid registry host {value!r}: expected HOST[:PORT]", param, ctx)
        return normalise_registry(value)


class RealmType(_ParamType):
    """A token service trusted with registry credentials, as its origin ``scheme://host[:port]``."""

    name = "realm"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        # the registry's auth module needs requests: loaded by a plan that asks a registry
        from cdhelper.registry_auth import trusted_realm  # noqa: PLC0415

        try:
            return trusted_realm(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class DurationType(_ParamType):
    """``90s``, ``30m``, ``2h``, ``7d`` as a timedelta."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        try:
            return timedelta(seconds=parse_duration(str(value)))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class WindowType(_ParamType):
    """A deploy window, ``DAYS HH:MM-HH:MM [ZONE]``; ``;`` separates several in
    ``CDHELPER_WINDOWS`` (a window has spaces, which pipeline argument strings split on)."""

    name = "window"
    envvar_list_splitter = ";"

    def split_envvar_value(self, rv: str) -> Any:
        return tuple(part.strip() for part in rv.split(";") if part.strip())

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, windows.Window):
            return value
        try:
            return windows.Window.parse(str(value))
        except windows.WindowError as exc:
            self.fail(str(exc), param, ctx)


FILTER = FilterType()
ALIAS = AliasType()
HOST = HostType()
REALM = RealmType()
DURATION = DurationType()
WINDOW = WindowType()
