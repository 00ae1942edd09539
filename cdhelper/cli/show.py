"""``cdhelper show``: a plan rendered for review, its signature checked."""

from __future__ import annotations

import click

from cdhelper import plan, report, signing
from cdhelper.cli.base import CdhelperCommand, distinct_outputs, echo, emit, writable
from cdhelper.cli.options import PLAN_KEY_HELP, environment_help, markdown_option


@click.command(cls=CdhelperCommand, epilog=environment_help(PLAN_KEY_HELP))
@click.argument("plan_file", metavar="PLAN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in report.Format]),
    default="text",
    show_default=True,
)
@markdown_option
def show(plan_file: str, fmt: str, markdown_file: str | None) -> None:
    """Show a plan for review."""
    writable(markdown_file)
    distinct_outputs({"--markdown": markdown_file}, [plan_file])
    key = signing.key_from_environment()
    shown = plan.load(plan_file, key)
    echo(report.render_plan(shown, report.Format(fmt)), nl=False)
    if markdown_file:
        emit(report.plan_markdown(shown), markdown_file)
    if key is not None or shown.signature is not signing.Check.UNSIGNED:
        bad = shown.signature in (signing.Check.INVALID, signing.Check.UNSIGNED)
        echo(f"{'warning: ' if bad else ''}signature: {shown.signature.value}", err=True)
