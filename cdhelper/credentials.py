"""Registry credentials from the Docker CLI's ``config.json``.

Looked up in ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``: a
``credHelpers`` entry for the host, else ``credsStore``, else ``auths.<host>.auth``
(base64 ``user:password``). Credentials are kept in memory only, and never shown.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cdhelper.errors import ConfigError
from cdhelper.reference import DOCKER_HUB, normalise_registry

# The key the Docker CLI uses for Docker Hub in config.json and with credential helpers.
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
HELPER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credential:
    username: str
    password: str = field(repr=False)


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def registry_of(key: str) -> str:
    """``https://index.docker.io/v1/``, ``host:5000`` and ``https://host:5000`` name registries."""
    host = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    return normalise_registry(host)


class CredentialStore:
    """Answers "which credential for this registry?" from one Docker config file."""

    def __init__(
        self, config: Mapping[str, Any] | None = None, source: str = "config.json"
    ) -> None:
        self._config = config or {}
        self._source = source
        self._cache: dict[str, Credential | None] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> CredentialStore:
        path = config_path(environ)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls({}, str(path))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the Docker config: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: $: expected a JSON object")
        return cls(data, str(path))

    def get(self, registry: str) -> Credential | None:
        registry = normalise_registry(registry)
        if registry not in self._cache:
            self._cache[registry] = self._lookup(registry)
        return self._cache[registry]

    def _lookup(self, registry: str) -> Credential | None:
        helpers = self._config.get("credHelpers") or {}
        for key, helper in helpers.items():
            if registry_of(key) == registry:
                return self._from_helper(str(helper), key)
        store = self._config.get("credsStore")
        if store:
            found = self._from_helper(str(store), _server_url(registry), missing_ok=True)
            if found is not None:
                return found
        for key, entry in (self._config.get("auths") or {}).items():
            if registry_of(key) == registry and isinstance(entry, dict) and entry.get("auth"):
                return self._decode(str(entry["auth"]), f"$.auths[{json.dumps(key)}].auth")
        return None

    def _decode(self, auth: str, path: str) -> Credential:
        try:
            username, sep, password = base64.b64decode(auth, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep, username, password = "", "", ""
        if not sep:
            raise ConfigError(f"{self._source}: {path}: expected base64 of 'user:password'")
        return Credential(username, password)

    def _from_helper(self, helper: str, server: str, missing_ok: bool = False) -> Credential | None:
        program = f"docker-credential-{helper}"
        try:
            done = subprocess.run(
                [program, "get"],
                input=server,
                capture_output=True,
                text=True,
                timeout=HELPER_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise ConfigError(
                f"{self._source}: credential helper {program} is not installed (named for {server})"
            ) from None
        except subprocess.TimeoutExpired:
            raise ConfigError(f"credential helper {program} did not answer for {server}") from None
        if done.returncode != 0:
            if missing_ok and "credentials not found" in (done.stdout + done.stderr).lower():
                return None
            raise ConfigError(
                f"credential helper {program} failed for {server} (exit {done.returncode})"
            )
        try:
            data = json.loads(done.stdout)
            return Credential(str(data["Username"]), str(data["Secret"]))
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"credential helper {program} gave no Username/Secret for {server}"
            ) from None


def _server_url(registry: str) -> str:
    return DOCKER_HUB_SERVER if registry == DOCKER_HUB else registry
