"""What every command shares: errors turned into exit codes, printing, input and output checks.

Every text printed or written goes through :func:`echo` or :func:`emit`, which hide the
secrets cdhelper knows (:mod:`cdhelper.redact`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from cdhelper import documents
from cdhelper.errors import CdhelperError, UsageError
from cdhelper.redact import redact

EXIT_ERROR = 1
EXIT_CHANGES = 2


class CdhelperCommand(click.Command):
    """A usage problem found by the command itself is click's, shown with its usage line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            # ctx is this command's: the message shows `Usage: cdhelper plan ...`
            raise click.UsageError(str(exc), ctx) from None


class CdhelperGroup(click.Group):
    """Turns every cdhelper error into its message and exit code 1 (2 for usage problems)."""

    command_class = CdhelperCommand
    group_class = type  # subgroups (config, inbox) are CdhelperGroups too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise click.UsageError(str(exc), ctx) from None
        except CdhelperError as exc:
            fail(str(exc))


def fail(message: str) -> NoReturn:
    echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print, with every known secret replaced by ***."""
    click.echo(redact(text), err=err, nl=nl)


def note(message: str) -> None:
    echo(f"note: {message}", err=True)


def emit(text: str, output: str | None) -> None:
    """Write a document (plan, snapshot, report) to ``output`` or stdout, secrets hidden."""
    shown = redact(text)
    if output and output != documents.STDIN:
        if shown != text:
            echo(f"warning: {output}: a known secret in it was replaced by ***", err=True)
        documents.write_atomic(output, shown)
    else:
        click.echo(shown, nl=False)


def writable(*paths: str | None) -> None:
    for path in paths:
        if path:
            documents.check_writable(path)


def stdin_once(inputs: Mapping[str, Sequence[str | None]]) -> None:
    """'-' given to two inputs would hand the second an empty stdin: a usage error."""
    readers = [name for name, paths in inputs.items() for path in paths if path == documents.STDIN]
    if len(readers) < 2:
        return
    names = list(dict.fromkeys(readers))
    given = f"{names[0]} twice" if len(names) == 1 else " and ".join(names)
    raise UsageError(f"'-' (stdin) is given to {given}: stdin can be read only once")


def distinct_outputs(outputs: dict[str, str | None], inputs: Sequence[str | None]) -> None:
    """An output path that is an input, or another output, would destroy what it reads."""
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if not path or path == documents.STDIN:
            continue
        for other in inputs:
            if other and other != documents.STDIN and documents.same_file(path, other):
                raise UsageError(f"{option} {path} is also an input: write somewhere else")
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{option} and {seen[real]} are the same file {path}")
        seen[real] = option


def now() -> datetime:
    """The clock of every command; called as ``base.now()`` so that tests can set it."""
    return datetime.now(UTC)
