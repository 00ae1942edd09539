"""``cdhelper validate``: check webhook payloads and list the push events they carry."""

from __future__ import annotations

from collections.abc import Sequence

import click

from cdhelper import documents, report, sources
from cdhelper.cli.base import CdhelperCommand, echo, fail, stdin_once
from cdhelper.cli.options import source_options
from cdhelper.errors import CdhelperError
from cdhelper.events import PushEvent


@click.command(cls=CdhelperCommand)
@click.argument("event_files", nargs=-1, required=True, metavar="EVENT_FILE...")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@source_options
def validate(
    event_files: Sequence[str], fmt: str, source_name: str | None, registry_host: str | None
) -> None:
    """Validate webhook payloads and print the push events they carry ('-' reads stdin)."""
    stdin_once({"EVENT_FILE": event_files})
    found: list[PushEvent] = []
    failures = []
    for path in event_files:
        try:
            loaded = sources.load_events([path], source_name, registry_host)
        except CdhelperError as exc:
            failures.append(str(exc))
            continue
        found.extend(loaded.events)
        for reason in loaded.ignored:
            echo(f"note: {reason}", err=True)
    if fmt == "json":
        echo(documents.dump_json([report.event_fields(e) for e in found]), nl=False)
    else:
        echo(report.events_text(found), nl=False)
        echo(
            f"{len(event_files) - len(failures)} valid file(s), {len(found)} push event(s)",
            err=True,
        )
    if failures:
        fail("\n".join(failures))
