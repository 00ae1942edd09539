"""Shared fixtures. Every test may reach loopback and Unix sockets only: never the network.

The integration fixtures start the real servers (tests/integration/servers.py) once per
session, when a test asks for them. Under CI=true a missing server fails, never skips.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from click.testing import CliRunner
from swarm import running_digests, spec_image

from cdhelper import redact
from cdhelper.cli import cli

from helpers import DATA
from servers import Dockerd, NotificationReceiver, Registry, servers_available, wait_until

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
    for name in (
        "CDHELPER_SWARMPIT_URL",
        "CDHELPER_SWARMPIT_TOKEN",
        "DOCKER_HOST",
        "CDHELPER_PLAN_KEY",
        "CDHELPER_ALLOW_HTTP",
        "CDHELPER_WINDOWS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """The secrets one test registers for redaction must not hide text in the next."""
    yield
    redact.forget_all()


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent / "integration"
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def servers_ready() -> None:
    missing = servers_available()
    if missing:
        message = f"integration servers unavailable: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must run them: see tests/integration/install-servers.sh)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def notifications() -> Iterator[NotificationReceiver]:
    receiver = NotificationReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def registry(
    servers_ready: None,
    tmp_path_factory: pytest.TempPathFactory,
    notifications: NotificationReceiver,
) -> Iterator[Registry]:
    server = Registry(tmp_path_factory.mktemp("registry"), notify_url=notifications.url).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_registry(
    servers_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    server = Registry(tmp_path_factory.mktemp("auth-registry"), users={"ci": "pa55word"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dockerd(servers_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    # A short path: the daemon's unix sockets must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="cdh-dockerd-", dir="/tmp"))
    daemon = Dockerd(root).start()
    yield daemon
    daemon.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cli_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run the installed ``cdhelper`` in-process through click, as a user would from a shell."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty-docker-config"))

    def run(*args: str, env: dict[str, str] | None = None) -> Any:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def api(dockerd: Dockerd) -> Iterator[docker.APIClient]:
    client = docker.APIClient(base_url=dockerd.host, version="auto")
    yield client
    client.close()


@pytest.fixture
def make_service(dockerd: Dockerd, api: docker.APIClient) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(name: str, image_ref: str, *options: str) -> str:
        dockerd.docker(
            "service",
            "create",
            "--detach",
            "--name",
            name,
            "--update-monitor",
            "2s",
            *options,
            image_ref,
        )
        created.append(name)
        wait_until(lambda: running_digests(api, name), 60, f"service {name} to run")
        return spec_image(api, name)

    yield make
    for name in created:
        dockerd.docker("service", "rm", name, check=False)
