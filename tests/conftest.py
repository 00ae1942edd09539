"""Shared fixtures. Every test may reach loopback and Unix sockets only: never the network."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import DATA


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise OSError(f"test tried to reach {host}: tests may only reach loopback")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDHELPER_SWARMPIT_URL", "CDHELPER_SWARMPIT_TOKEN", "DOCKER_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def load_data() -> Callable[[str], Any]:
    def load(name: str) -> Any:
        return json.loads((DATA / name).read_text())

    return load


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Record the waits of retries instead of spending them."""
    waits: list[float] = []
    monkeypatch.setattr("cdhelper.http.sleep", waits.append)
    yield waits
