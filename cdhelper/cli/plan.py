"""``cdhelper plan``: the redeploy plan for the services a push moved, or all that are behind."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from cdhelper import (
    backends,
    documents,
    filters,
    jobs,
    params,
    plan,
    planner,
    report,
    signing,
    sources,
    windows,
)
from cdhelper.cli import base
from cdhelper.cli.base import (
    EXIT_CHANGES,
    CdhelperCommand,
    distinct_outputs,
    echo,
    emit,
    stdin_once,
    writable,
)
from cdhelper.cli.options import (
    PLAN_KEY_HELP,
    REGISTRY_HELP,
    environment_help,
    markdown_option,
    output_option,
    source_options,
    target_options,
    timeout_option,
    window_option,
)
from cdhelper.credentials import CredentialStore
from cdhelper.errors import UsageError
from cdhelper.progress import ProgressLine

if TYPE_CHECKING:
    from cdhelper.registry import RegistryClient

LOOKUPS = "checked {done}/{total} references"


@click.command(
    "plan", cls=CdhelperCommand, epilog=environment_help(REGISTRY_HELP, PLAN_KEY_HELP, backend=True)
)
@click.option(
    "--event",
    "event_files",
    multiple=True,
    metavar="FILE",
    help="Webhook payload file (repeatable; '-' reads stdin).",
)
@source_options
@click.option(
    "--smart",
    is_flag=True,
    help="Instead of events: plan every service whose digest is behind its tag's.",
)
@click.option("--inventory", "inventory_file", metavar="FILE", help="Services from a file.")
@target_options("Read the services live from")
@click.option(
    "--filter",
    "scope",
    type=params.FILTER,
    multiple=True,
    metavar="KIND=VALUE",
    help="Only services with label=KEY[=VALUE], stack=NAME or name=GLOB (repeatable).",
)
@click.option(
    "--resolve-digests",
    is_flag=True,
    help="Ask the registry for the digest of pushes whose webhook carries none.",
)
@click.option(
    "--registry-alias",
    "aliases",
    type=params.ALIAS,
    multiple=True,
    metavar="ALIAS=REGISTRY",
    help="Treat registry host ALIAS as REGISTRY when matching (repeatable).",
)
@click.option(
    "--insecure-registry",
    "insecure",
    type=params.HOST,
    multiple=True,
    metavar="HOST[:PORT]",
    help="Talk plain HTTP to this registry, credentials included (loopback registries always are).",
)
@click.option(
    "--trusted-realm",
    "trusted_realms",
    type=params.REALM,
    multiple=True,
    metavar="[SCHEME://]HOST[:PORT]",
    help="Send registry credentials to this token service, though not the registry's own "
    "(repeatable; Docker Hub's is built in).",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    default=jobs.DEFAULT_PARALLEL,
    show_default=True,
    help="Registry lookups at once.",
)
@click.option(
    "--min-age",
    type=params.DURATION,
    metavar="DURATION",
    help="Skip target digests pushed less than DURATION ago (90s, 30m, 2h, 7d).",
)
@click.option(
    "--state",
    "state_dir",
    metavar="DIR",
    help="Record when each digest was first seen (pushed) in DIR; smart plans count "
    "--min-age from then.",
)
@window_option("Record deploy window(s) in the plan, and show whether it can be applied now")
@output_option
@markdown_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when the plan has actions, 1 on error.",
)
@timeout_option("the whole command (registry lookups included)")
def plan_command(
    event_files: Sequence[str],
    source_name: str | None,
    registry_host: str | None,
    smart: bool,
    inventory_file: str | None,
    addresses: backends.Addresses,
    environ: Mapping[str, str],
    scope: Sequence[filters.Filter],
    resolve_digests: bool,
    aliases: Sequence[tuple[str, str]],
    insecure: Sequence[str],
    trusted_realms: Sequence[str],
    parallel: int,
    min_age: timedelta | None,
    state_dir: str | None,
    deploy_windows: Sequence[windows.Window],
    output: str | None,
    markdown_file: str | None,
    detailed_exitcode: bool,
) -> None:
    """Write a redeploy plan: for the services a push moved, or (--smart) all that are behind."""
    if smart and event_files:
        raise UsageError("--smart plans from the registry: give no --event")
    if not smart and not event_files:
        raise UsageError("give at least one --event FILE, or --smart")
    policy = planner.Policy(registry_aliases=dict(aliases), min_age=min_age)
    writable(output, markdown_file)
    stdin_once({"--event": event_files, "--inventory": [inventory_file]})
    distinct_outputs({"-o": output, "--markdown": markdown_file}, [*event_files, inventory_file])
    key = signing.key_from_environment()
    # bad payloads fail before anything is called
    pushes = sources.load_events(event_files, source_name, registry_host).events
    lookups = ProgressLine.on_terminal(sys.stderr, LOOKUPS)
    request = jobs.PlanRequest(
        mode=plan.Mode.SMART if smart else plan.Mode.WEBHOOK,
        source=backends.source(inventory_file, addresses, environ),
        pushes=pushes,
        policy=policy,
        filters=scope,
        resolve_digests=resolve_digests,
        registry=lambda: _registry(insecure, trusted_realms, parallel, lookups),
        parallel=parallel,
        windows=deploy_windows,
        state=state_dir,
    )
    try:
        outcome = jobs.make_plan(request, base.now())
    finally:
        if lookups is not None:
            lookups.clear()
    result = outcome.plan
    emit(plan.dumps(result, key), output)
    if markdown_file:
        emit(report.plan_markdown(result), markdown_file)
    for warning in result.warnings:
        echo(f"warning: {warning}", err=True)
    if outcome.registry is not None:
        echo(report.registry_stats(outcome.registry.stats), err=True)
    # stdout carries the plan, or (with -o FILE) the review text; never both
    to_file = output not in (None, documents.STDIN)
    summary = report.plan_text(result) if to_file else report.plan_summary(result) + "\n"
    if result.policies.windows and not to_file:
        summary += report.window_state(result) + "\n"
    echo(summary, nl=False, err=not to_file)
    if detailed_exitcode and result.has_changes:
        sys.exit(EXIT_CHANGES)


def _registry(
    insecure: Sequence[str],
    trusted_realms: Sequence[str],
    parallel: int,
    progress: ProgressLine | None,
) -> RegistryClient:
    """The registry client, made by the plans that ask a registry: requests loads with it."""
    from cdhelper.registry import RegistryClient  # noqa: PLC0415

    return RegistryClient(
        CredentialStore.from_environment(),
        insecure=insecure,
        trusted_realms=trusted_realms,
        pool_size=parallel,
        progress=progress,
    )
