"""The options several commands share, defined once, and what -h says about the environment."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cdhelper import backends, deadline, params, signing, sources
from cdhelper.backends.swarmpit import ALLOW_HTTP_ENV
from cdhelper.credentials import CONFIG_ENV

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT = 300.0
WINDOWS_ENV = "CDHELPER_WINDOWS"

# What -h says about the environment: every secret a command reads comes from there.
PLAN_KEY_HELP = (signing.KEY_ENV, "the plan signing key (plan signs, show and apply check)")
REGISTRY_HELP = (CONFIG_ENV, "registry credentials (the Docker CLI's config.json)")
CONFIG_SECRETS_HELP = (
    "Secrets: the configuration names each one by <name>_env (an environment variable) "
    "or <name>_file (a file, e.g. a Docker secret); it holds none itself."
)


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


def environment_help(*variables: tuple[str, str], backend: bool = False) -> str:
    """The epilog of a command's -h listing the environment variables it reads."""
    rows = [row for b in backends.BACKENDS for row in b.environment] if backend else []
    described = dict([*rows, *variables])  # a command's own words for a variable win
    width = max(map(len, described)) + 2
    lines = (f"  {name:<{width}}{what}" for name, what in described.items())
    return "\b\nEnvironment (secrets are never printed):\n" + "\n".join(lines)


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
