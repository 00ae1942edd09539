"""Registry credentials from the Docker CLI's ``config.json``, read by docker-py.

Looked up in ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``: a
``credHelpers`` entry for the host, else ``credsStore`` (a helper that knows nothing of
the host falls through), else ``auths.<host>`` (base64 ``user:password`` in ``auth``, or
an ``identitytoken``). The parsing, the matching and the credential-helper protocol are
docker-py's (:mod:`docker.auth`, :mod:`docker.credentials`), the reader the Docker Engine
backend uses too, so both paths agree on every credential. cdhelper adds what docker-py
lacks: a config that is not what Docker expects is an error naming the file and the JSON
path (docker-py silently ignores a config that is not JSON), a credential helper that
hangs times out (:mod:`cdhelper.credential_helpers`, imported with docker-py only when a
config is read), and every secret read is registered for redaction and never shown.
"""

from __future__ import annotations

import binascii
import json
import os
import re
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cdhelper import redact
from cdhelper.documents import json_path
from cdhelper.errors import ConfigError
from cdhelper.reference import DOCKER_HUB, normalise_registry

if TYPE_CHECKING:
    import docker.auth

# docker-py loads when a config is read (CredentialStore), not for naming DOCKER_CONFIG or
# checking a token: the commands that read no credentials never import it.

# The key the Docker CLI uses for Docker Hub in config.json and with credential helpers
# (docker-py's docker.auth.INDEX_URL, which a test holds it to).
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
CONFIG_ENV = "DOCKER_CONFIG"  # the Docker CLI's configuration folder (config.json)
AUTH_SECTIONS = ("auths", "credHelpers", "credsStore")
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # what may go into an HTTP header or form as is


@dataclass(frozen=True)
class Credential:
    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)  # an OAuth2 refresh token

    @property
    def who(self) -> str:
        """Who is logging in, for messages (never the secret)."""
        return f"user {self.username!r}" if self.username else "the identity token"


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    directory = environ.get(CONFIG_ENV)
    if directory:
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def registry_of(key: str) -> str:
    """``https://index.docker.io/v1/``, ``host:5000`` and ``https://host:5000`` name registries."""
    try:
        host = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    except ValueError:
        return ""  # not a URL: names no registry
    return normalise_registry(host)


def is_header_safe(text: str) -> bool:
    """Printable ASCII without spaces: what a token must be to travel in a header."""
    return bool(_HEADER_SAFE.fullmatch(text))


