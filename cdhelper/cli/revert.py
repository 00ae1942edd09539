"""``cdhelper revert``: the plan back to what an apply replaced."""

from __future__ import annotations

import click

from cdhelper import documents, plan, report, revert, signing
from cdhelper.cli import base
from cdhelper.cli.base import CdhelperCommand, distinct_outputs, echo, emit, writable
from cdhelper.cli.options import PLAN_KEY_HELP, environment_help, output_option


@click.command("revert", cls=CdhelperCommand, epilog=environment_help(PLAN_KEY_HELP))
@click.argument("report_file", metavar="REPORT")
@output_option
def revert_command(report_file: str, output: str | None) -> None:
    """Plan the way back: every service an apply moved, to the digest it ran before."""
    writable(output)
    distinct_outputs({"-o": output}, [report_file])
    key = signing.key_from_environment()  # signed like any plan, with the same key
    result = revert.revert_plan(revert.load_report(report_file), base.now())
    emit(plan.dumps(result, key), output)
    # stdout carries the plan, or (with -o FILE) the review text; never both
    to_file = output not in (None, documents.STDIN)
    summary = report.plan_text(result) if to_file else report.plan_summary(result) + "\n"
    echo(summary, nl=False, err=not to_file)
