"""The command line: parse options, call one function, map the result to an exit code.

Exit codes: 0 success, 1 error (bad input, API failure, stale plan, failed action),
2 usage error; ``plan --detailed-exitcode``: 0 no actions, 1 error, 2 actions present.
Errors become exit codes in one place, :class:`~cdhelper.cli.base.CdhelperGroup`.

Each command lives in its own module of this package, imported only when that command
runs (or -h lists them all): ``cdhelper plan`` over an inventory file loads neither the
applier nor docker-py, requests or the inbox server.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator, Mapping, MutableMapping

import click

from cdhelper import __version__
from cdhelper.cli.base import CdhelperGroup

# Each command's name, and the module and name of its click command.
COMMANDS = {
    "apply": "cdhelper.cli.apply:apply",
    "config": "cdhelper.cli.inbox:config_group",
    "inbox": "cdhelper.cli.inbox:inbox_group",
    "inventory": "cdhelper.cli.inventory:inventory",
    "plan": "cdhelper.cli.plan:plan_command",
    "revert": "cdhelper.cli.revert:revert_command",
    "serve": "cdhelper.cli.inbox:serve",
    "show": "cdhelper.cli.show:show",
    "tags": "cdhelper.cli.tags:tags",
    "validate": "cdhelper.cli.validate:validate",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name; each one's module is imported when it is first looked up.

    click asks ``commands`` for what to run (``get``), what to list (iteration) and what
    to suggest for a typo (the names only), so a group holding this runs its commands
    as ever while importing only the one that runs.
    """

    def __init__(self, locations: Mapping[str, str]) -> None:
        self._locations = dict(locations)  # name: "module:attribute"
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, _, attribute = self._locations[name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), self._locations[name]
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._locations.pop(name, None)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._locations.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:  # Mapping's would import the module
        return name in self._locations or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._locations, *self._loaded]))

    def __len__(self) -> int:
        return len(self._locations.keys() | self._loaded.keys())


@click.group(
    cls=CdhelperGroup,
    commands=LazyCommands(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="cdhelper")
def cli() -> None:
    """Plan and apply Docker Swarm redeploys from registry webhooks."""


def main() -> None:
    # One command, then exit: the cycle collector need not walk the objects a large
    # inventory or plan is made of every few hundred allocations (that costs ~15 % of a
    # plan over 100,000 services). It still runs, after 100,000 new objects.
    gc.set_threshold(100_000, 50, 100)
    cli(prog_name="cdhelper")
