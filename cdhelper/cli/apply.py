"""``cdhelper apply``: the actions of a reviewed plan, checked, locked, optionally health-gated."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from cdhelper import applier, backends, deadline, documents, lock, plan, report, signing, windows
from cdhelper.cli import base
from cdhelper.cli.base import (
    EXIT_ERROR,
    CdhelperCommand,
    distinct_outputs,
    echo,
    emit,
    fail,
    note,
    stdin_once,
    writable,
)
from cdhelper.cli.options import (
    PLAN_KEY_HELP,
    environment_help,
    markdown_option,
    target_options,
    timeout_option,
    window_option,
)
from cdhelper.errors import CdhelperError, Terminated, UsageError
from cdhelper.outcomes import interruption

DEFAULT_MONITOR = 10.0


@click.command(cls=CdhelperCommand, epilog=environment_help(PLAN_KEY_HELP, backend=True))
@click.argument("plan_file", metavar="PLAN")
@target_options("For a plan made from an inventory file (or another address of its Swarm):")
@click.option("--dry-run", is_flag=True, help="Check the plan and show what would be done.")
@click.option(
    "--inventory",
    "inventory_file",
    metavar="FILE",
    help="With --dry-run: check the plan offline against the services of FILE (a Swarmpit or "
    "Docker Engine service list, or a cdhelper inventory snapshot) instead of a live target.",
)
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
    inventory_file: str | None,
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
    _offline_options(inventory_file, addresses, dry_run=dry_run)
    stdin_once({"PLAN": [plan_file], "--inventory": [inventory_file]})
    rollout_options = {
        "--monitor": monitor,
        "--on-failure": on_failure,
        "--keep-going": keep_going,
        "--parallel": parallel,
    }
    given = [name for name, value in rollout_options.items() if value is not None]
    if given and not wait:
        raise UsageError(f"{', '.join(given)} only apply with --wait")
    writable(report_file, junit_file, markdown_file)
    distinct_outputs(
        {"--report": report_file, "--junit": junit_file, "--markdown": markdown_file},
        [plan_file, inventory_file],
    )
    key = signing.key_from_environment()
    reviewed = plan.load(plan_file, key)
    plan.require_signature(reviewed, documents.display_name(plan_file), key)
    if wait and not backends.by_kind(reviewed.target.kind).can_wait:
        waiters = " or ".join(b.noun for b in backends.BACKENDS if b.can_wait)
        raise UsageError(f"--wait needs a plan for {waiters} target")
    offline = backends.inventory_file(inventory_file, reviewed.target) if inventory_file else None
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
    ended: list[applier.ApplyResult] = []  # the result, as soon as the apply has one
    # SIGTERM raises as Ctrl-C does until the command's end (the handlers of both back
    # then): a stopped apply, ignoring both from then on, says and writes what it did.
    with _signal_handlers({signal.SIGTERM: _terminate, signal.SIGINT: _current(signal.SIGINT)}):
        try:
            # before anything is called, not even the services read
            windows.enforce(
                reviewed.policies.windows, deploy_windows, base.now(), ignore=ignore_windows
            )
            if offline is not None:
                result = applier.apply(reviewed, offline, dry_run=True)
            else:
                rollout = settings if wait else None
                result = _run_apply(
                    reviewed,
                    addresses,
                    environ,
                    dry_run=dry_run,
                    rollout=rollout,
                    reports=reports,
                    ended=ended,
                )
        except CdhelperError as exc:
            # Nothing was touched (each action's own faults end in its outcome): CI still
            # gets both reports, every action failed with the reason.
            reports.write(applier.not_started(reviewed, str(exc)))
            raise
        except KeyboardInterrupt as stopped:  # before the apply started, or once it ended
            terminated = isinstance(stopped, Terminated)
            if ended:
                _stopped(ended[0], reports, terminated=terminated)
            before = f"{interruption(stopped)} before anything was touched"
            _stopped(applier.not_started(reviewed, before), reports, terminated=terminated)
    # The outcome first: whatever happens to the report files, the user sees what was done.
    echo(report.apply_text(result), nl=False)
    unwritten = reports.write(result)
    if unwritten:
        fail(report.unwritten_reports(result, unwritten))
    if not result.ok:
        sys.exit(EXIT_ERROR)


def _terminate(_signum: int, _frame: object) -> None:
    """SIGTERM (a cancelled pipeline job) stops the apply as Ctrl-C does."""
    raise Terminated


def _current(number: signal.Signals) -> Any:
    """The signal's handler now (to be put back), the default one if not set from Python."""
    handler = signal.getsignal(number)
    return handler if handler is not None else signal.SIG_DFL


@contextlib.contextmanager
def _signal_handlers(handlers: Mapping[signal.Signals, Any]) -> Iterator[None]:
    """These signal handlers for the block, the previous ones back after it (signals are
    the main thread's: elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: _current(number) for number in handlers}
    for number, handler in handlers.items():
        signal.signal(number, handler)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stopped(
    result: applier.ApplyResult,
    reports: _ApplyReports,
    *,
    terminated: bool,
    abandoned: bool = False,
) -> NoReturn:
    """An apply stopped by Ctrl-C or SIGTERM: what was done, said and written, then exit
    128 + the signal, without waiting for a rollout's steps still under way."""
    if threading.current_thread() is threading.main_thread():
        # No second signal cuts this short, nor the lock's release after it: the handlers
        # come back only as the command ends (see apply).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    echo(report.apply_text(result), nl=False)
    unwritten = reports.write(result)
    signal_name = "SIGTERM" if terminated else "SIGINT"
    echo(f"error: interrupted ({signal_name}): the outcomes above are what was done", err=True)
    if unwritten:
        echo(report.unwritten_reports(result, unwritten), err=True)
    code = 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    if abandoned:  # a rollout's steps under way cannot be stopped: end without them
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _offline_options(
    inventory_file: str | None, addresses: backends.Addresses, *, dry_run: bool
) -> None:
    if not inventory_file:
        return
    if not dry_run:
        raise UsageError("--inventory checks a plan offline: give it with --dry-run")
    live = [b.option for b in backends.BACKENDS if addresses.get(b.kind)]
    if live:
        raise UsageError(f"give either --inventory or {' or '.join(live)}, not both")


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
    reports: _ApplyReports,
    ended: list[applier.ApplyResult],
) -> applier.ApplyResult:
    """The apply, under the target's lock; stopped by a signal, it says what it did and
    exits with the lock held (a rollout's steps still under way end with the process)."""
    kind = backends.by_kind(reviewed.target.kind)
    backend = backends.apply_backend(reviewed.target, addresses, environ)
    if not kind.deploys_exact_digest and any(a.target_digest for a in reviewed.actions):
        note(
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
    exclusive = contextlib.nullcontext() if dry_run else lock.hold(backend.target, on_wait=note)
    with exclusive:
        try:
            result = applier.apply(
                reviewed, backend, dry_run=dry_run, rollout=options, progress=_progress_lines()
            )
        except applier.Interrupted as stopped:
            terminated, abandoned = stopped.terminated, stopped.abandoned
            _stopped(stopped.result, reports, terminated=terminated, abandoned=abandoned)
        ended.append(result)
        return result


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
    state = windows.status_all([planned, given], base.now())
    if not state.open:
        note("--ignore-windows: applying " + windows.closed_message(planned, state, given))
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
            (self.junit_file, lambda: report.apply_junit(result, self.reviewed, base.now())),
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
