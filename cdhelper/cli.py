"""The command line: parse options, call one function, map the result to an exit code.

Exit codes: 0 success, 1 error (bad input, API failure, stale plan, failed action),
2 usage error; ``plan --detailed-exitcode``: 0 no actions, 1 error, 2 actions present.
Every text printed or written goes through :func:`echo` or :func:`emit`, which hide the
secrets cdhelper knows (:mod:`cdhelper.redact`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

import click

from cdhelper import (
    __version__,
    applier,
    backends,
    deadline,
    documents,
    filters,
    jobs,
    lock,
    params,
    plan,
    planner,
    report,
    revert,
    signing,
    sources,
    windows,
)
from cdhelper.backends.swarmpit import ALLOW_HTTP_ENV
from cdhelper.credentials import CredentialStore
from cdhelper.errors import CdhelperError, UsageError
from cdhelper.events import PushEvent
from cdhelper.inbox import config as configuration
from cdhelper.inbox import status
from cdhelper.redact import redact
from cdhelper.registry import RegistryClient
from cdhelper.tags import release_tags
from cdhelper.values import format_time

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_CHANGES = 2
DEFAULT_TIMEOUT = 300.0
DEFAULT_MONITOR = 10.0
WINDOWS_ENV = "CDHELPER_WINDOWS"


class CdhelperGroup(click.Group):
    """Turns every cdhelper error into its message and exit code 1 (2 for usage problems)."""

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


def target_options(purpose: str) -> Callable[[F], F]:
    """One address option per backend (--swarmpit-url, --docker-host), passed as ``addresses``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["addresses"] = {b.kind: kwargs.pop(_param(b)) for b in backends.BACKENDS}
            allow_http = {ALLOW_HTTP_ENV: "1"} if kwargs.pop("allow_http") else {}
            kwargs["environ"] = {**os.environ, **allow_http}
            return func(*args, **kwargs)

        wrapper = click.option(
            "--allow-http",
            is_flag=True,
            help=f"Send the Swarmpit token over plain http to a host that is not loopback "
            f"(or set {ALLOW_HTTP_ENV}=1).",
        )(wrapper)
        for backend in reversed(backends.BACKENDS):
            wrapper = click.option(
                backend.option,
                _param(backend),
                metavar=backend.address_help,
                help=f"{purpose} {backend.title} (default: ${backend.address_env}).",
            )(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _param(backend: backends.BackendType) -> str:
    return f"address_{backend.kind}"


def source_options(func: F) -> F:
    func = click.option(
        "--registry-host",
        type=params.HOST,
        metavar="HOST[:PORT]",
        help="The registry host, for sources whose payload cannot say it (artifactory).",
    )(func)
    return click.option(
        "--source",
        "source_name",
        type=click.Choice(sources.names()),
        help="Read payloads as this source instead of detecting it.",
    )(func)


def timeout_option(scope: str) -> Callable[[F], F]:
    """``--timeout SECONDS``: the command runs under that overall deadline."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with deadline.limit(kwargs.pop("timeout")):
                return func(*args, **kwargs)

        return click.option(  # type: ignore[return-value]
            "--timeout",
            type=click.FloatRange(min=1),
            default=DEFAULT_TIMEOUT,
            show_default=True,
            metavar="SECONDS",
            help=f"The time limit for {scope}: requests, retries and waits; then exit 1.",
        )(wrapper)

    return decorate


def window_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--window",
        "deploy_windows",
        type=params.WINDOW,
        multiple=True,
        envvar=WINDOWS_ENV,
        metavar="'DAYS HH:MM-HH:MM [ZONE]'",
        help=f"{help_text}, e.g. 'Mon-Fri 06:00-18:00 Europe/Berlin' (repeatable; "
        f"default: ${WINDOWS_ENV}, windows separated by ';').",
    )


output_option = click.option(
    "-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)

markdown_option = click.option(
    "--markdown",
    "markdown_file",
    metavar="FILE",
    help="Write a Markdown summary (for CI: a job page, $GITHUB_STEP_SUMMARY).",
)


@click.group(cls=CdhelperGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdhelper")
def cli() -> None:
    """Plan and apply Docker Swarm redeploys from registry webhooks."""


@cli.command()
@click.argument("event_files", nargs=-1, required=True, metavar="EVENT_FILE...")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@source_options
def validate(
    event_files: Sequence[str], fmt: str, source_name: str | None, registry_host: str | None
) -> None:
    """Validate webhook payloads and print the push events they carry ('-' reads stdin)."""
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
        for event in found:
            echo(
                "\t".join(
                    [
                        event.source,
                        event.image.tagged,
                        event.digest or "-",
                        format_time(event.timestamp) or "-",
                    ]
                )
            )
        echo(
            f"{len(event_files) - len(failures)} valid file(s), {len(found)} push event(s)",
            err=True,
        )
    if failures:
        fail("\n".join(failures))


@cli.command()
@target_options("Read the services from")
@output_option
@timeout_option("the whole command")
def inventory(
    addresses: backends.Addresses, environ: Mapping[str, str], output: str | None
) -> None:
    """Snapshot the running services of a live target as JSON."""
    _writable(output)
    backend = backends.live_source(addresses, environ)
    if backend is None:
        options = " or ".join(f"{b.option} {b.address_help}" for b in backends.BACKENDS)
        variables = " or ".join(b.address_env for b in backends.BACKENDS)
        raise UsageError(f"give {options} (or set {variables})")
    snapshot = backend.inventory().to_snapshot(_now())
    emit(documents.dump_json(snapshot), output)


@cli.command("plan")
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
    _writable(output, markdown_file)
    _distinct_outputs({"-o": output, "--markdown": markdown_file}, [*event_files, inventory_file])
    key = signing.key_from_environment()
    # bad payloads fail before anything is called
    pushes = sources.load_events(event_files, source_name, registry_host).events
    request = jobs.PlanRequest(
        mode=plan.Mode.SMART if smart else plan.Mode.WEBHOOK,
        source=backends.source(inventory_file, addresses, environ),
        pushes=pushes,
        policy=policy,
        filters=scope,
        resolve_digests=resolve_digests,
        registry=lambda: RegistryClient(
            CredentialStore.from_environment(),
            insecure=insecure,
            trusted_realms=trusted_realms,
            pool_size=parallel,
        ),
        parallel=parallel,
        windows=deploy_windows,
        state=state_dir,
    )
    outcome = jobs.make_plan(request, _now())
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


@cli.command()
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
    _writable(markdown_file)
    _distinct_outputs({"--markdown": markdown_file}, [plan_file])
    key = signing.key_from_environment()
    shown = plan.load(plan_file, key)
    echo(report.render_plan(shown, report.Format(fmt)), nl=False)
    if markdown_file:
        emit(report.plan_markdown(shown), markdown_file)
    if key is not None or shown.signature is not signing.Check.UNSIGNED:
        bad = shown.signature in (signing.Check.INVALID, signing.Check.UNSIGNED)
        echo(f"{'warning: ' if bad else ''}signature: {shown.signature.value}", err=True)


@cli.command()
@click.argument("plan_file", metavar="PLAN")
@target_options("For a plan made from an inventory file (or another address of its Swarm):")
@click.option("--dry-run", is_flag=True, help="Check the plan and show what would be done.")
@click.option(
    "--wait",
    is_flag=True,
    help="Roll out health-gated: wait until each update completed and its new tasks ran "
    "healthy for --monitor seconds; handle a failure as --on-failure says.",
)
@click.option(
    "--monitor",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help=f"With --wait: how long the new tasks must keep running  [default: {DEFAULT_MONITOR:g}]",
)
@click.option(
    "--on-failure",
    type=click.Choice([o.value for o in applier.OnFailure]),
    help="With --wait: roll a failed update back, or leave it as Swarm left it and stop "
    "(pause) or go on (continue)  [default: rollback]",
)
@click.option(
    "--keep-going", is_flag=True, default=None, help="With --wait: go on after a failure."
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    metavar="N",
    help="With --wait: services updated at once, in plan order  [default: 1]",
)
@timeout_option("the whole apply, --wait included")
@window_option("Apply only inside a deploy window (as well as inside the plan's)")
@click.option(
    "--ignore-windows",
    is_flag=True,
    help="Apply outside the deploy windows (the report records it).",
)
@click.option("--report", "report_file", metavar="FILE", help="Write a JSON result per action.")
@click.option("--junit", "junit_file", metavar="FILE", help="Write a JUnit XML report.")
@markdown_option
def apply(
    plan_file: str,
    addresses: backends.Addresses,
    environ: Mapping[str, str],
    dry_run: bool,
    wait: bool,
    monitor: float | None,
    on_failure: str | None,
    keep_going: bool | None,
    parallel: int | None,
    deploy_windows: Sequence[windows.Window],
    ignore_windows: bool,
    report_file: str | None,
    junit_file: str | None,
    markdown_file: str | None,
) -> None:
    """Apply exactly the actions of a reviewed plan; refuse it if it went stale."""
    rollout_options = {
        "--monitor": monitor,
        "--on-failure": on_failure,
        "--keep-going": keep_going,
        "--parallel": parallel,
    }
    given = [name for name, value in rollout_options.items() if value is not None]
    if given and not wait:
        raise UsageError(f"{', '.join(given)} only apply with --wait")
    _writable(report_file, junit_file, markdown_file)
    _distinct_outputs(
        {"--report": report_file, "--junit": junit_file, "--markdown": markdown_file},
        [plan_file],
    )
    key = signing.key_from_environment()
    reviewed = plan.load(plan_file, key)
    plan.require_signature(reviewed, documents.display_name(plan_file), key)
    if wait and not backends.by_kind(reviewed.target.kind).can_wait:
        waiters = " or ".join(b.noun for b in backends.BACKENDS if b.can_wait)
        raise UsageError(f"--wait needs a plan for {waiters} target")
    settings = _RolloutSettings(
        monitor=DEFAULT_MONITOR if monitor is None else monitor,
        on_failure=applier.OnFailure(on_failure or applier.OnFailure.ROLLBACK.value),
        keep_going=bool(keep_going),
        parallel=parallel or 1,
    )
    ignored = _windows_ignored(reviewed, deploy_windows, ignore_windows)
    reports = _ApplyReports(
        plan_file, reviewed, report_file, junit_file, markdown_file, windows_ignored=ignored
    )
    try:
        # before anything is called, not even the services read
        windows.enforce(reviewed.policies.windows, deploy_windows, _now(), ignore=ignore_windows)
        result = _run_apply(
            reviewed, addresses, environ, dry_run=dry_run, rollout=settings if wait else None
        )
    except CdhelperError as exc:
        # Nothing was touched (each action's own faults end in its outcome): CI still gets
        # both reports, every action failed with the reason.
        reports.write(applier.not_started(reviewed, str(exc)))
        raise
    # The outcome first: whatever happens to the report files, the user sees what was done.
    echo(report.apply_text(result), nl=False)
    unwritten = reports.write(result)
    if unwritten:
        fail(report.unwritten_reports(result, unwritten))
    if not result.ok:
        sys.exit(EXIT_ERROR)


@dataclass(frozen=True)
class _RolloutSettings:
    monitor: float
    on_failure: applier.OnFailure
    keep_going: bool
    parallel: int


def _run_apply(
    reviewed: plan.Plan,
    addresses: backends.Addresses,
    environ: Mapping[str, str],
    *,
    dry_run: bool,
    rollout: _RolloutSettings | None,
) -> applier.ApplyResult:
    kind = backends.by_kind(reviewed.target.kind)
    backend = backends.apply_backend(reviewed.target, addresses, environ)
    if not kind.deploys_exact_digest and any(a.target_digest for a in reviewed.actions):
        _note(
            f"{kind.title} deploys the digest the tag points to when it redeploys, "
            "which may be newer than the plan's target digest"
        )
    limit = deadline.current()
    options = None
    if rollout is not None:
        options = applier.Rollout(
            until=limit.at if limit else float("inf"),
            monitor=rollout.monitor,
            on_failure=rollout.on_failure,
            keep_going=rollout.keep_going,
            parallel=rollout.parallel,
        )
    exclusive = contextlib.nullcontext() if dry_run else lock.hold(backend.target, on_wait=_note)
    with exclusive:
        return applier.apply(
            reviewed, backend, dry_run=dry_run, rollout=options, progress=_progress_lines()
        )


def _progress_lines() -> applier.Progress:
    """On a terminal, one line on stderr each time a service's state changes."""
    if not sys.stderr.isatty():
        return lambda _service, _state: None
    last: dict[str, str] = {}
    guard = threading.Lock()

    def show(service: plan.ServiceId, state: str) -> None:
        with guard:
            if last.get(service.id) != state:
                last[service.id] = state
                echo(f"  {service}: {state}", err=True)

    return show


def _windows_ignored(reviewed: plan.Plan, given: Sequence[windows.Window], ignore: bool) -> bool:
    """Whether --ignore-windows overrides a closed window now (said on stderr)."""
    if not ignore:
        return False
    planned = windows.parse_all(reviewed.policies.windows)
    state = windows.status_all([planned, given], _now())
    if not state.open:
        _note("--ignore-windows: applying " + windows.closed_message(planned, state, given))
    return not state.open


@dataclass(frozen=True)
class _ApplyReports:
    plan_file: str
    reviewed: plan.Plan
    report_file: str | None
    junit_file: str | None
    markdown_file: str | None = None
    windows_ignored: bool = False

    def write(self, result: applier.ApplyResult) -> list[str]:
        """Write every report that can be; the problems of those that cannot."""
        renderers: list[tuple[str | None, Callable[[], str]]] = [
            (
                self.report_file,
                lambda: documents.dump_json(
                    report.apply_report(
                        result, self.plan_file, windows_ignored=self.windows_ignored
                    )
                ),
            ),
            (self.junit_file, lambda: report.apply_junit(result, self.reviewed, _now())),
            (self.markdown_file, lambda: report.apply_markdown(result)),
        ]
        problems = []
        for path, render in renderers:
            if not path:
                continue
            try:
                emit(render(), path)
            # A report that cannot be written must not hide what was done, nor stop the other.
            except (CdhelperError, OSError, ValueError) as exc:
                problems.append(str(exc) if isinstance(exc, CdhelperError) else f"{path}: {exc}")
        return problems


def _note(message: str) -> None:
    echo(f"note: {message}", err=True)


@cli.command("revert")
@click.argument("report_file", metavar="REPORT")
@output_option
def revert_command(report_file: str, output: str | None) -> None:
    """Plan the way back: every service an apply moved, to the digest it ran before."""
    _writable(output)
    _distinct_outputs({"-o": output}, [report_file])
    key = signing.key_from_environment()  # signed like any plan, with the same key
    result = revert.revert_plan(revert.load_report(report_file), _now())
    emit(plan.dumps(result, key), output)
    # stdout carries the plan, or (with -o FILE) the review text; never both
    to_file = output not in (None, documents.STDIN)
    summary = report.plan_text(result) if to_file else report.plan_summary(result) + "\n"
    echo(summary, nl=False, err=not to_file)


@cli.command()
@click.argument("version")
@click.option("--commit", required=True, metavar="SHA", help="The commit the image is built from.")
def tags(version: str, commit: str) -> None:
    """Print the image tags of the release convention for VERSION, one per line."""
    for tag in release_tags(version, commit):
        echo(tag)


def _listen(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return configuration.parse_listen(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


config_option = click.option(
    "--config",
    "config_file",
    required=True,
    metavar="FILE",
    help="The inbox configuration (cdhelper.yaml).",
)


@cli.command()
@config_option
@click.option(
    "--listen", callback=_listen, metavar="HOST:PORT", help="Instead of the config's listen."
)
def serve(config_file: str, listen: tuple[str, int] | None) -> None:
    """Run the webhook inbox: receive registry webhooks, plan and dispatch per environment."""
    # uvicorn and Starlette load only for this command
    from cdhelper.inbox import server  # noqa: PLC0415

    server.serve(config_file, listen)


@cli.group("config")
def config_group() -> None:
    """The inbox configuration."""


@config_group.command("check")
@click.argument("config_file", metavar="FILE")
@click.option(
    "--no-secrets", is_flag=True, help="Do not read the secrets (where they are not at hand)."
)
def config_check(config_file: str, no_secrets: bool) -> None:
    """Check an inbox configuration offline: schema, names, filters, secrets, dispatchers."""
    loaded = configuration.load(config_file, resolve_secrets=not no_secrets)
    if not no_secrets:
        configuration.build_dispatchers(loaded)
    echo(
        f"{config_file}: ok: {len(loaded.sources)} source(s), "
        f"{len(loaded.environments)} environment(s), listen "
        f"{loaded.listen[0]}:{loaded.listen[1]}, state {loaded.state}"
    )


@cli.group("inbox")
def inbox_group() -> None:
    """The running inbox's store."""


@inbox_group.command("status")
@config_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def inbox_status(config_file: str, fmt: str, limit: int) -> None:
    """Recent deliveries, batches and dispatch outcomes."""
    loaded = configuration.load(config_file, resolve_secrets=False)
    echo(status.render(status.read(loaded, limit), fmt), nl=False)


def _writable(*paths: str | None) -> None:
    for path in paths:
        if path:
            documents.check_writable(path)


def _distinct_outputs(outputs: dict[str, str | None], inputs: Sequence[str | None]) -> None:
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


def emit(text: str, output: str | None) -> None:
    """Write a document (plan, snapshot, report) to ``output`` or stdout, secrets hidden."""
    shown = redact(text)
    if output and output != documents.STDIN:
        if shown != text:
            echo(f"warning: {output}: a known secret in it was replaced by ***", err=True)
        documents.write_atomic(output, shown)
    else:
        click.echo(shown, nl=False)


def _now() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    cli(prog_name="cdhelper")
