"""``cdhelper tags``: the image tags of the release convention."""

from __future__ import annotations

import click

from cdhelper.cli.base import CdhelperCommand, echo
from cdhelper.tags import release_tags


@click.command(cls=CdhelperCommand)
@click.argument("version")
@click.option("--commit", required=True, metavar="SHA", help="The commit the image is built from.")
def tags(version: str, commit: str) -> None:
    """Print the image tags of the release convention for VERSION, one per line."""
    for tag in release_tags(version, commit):
        echo(tag)
