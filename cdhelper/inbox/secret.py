"""Secrets named in the inbox configuration: ``<key>_env`` (an environment variable) or
``<key>_file`` (a file, e.g. a Docker secret under ``/run/secrets/``), and nothing else.

A missing one is an error naming the variable or the file, never a value. Every value read
is registered for redaction, so no output or log line of the inbox can show it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdhelper import redact
from cdhelper.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    """A secret's value (never shown) and where it came from (for messages)."""

    value: str = field(repr=False)
    origin: str  # "environment variable HUB_HOOK_TOKEN" / "file /run/secrets/x"


class Secrets:
    """Reads ``<key>_env`` / ``<key>_file`` of config entries, relative to the config's folder.

    Problems are collected, so one check reports every missing secret at once; with
    ``resolve=False`` nothing is read (``config check --no-secrets``).
    """

    def __init__(
        self, directory: str, environ: Mapping[str, str] = os.environ, resolve: bool = True
    ) -> None:
        self.directory = directory
        self.environ = environ
        self.resolve = resolve

    def read(self, entry: Mapping[str, Any], key: str) -> str | None:
        """The :data:`~cdhelper.inbox.dispatchers.base.SecretReader` the dispatchers get."""
        secret = self.get(entry, key)
        return secret.value if secret else None

    def get(self, entry: Mapping[str, Any], key: str) -> Secret | None:
        variable, path = entry.get(f"{key}_env"), entry.get(f"{key}_file")
        if variable and path:
            raise ConfigError(f"{key}_env: give {key}_env or {key}_file, not both")
        if variable:
            origin = f"environment variable {variable}"
            if not self.resolve:
                return Secret("", origin)
            value = self.environ.get(variable)
            if not value:
                raise ConfigError(f"{key}_env: the {origin} is not set (or empty)")
            redact.register(value)
            return Secret(value, origin)
        if path:
            full = os.path.normpath(os.path.join(self.directory, path))
            origin = f"file {full}"
            if not self.resolve:
                return Secret("", origin)
            try:
                with open(full, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise ConfigError(f"{key}_file: cannot read {full}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise ConfigError(f"{key}_file: {full} is not UTF-8 text") from None
            value = text[:-1] if text.endswith("\n") else text
            if not value:
                raise ConfigError(f"{key}_file: {full} is empty")
            redact.register(value)
            return Secret(value, origin)
        return None
