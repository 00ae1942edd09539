"""The Swarmpit backend: inventory from ``GET /api/services``, ``POST .../redeploy`` to apply.

Swarmpit re-resolves the tag's digest from the registry itself when it redeploys, so
what it deploys is what the tag points to at apply time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import requests

from cdhelper import http
from cdhelper.errors import ConfigError, InputError
from cdhelper.inventory import Inventory, Target, TargetKind, from_swarmpit
from cdhelper.plan import Action

TOKEN_ENV = "CDHELPER_SWARMPIT_TOKEN"  # noqa: S105 (a variable name, not a secret)
URL_ENV = "CDHELPER_SWARMPIT_URL"

_HINTS = {
    401: f"Swarmpit refused the token: set {TOKEN_ENV} to a valid API token "
    "(Swarmpit: user menu > API access)",
    403: "the Swarmpit user behind the token may not do this",
    404: "no such service any more, or the URL is not a Swarmpit API",
}


def normalise_url(url: str) -> str:
    """``http://host:8080``, ``http://host:8080/`` and ``http://host:8080/api`` are one target."""
    parts = urlsplit(url.strip())
    if "@" in parts.netloc:  # checked first: such a URL must never be echoed
        raise ConfigError(
            f"the Swarmpit URL must not carry credentials: put the API token in {TOKEN_ENV}"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid Swarmpit URL {url!r}: expected http(s)://host[:port]")
    if parts.query or parts.fragment:
        raise ConfigError(f"invalid Swarmpit URL {url!r}: no query or fragment expected")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def token_from_env(environ: Mapping[str, str] = os.environ) -> str:
    # Swarmpit's UI shows the token as "Bearer <jwt>": take it with or without the prefix.
    token = re.sub(r"(?i)^bearer(\s+|$)", "", environ.get(TOKEN_ENV, "").strip())
    if not token:
        raise ConfigError(
            f"{TOKEN_ENV} is not set: export the Swarmpit API token "
            "(with or without its 'Bearer ' prefix)"
        )
    return token


class Swarmpit:
    """A Swarmpit server, addressed by its base URL, authenticated by an API token."""

    def __init__(self, url: str, token: str, session: requests.Session | None = None) -> None:
        self.url = normalise_url(url)
        self._session = session or http.new_session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._what = f"Swarmpit at {self.url}"

    @property
    def target(self) -> Target:
        return Target(TargetKind.SWARMPIT, self.url)

    def inventory(self) -> Inventory:
        response = http.request(self._session, "GET", f"{self.url}/api/services", what=self._what)
        http.check(response, self._what, _HINTS)
        try:
            data = response.json()
        except ValueError:
            raise InputError(
                f"{self._what}: GET /api/services did not answer JSON: is this a Swarmpit URL?"
            ) from None
        return from_swarmpit(data, f"{self._what}: GET /api/services", self.url)

    def redeploy(self, action: Action) -> str:
        url = f"{self.url}/api/services/{quote(action.service.id, safe='')}/redeploy"
        response = http.request(
            self._session, "POST", url, what=self._what, params={"tag": action.tag}
        )
        http.check(response, self._what, _HINTS)
        return f"redeploy of tag {action.tag} accepted (HTTP {response.status_code})"
