"""Private instances of the real servers for integration tests and benchmarks.

``Registry`` runs the CNCF Distribution registry (Debian ``docker-registry``) on a free
loopback port with storage in a temp dir, optionally with htpasswd auth and a
notification endpoint. ``Dockerd`` runs a private Docker daemon (Debian ``docker.io``)
with its own data root, exec root and socket, in swarm mode on free loopback ports.
Both touch nothing outside their directory and stop with the test session.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from images import Image

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<uri>\S+) HTTP/[0-9.]+" (?P<status>\d{3})')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_udp_port(low: int = 20000, high: int = 49151) -> int:
    """A free UDP port in the range Swarm accepts for its data path (VXLAN)."""
    for port in random.sample(range(low, high), 200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port for the Swarm data path")


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class NotificationReceiver:
    """An HTTP endpoint that stores what the registry POSTs to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                receiver.bodies.append(body)
                receiver.content_types.append(self.headers.get("Content-Type", ""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/events"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def manifest_pushes(self, repository: str, tag: str) -> list[dict[str, Any]]:
        """The envelopes that carry a push of ``repository:tag``."""
        return [
            body
            for body in self.bodies
            for event in body["events"]
            if event["action"] == "push"
            and event["target"].get("repository") == repository
            and event["target"].get("tag") == tag
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Registry:
    """A running registry; ``push`` uploads images with plain HTTP."""

    root: Path
    users: dict[str, str] = field(default_factory=dict)
    notify_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host},
        }
        if self.users:
            htpasswd = self.root / "htpasswd"
            for user, password in self.users.items():
                subprocess.run(
                    [
                        "htpasswd",
                        "-B",
                        "-b",
                        *(["-c"] if not htpasswd.exists() else []),
                        str(htpasswd),
                        user,
                        password,
                    ],
                    check=True,
                    capture_output=True,
                )
            config["auth"] = {"htpasswd": {"realm": "cdhelper-tests", "path": str(htpasswd)}}
        if self.notify_url:
            config["notifications"] = {
                "endpoints": [
                    {
                        "name": "cdhelper",
                        "url": self.notify_url,
                        "timeout": "2s",
                        "threshold": 3,
                        "backoff": "1s",
                    }
                ]
            }
        config_path = self.root / "config.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["docker-registry", "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._up, 20, f"registry on {self.host}")
        return self

    def _up(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"registry exited: {self.log_path.read_text()[-2000:]}")
        try:
            requests.get(f"{self.url}/v2/", timeout=1)
        except requests.ConnectionError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def _session(self) -> requests.Session:
        session = requests.Session()
        if self.users:
            user, password = next(iter(self.users.items()))
            session.auth = (user, password)
        return session

    def push(self, repository: str, tag: str | None, image: Image) -> str:
        """Upload blobs and manifest (children first for an index); returns the digest."""
        session = self._session()
        for child in image.children:
            self.push(repository, None, child)
        for blob in image.blobs:
            if session.head(f"{self.url}/v2/{repository}/blobs/{blob.digest}", timeout=10).ok:
                continue
            started = session.post(f"{self.url}/v2/{repository}/blobs/uploads/", timeout=10)
            started.raise_for_status()
            location = started.headers["Location"]
            if location.startswith("/"):
                location = self.url + location
            sep = "&" if "?" in location else "?"
            done = session.put(f"{location}{sep}digest={blob.digest}", data=blob.data, timeout=30)
            done.raise_for_status()
        reference = tag or image.digest
        response = session.put(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            data=image.manifest,
            headers={"Content-Type": image.media_type},
            timeout=10,
        )
        response.raise_for_status()
        assert response.headers["Docker-Content-Digest"] == image.digest
        return image.digest

    def delete_tag(self, repository: str, tag: str) -> None:
        """Untag by deleting the manifest the tag points to (what `registry` supports)."""
        session = self._session()
        head = session.head(
            f"{self.url}/v2/{repository}/manifests/{tag}",
            headers={
                "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                "application/vnd.oci.image.index.v1+json"
            },
            timeout=10,
        )
        head.raise_for_status()
        digest = head.headers["Docker-Content-Digest"]
        session.delete(
            f"{self.url}/v2/{repository}/manifests/{digest}", timeout=10
        ).raise_for_status()

    def access_log(self) -> list[tuple[str, str, int]]:
        """(method, uri, status) of every request the registry served, from its own log."""
        return [
            (m["method"], m["uri"], int(m["status"]))
            for m in _ACCESS.finditer(self.log_path.read_text(errors="replace"))
        ]

    def docker_config(self, directory: Path) -> Path:
        """A Docker CLI config.json holding this registry's credentials."""
        directory.mkdir(parents=True, exist_ok=True)
        user, password = next(iter(self.users.items()))
        auths = {self.host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}
        (directory / "config.json").write_text(json.dumps({"auths": auths}))
        return directory


@contextmanager
def registry(root: Path, **options: Any) -> Iterator[Registry]:
    server = Registry(root, **options).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Dockerd:
    """A private Docker daemon in swarm mode."""

    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> Dockerd:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "dockerd.log").open("ab") as log:
            self.process = self._popen(log)
        try:
            wait_until(self._up, 60, "dockerd")
            port = free_port()
            self.docker(
                "swarm",
                "init",
                "--listen-addr",
                f"127.0.0.1:{port}",
                "--advertise-addr",
                f"127.0.0.1:{port}",
                "--data-path-port",
                str(free_udp_port()),
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _popen(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "dockerd",
                "--data-root",
                str(self.root / "data"),
                "--exec-root",
                str(self.root / "exec"),
                "--pidfile",
                str(self.root / "dockerd.pid"),
                "--host",
                self.host,
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _up(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"dockerd exited: {(self.root / 'dockerd.log').read_text()[-3000:]}")
        return (
            self.socket.exists()
            and subprocess.run(
                [_docker_cli(), "-H", self.host, "info"], capture_output=True, check=False
            ).returncode
            == 0
        )

    def docker(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [_docker_cli(), "-H", self.host, *args], capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def stop(self) -> None:
        if self.process is None:
            return
        self.docker("swarm", "leave", "--force", check=False)
        _stop(self.process, timeout=30)
        self.process = None
        _unmount_under(self.root)


def _unmount_under(root: Path) -> None:
    """dockerd leaves network namespaces and overlays mounted below its roots."""
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted((p for p in points if p.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _docker_cli() -> str:
    # The Debian package's client matches its daemon; another client may be on PATH.
    return (
        "/usr/bin/docker"
        if os.path.exists("/usr/bin/docker")
        else shutil.which("docker") or "docker"
    )


def servers_available() -> list[str]:
    """What is missing to run the integration tests here (empty: all there)."""
    missing = []
    for program in ("dockerd", "docker-registry", "htpasswd"):
        if shutil.which(program) is None:
            missing.append(program)
    if not Path("/bin/busybox").exists():
        missing.append("/bin/busybox (busybox-static)")
    if os.geteuid() != 0:
        missing.append("root (dockerd runs as root)")
    return missing