class CredentialStore:
    """Answers "which credential for this registry?" from one Docker config file."""

    def __init__(
        self, config: Mapping[str, Any] | None = None, source: str = "config.json"
    ) -> None:
        self._source = source
        self._auth = _load(dict(config or {}), source)
        self._cache: dict[str, Credential | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> CredentialStore:
        path = config_path(environ)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls({}, str(path))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the Docker config: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not valid UTF-8: not a Docker config") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except (RecursionError, ValueError):  # ValueError: an integer of 5,000 digits
            raise ConfigError(
                f"{path}: not a Docker config: nested too deeply or a huge number"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: $: expected a JSON object")
        return cls(data, str(path))

    @property
    def auth_config(self) -> docker.auth.AuthConfig:
        """The parsed config as docker-py holds it (the Docker Engine backend sends it on)."""
        return self._auth

    def get(self, registry: str) -> Credential | None:
        registry = normalise_registry(registry)
        with self._lock:  # lookups run in threads; ask a helper once per registry
            if registry not in self._cache:
                self._cache[registry] = self._lookup(registry)
            return self._cache[registry]

    def _lookup(self, registry: str) -> Credential | None:
        helper_keys = [k for k in self._auth.cred_helpers if registry_of(k) == registry]
        # docker-py's resolve_authconfig: the host's helper, else credsStore, else auths.
        key = helper_keys[0] if helper_keys else _server_url(registry)
        found = self._resolve(key)
        if not found:  # auths entries match however the host is spelt (case, Hub aliases)
            entries = [v for k, v in self._auth.auths.items() if registry_of(k) == registry]
            found = entries[0] if entries else None
        return _credential(found) if found else None

    def _resolve(self, key: str) -> dict[str, Any] | None:
        import docker.errors  # noqa: PLC0415 (docker-py: only to read credentials)

        from cdhelper.credential_helpers import HelperFailed  # noqa: PLC0415

        helper = self._auth.get_credential_store(key)
        if helper is not None:
            _check_installed(str(helper), key, self._source)
        try:
            found: dict[str, Any] | None = self._auth.resolve_authconfig(key)
        except docker.errors.DockerException as exc:
            cause = exc.__cause__
            raise ConfigError(str(cause) if isinstance(cause, HelperFailed) else str(exc)) from None
        except (ValueError, KeyError, TypeError):  # the helper's answer was not its JSON
            raise ConfigError(
                f"credential helper docker-credential-{helper} gave no Username/Secret for {key}"
            ) from None
        return found


def _server_url(registry: str) -> str:
    return DOCKER_HUB_SERVER if registry == DOCKER_HUB else registry


def _credential(found: Mapping[str, Any]) -> Credential | None:
    """docker-py's auth dict (from ``auths`` or from a helper) as a Credential."""
    token = found.get("IdentityToken")
    username = str(found.get("username") or found.get("Username") or "")
    password = str(found.get("password") or found.get("Password") or "")
    if token:
        redact.register(str(token))
        if not is_header_safe(str(token)):
            raise ConfigError("the identity token for a registry is not printable ASCII")
        return Credential(username, "", str(token))
    if not username and not password:
        return None
    redact.register_login(username, password)
    try:
        f"{username}:{password}".encode()
    except UnicodeEncodeError:  # a helper's JSON may escape a lone surrogate
        raise ConfigError("a credential helper answered with a login that is not text") from None
    return Credential(username, password)


def _load(config: dict[str, Any], source: str) -> docker.auth.AuthConfig:
    """docker-py's AuthConfig of the auth sections, after checking their shape."""
    import docker.auth  # noqa: PLC0415 (docker-py: only to read credentials)
    import docker.errors  # noqa: PLC0415

    from cdhelper.credential_helpers import AuthConfig  # noqa: PLC0415

    sections = {key: config[key] for key in AUTH_SECTIONS if config.get(key) not in (None, "")}
    problems = _shape_problems(sections)
    if problems:
        raise ConfigError(f"{source}: not a valid Docker config", problems)
    if not sections:  # docker-py would go and read a config file of its own choosing
        return AuthConfig({})
    if "auths" in sections:  # "auth": "" means none (docker-py would fail to decode it)
        sections["auths"] = {
            key: {k: v for k, v in entry.items() if not (k == "auth" and v == "")}
            for key, entry in sections["auths"].items()
        }
    try:
        loaded = AuthConfig.load_config(None, sections)
    except (docker.errors.DockerException, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{source}: not a valid Docker config: {type(exc).__name__}") from None
    assert isinstance(loaded, AuthConfig)
    for found in loaded.auths.values():  # X-Registry-Auth, as the Engine backend sends it
        if found:
            redact.register(docker.auth.encode_header(found).decode("ascii"))
    return loaded


def _shape_problems(sections: Mapping[str, Any]) -> list[str]:
    """What docker-py would choke on, with JSON paths; registers every secret it sees."""
    problems = []
    store = sections.get("credsStore")
    if store is not None and not (isinstance(store, str) and _HELPER_NAME.fullmatch(store)):
        problems.append("$.credsStore: expected the name of a credential helper")
    helpers = sections.get("credHelpers", {})
    if not isinstance(helpers, dict):
        problems.append("$.credHelpers: expected an object")
        helpers = {}
    for key, name in helpers.items():
        if not (isinstance(name, str) and _HELPER_NAME.fullmatch(name)):
            where = json_path("$.credHelpers", [key])
            problems.append(f"{where}: expected the name of a credential helper")
    auths = sections.get("auths", {})
    if not isinstance(auths, dict):
        return [*problems, "$.auths: expected an object"]
    for key, entry in auths.items():
        where = json_path("$.auths", [key])
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected an object")
        elif "identitytoken" in entry:
            token = entry["identitytoken"]
            if isinstance(token, str):
                redact.register(token)
            if not (isinstance(token, str) and is_header_safe(token)):
                problems.append(f"{where}.identitytoken: expected a printable ASCII token")
        elif entry.get("auth", "") != "":
            problems.extend(_auth_problem(entry["auth"], f"{where}.auth"))
    return problems


def _auth_problem(auth: Any, where: str) -> list[str]:
    import docker.auth  # noqa: PLC0415 (docker-py: only to read credentials)

    if isinstance(auth, str):
        redact.register(auth)
        try:
            username, password = docker.auth.decode_auth(auth)
        except (binascii.Error, ValueError, UnicodeError):
            pass
        else:
            redact.register_login(username, password)
            return []
    return [f"{where}: expected base64 of 'user:password'"]


def _check_installed(helper: str, key: str, source: str) -> None:
    import docker.credentials  # noqa: PLC0415 (docker-py: only to read credentials)

    program = docker.credentials.PROGRAM_PREFIX + helper
    if shutil.which(program) is None:
        raise ConfigError(
            f"{source}: credential helper {program} is not installed (named for {key})"
        )
