"""Where a credential may travel: over https, or over plain http to loopback or on opt-in.

A token or a password sent over plain http can be read by anyone on the path. cdhelper
sends one that way only to a loopback host (the traffic never leaves the machine) or
where its user said so for that host: ``--insecure-registry`` for a registry,
``--allow-http`` for Swarmpit. It also sends a registry's credentials only to that
registry's own origin (scheme, host and port), since a registry names its token service
itself, or to a token service its user trusts.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_URL_SAFE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: a URL as sent
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ``::1`` (brackets allowed); never a name that resolves."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, lowercased, default port dropped.

    Raises ValueError for anything that is not an absolute http(s) URL of printable ASCII
    without credentials in it.
    """
    if not _URL_SAFE.fullmatch(url):
        raise ValueError("not a URL of printable ASCII")
    parts = urlsplit(url)
    port = parts.port  # raises ValueError for a port that is not a number in range
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("expected http(s)://host[:port]/path")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def plain_http_to_remote(url: str) -> bool:
    """True when ``url`` is plain http to a host that is not loopback."""
    parts = urlsplit(url)
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")
