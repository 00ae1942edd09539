"""The webhook inbox's commands: ``serve``, ``config check`` and ``inbox status``."""

from __future__ import annotations

from typing import Any

import click

from cdhelper.cli.base import CdhelperCommand, CdhelperGroup, echo
from cdhelper.cli.options import CONFIG_SECRETS_HELP
from cdhelper.inbox import config as configuration
from cdhelper.inbox import status


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


@click.command(cls=CdhelperCommand, epilog=CONFIG_SECRETS_HELP)
@config_option
@click.option(
    "--listen", callback=_listen, metavar="HOST:PORT", help="Instead of the config's listen."
)
def serve(config_file: str, listen: tuple[str, int] | None) -> None:
    """Run the webhook inbox: receive registry webhooks, plan and dispatch per environment."""
    # uvicorn and Starlette load only for this command
    from cdhelper.inbox import server  # noqa: PLC0415

    server.serve(config_file, listen)


@click.group("config", cls=CdhelperGroup)
def config_group() -> None:
    """The inbox configuration."""


@config_group.command("check", epilog=CONFIG_SECRETS_HELP)
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


@click.group("inbox", cls=CdhelperGroup)
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
