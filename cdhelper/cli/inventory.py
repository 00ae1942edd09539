"""``cdhelper inventory``: snapshot the running services of a live target."""

from __future__ import annotations

from collections.abc import Mapping

import click

from cdhelper import backends, documents
from cdhelper.cli import base
from cdhelper.cli.base import CdhelperCommand, emit, writable
from cdhelper.cli.options import environment_help, output_option, target_options, timeout_option
from cdhelper.errors import UsageError


@click.command(cls=CdhelperCommand, epilog=environment_help(backend=True))
@target_options("Read the services from")
@output_option
@timeout_option("the whole command")
def inventory(
    addresses: backends.Addresses, environ: Mapping[str, str], output: str | None
) -> None:
    """Snapshot the running services of a live target as JSON."""
    writable(output)
    backend = backends.live_source(addresses, environ)
    if backend is None:
        options = " or ".join(f"{b.option} {b.address_help}" for b in backends.BACKENDS)
        variables = " or ".join(b.address_env for b in backends.BACKENDS)
        raise UsageError(f"give {options} (or set {variables})")
    snapshot = backend.inventory().to_snapshot(base.now())
    emit(documents.dump_json(snapshot), output)
