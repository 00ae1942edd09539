"""Benchmark: `cdhelper plan --smart` against the real registry behind a slow link.

Starts a private CNCF registry (Debian `docker-registry`) on loopback, pushes images for
REFS unique references, generates an inventory of SERVICES services over them, and puts
a delaying proxy (LATENCY ms per request) in front of the registry. It then runs cdhelper's
smart plan and a naive check (one manifest HEAD per service, one after the other, as a
poller like Swarmpit's autoredeploy does) and prints requests and wall time for both.

    python bench/smart_bench.py [--services 2000] [--refs 300] [--latency-ms 20]

Needs the Debian packages docker-registry and busybox-static (see the README).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from cdhelper import jobs
from cdhelper.backends import Source
from cdhelper.plan import Mode
from cdhelper.registry import ACCEPT, RegistryClient

from images import image
from servers import Registry


class DelayingProxy:
    """Forwards HEAD/GET to ``upstream`` after ``latency`` seconds; counts what it forwards."""

    def __init__(self, upstream: str, latency: float) -> None:
        self.count = 0
        self._lock = threading.Lock()
        proxy = self
        session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self, method: str) -> None:
                with proxy._lock:
                    proxy.count += 1
                time.sleep(latency)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = session.request(method, upstream + self.path, headers=headers, timeout=30)
                body = b"" if method == "HEAD" else answer.content
                self.send_response(answer.status_code)
                for key in ("Docker-Content-Digest", "Content-Type", "WWW-Authenticate"):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                length = (
                    answer.headers.get("Content-Length", "0")
                    if method == "HEAD"
                    else str(len(body))
                )
                self.send_header("Content-Length", length)
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                self._forward("HEAD")

            def do_GET(self) -> None:
                self._forward("GET")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--refs", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallel", type=int, default=jobs.DEFAULT_PARALLEL)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cdhelper-bench-") as tmp:
        root = Path(tmp)
        registry = Registry(root / "registry").start()
        proxy = DelayingProxy(registry.url, args.latency_ms / 1000)
        try:
            refs = []
            for number in range(args.refs):
                repository, tag = f"bench/app{number // 3}", f"v{number % 3}"
                old = registry.push(repository, tag, image(f"{repository}:{tag}:old"))
                registry.push(repository, tag, image(f"{repository}:{tag}:new"))
                refs.append((f"{proxy.host}/{repository}:{tag}", old))
            inventory = [
                {
                    "ID": f"svc{index}",
                    "Version": {"Index": index},
                    "Spec": {
                        "Name": f"svc{index}",
                        "TaskTemplate": {"ContainerSpec": {"Image": f"{ref}@{old}"}},
                    },
                }
                for index, (ref, old) in ((i, refs[i % len(refs)]) for i in range(args.services))
            ]
            inventory_path = root / "inventory.json"
            inventory_path.write_text(json.dumps(inventory))

            proxy.count = 0
            started = time.perf_counter()
            outcome = jobs.make_plan(
                jobs.PlanRequest(
                    mode=Mode.SMART,
                    source=Source(inventory_file=str(inventory_path)),
                    registry=lambda: RegistryClient(pool_size=args.parallel),
                    parallel=args.parallel,
                ),
                now=datetime.now(UTC),
            )
            smart_time = time.perf_counter() - started
            smart_requests = proxy.count
            assert len(outcome.plan.actions) == args.services, "every service is behind"

            proxy.count = 0
            session = requests.Session()
            started = time.perf_counter()
            for ref, _ in (refs[i % len(refs)] for i in range(args.services)):
                host, _, rest = ref.partition("/")
                name, _, tag = rest.rpartition(":")
                session.head(
                    f"http://{host}/v2/{name}/manifests/{tag}",
                    headers={"Accept": ACCEPT},
                    timeout=30,
                ).raise_for_status()
            naive_time = time.perf_counter() - started
            naive_requests = proxy.count
        finally:
            proxy.close()
            registry.stop()

    print(
        f"services: {args.services}, unique references: {args.refs}, "
        f"added latency: {args.latency_ms:g} ms per request, parallel: {args.parallel}"
    )
    print(f"{'':<34}{'requests':>10}{'wall time':>12}")
    print(f"{'cdhelper plan --smart':<34}{smart_requests:>10}{smart_time:>11.2f}s")
    print(f"{'naive: one HEAD per service':<34}{naive_requests:>10}{naive_time:>11.2f}s")
    print(
        f"ratio (naive / cdhelper): {naive_requests / smart_requests:.1f}x fewer requests, "
        f"{naive_time / smart_time:.1f}x faster"
    )


if __name__ == "__main__":
    main()
