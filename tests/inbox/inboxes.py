"""Builders for inbox tests: configs, inventories, payloads signed as each registry signs
them, and the inbox itself, run in a thread (for coverage) or as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import uvicorn
import yaml

from cdhelper.inbox import auth
from cdhelper.inbox import config as configuration
from cdhelper.inbox.app import Inbox, create_app
from cdhelper.inbox.metrics import Metrics
from cdhelper.inbox.store import Store
from cdhelper.inbox.worker import Worker
from cdhelper.inventory import Inventory, Target

from helpers import digest, service

HOST = "127.0.0.1:5000"  # the registry the payloads name
HUB_TOKEN = "hub-token-5f0c2b9a7d"
REG_TOKEN = "reg-token-81aa3e4477"
REG_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ADMIN_TOKEN = "admin-token-c3d9e1"
GHCR_SECRET = "ghcr-secret-0b7d4e9a"
SECRETS = (
    HUB_TOKEN,
    REG_TOKEN,
    REG_SECRET,
    REG_SECRET.removeprefix("whsec_"),
    ADMIN_TOKEN,
    GHCR_SECRET,
)
ENVIRON = {
    "HUB_HOOK_TOKEN": HUB_TOKEN,
    "REG_HOOK_TOKEN": REG_TOKEN,
    "REG_HOOK_SECRET": REG_SECRET,
    "CDHELPER_ADMIN_TOKEN": ADMIN_TOKEN,
    "GHCR_HOOK_SECRET": GHCR_SECRET,
}
RELEASE = ("v1", "v1.2", "v1.2.3", "v1.2.3_abc1234")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_inventory(path: Path, host: str = HOST) -> Path:
    """Services following app's release tags (stack int), and one in stack qa."""
    services = [
        service(f"int_app-{tag}", f"{host}/app:{tag}", digest("0"), stack="int") for tag in RELEASE
    ]
    services.append(service("qa_app", f"{host}/app:v1", digest("0"), stack="qa"))
    services.append(service("int_hub", "dopplerdock/doppler-cd-helper:INT", None, stack="int"))
    inventory = Inventory(Target("swarmpit", None), tuple(services))
    path.write_text(json.dumps(inventory.to_snapshot(datetime.now(UTC))))
    return path


def write_config(folder: Path, registry_host: str = HOST, **overrides: Any) -> Path:
    """A config with the sources hub (dockerhub, token), reg (registry, token), signed
    (registry, Standard Webhooks) and open (registry, insecure), environment int (plans)."""
    write_inventory(folder / "inventory.json", registry_host)
    data: dict[str, Any] = {
        "listen": "127.0.0.1:8080",
        "admin_token_env": "CDHELPER_ADMIN_TOKEN",
        "state": "state",
        "coalesce_seconds": 0.3,
        "max_batch_seconds": 5,
        "sources": [
            {"name": "hub", "type": "dockerhub", "token_env": "HUB_HOOK_TOKEN"},
            {"name": "reg", "type": "registry", "token_env": "REG_HOOK_TOKEN"},
            {"name": "signed", "type": "registry", "secret_env": "REG_HOOK_SECRET"},
            {"name": "open", "type": "registry", "insecure": True},
            {"name": "gh", "type": "ghcr", "secret_env": "GHCR_HOOK_SECRET"},
        ],
        "environments": [
            {
                "name": "int",
                "services": {"file": "inventory.json"},
                "filters": ["stack=int"],
                "dispatch": {"type": "plans", "dir": "plans"},
            }
        ],
    }
    data.update(overrides)
    path = folder / "cdhelper.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def registry_push(tag: str, pushed: str, event_id: str, repository: str = "app") -> bytes:
    """A CNCF registry notification envelope: one tagged manifest push."""
    envelope = {
        "events": [
            {
                "id": event_id,
                "timestamp": "2026-11-27T03:51:11.055522556Z",
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "size": 1000,
                    "digest": pushed,
                    "length": 1000,
                    "repository": repository,
                    "url": f"http://{HOST}/v2/{repository}/manifests/{pushed}",
                    "tag": tag,
                },
                "request": {
                    "id": f"req-{event_id}",
                    "addr": "127.0.0.1:40000",
                    "host": HOST,
                    "method": "PUT",
                    "useragent": "docker/27",
                },
                "actor": {},
                "source": {"addr": "vm:5000", "instanceID": "i-1"},
            }
        ]
    }
    return json.dumps(envelope).encode()


def hub_push(tag: str = "INT") -> bytes:
    return (
        (Path(__file__).parent.parent.parent / "examples" / "dockerhub-push.json")
        .read_bytes()
        .replace(b'"tag": "INT"', f'"tag": "{tag}"'.encode())
    )


def github_headers(body: bytes, delivery: str, event: str = "package") -> dict[str, str]:
    """Headers as GitHub sends them for a webhook with a secret."""
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": auth.sign_github(GHCR_SECRET, body),
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": "application/json",
    }


def standard_headers(body: bytes, message_id: str, secret: str = REG_SECRET) -> dict[str, str]:
    """Headers as a Standard Webhooks sender (GitLab's signing token) sets them."""
    now = int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(now),
        "webhook-signature": auth.sign_standard(secret, message_id, now, body),
        "content-type": "application/json",
    }


@dataclass
class Running:
    url: str
    config: configuration.Config

    def post(
        self, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        return requests.post(self.url + path, data=body, headers=dict(headers or {}), timeout=10)

    def plans(self) -> list[Path]:
        folder = Path(self.config.directory) / "plans"
        return sorted(folder.glob("*.yaml")) if folder.exists() else []


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@contextmanager
def inbox_in_thread(config_path: Path, environ: Mapping[str, str] = ENVIRON) -> Iterator[Running]:
    """The whole inbox (app, store, worker) under uvicorn, in this process."""
    config = configuration.load(str(config_path), environ)
    dispatchers = configuration.build_dispatchers(config, environ)
    store = Store(config.database)
    metrics = Metrics()
    inbox = Inbox(config, store, Worker(config, store, dispatchers, metrics), metrics)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(inbox), host="127.0.0.1", port=port, access_log=False, log_config=None
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthy(url), what="the inbox to start")
        yield Running(url, config)
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


class InboxProcess:
    """``python -m cdhelper serve`` as a real process; its stderr kept in a file."""

    def __init__(self, config_path: Path, log: Path) -> None:
        self.config_path = config_path
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> InboxProcess:
        env = {**os.environ, **ENVIRON}
        env.pop("COV_CORE_SOURCE", None)
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cdhelper",
                    "serve",
                    "--config",
                    str(self.config_path),
                    "--listen",
                    f"127.0.0.1:{self.port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
        wait_until(lambda: self._alive() and healthy(self.url), 20, "the inbox process to start")
        return self

    def _alive(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the inbox exited: {self.log.read_text()}")
        return True

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def post(
        self, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        return requests.post(self.url + path, data=body, headers=dict(headers or {}), timeout=10)
