"""Benchmark: cdhelper's whole-process cost as the Swarm grows (10 to 100,000 services).

Generates Swarmpit-shaped inventories (each service a copy of the bundled example's first
record, with its own id, name and image) and one Docker Hub event that moves one of them,
then runs ``cdhelper plan``, ``cdhelper plan --smart``, ``cdhelper validate`` (on an
envelope of N registry events) and ``cdhelper show`` (on the plan over N services) as
separate processes, several times each, measuring wall time and peak memory (the child's
max RSS). It prints the medians and each size's ratio to the 10-service run, the
denominator: cdhelper's own start-up.

``plan --smart`` asks a stand-in registry on loopback (in this process) that answers every
manifest HEAD at once; its services follow 10 tags at every size, so each run sends the
same 10 HEADs and one ping, and the registry's share is the same small constant at every
size: what grows is cdhelper's own work. Every tenth service is behind its tag.

    python bench/scale_bench.py [--sizes 10,1000,10000,100000] [--runs 5]

Needs nothing but cdhelper installed in this interpreter; touches no network.
"""

from __future__ import annotations

import argparse
import compileall
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "inventory-swarmpit.json"
DIGEST = "sha256:" + "2" * 64
PUBLISHED = "sha256:" + "3" * 64  # what the stand-in registry says every tag points to
SMART_TAGS = 10


def inventory(size: int, registry: str | None = None) -> list[dict[str, Any]]:
    """``size`` Swarmpit services; every tenth follows ``bench/app:v1``, the pushed tag.

    With ``registry`` (for ``--smart``): images on that registry, ``SMART_TAGS`` of them,
    every tenth service behind its tag, the others running what it points to.
    """
    template = json.loads(EXAMPLE.read_text())[0]
    services = []
    for index in range(size):
        service = copy.deepcopy(template)
        if registry:
            repo = f"{registry}/bench/app{index % SMART_TAGS}"
            digest = "sha256:" + f"{index:064x}" if index % 10 == 0 else PUBLISHED
        else:
            repo = "bench/app" if index % 10 == 0 else f"bench/app{index % 997}"
            digest = "sha256:" + f"{index:064x}"
        service["id"] = f"svc{index:07d}"
        service["serviceName"] = f"stack{index % 50}_service{index}"
        service["stack"] = f"stack{index % 50}"
        service["repository"] = {
            "name": repo,
            "tag": "v1",
            "image": f"{repo}:v1",
            "imageDigest": digest,
        }
        services.append(service)
    return services


class _Registry(BaseHTTPRequestHandler):
    """A registry that answers the ping and every manifest HEAD at once, without auth."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        if "/manifests/" in self.path:
            self.send_header("Docker-Content-Digest", PUBLISHED)
            self.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_registry() -> str:
    """The stand-in registry on a free loopback port: its ``host:port``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"127.0.0.1:{server.server_address[1]}"


def hub_event() -> dict[str, Any]:
    return {
        "push_data": {"pushed_at": 1_700_000_000, "tag": "v1", "pusher": "bench"},
        "repository": {"repo_name": "bench/app", "namespace": "bench", "name": "app"},
    }


def registry_envelope(size: int) -> dict[str, Any]:
    """One notification envelope of ``size`` tagged manifest pushes."""
    events = [
        {
            "id": f"ev{index}",
            "timestamp": "2026-11-27T03:51:11.095133Z",
            "action": "push",
            "target": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": DIGEST,
                "repository": f"app{index}",
                "url": f"http://127.0.0.1:5000/v2/app{index}/manifests/{DIGEST}",
                "tag": "v1",
            },
            "request": {"host": "127.0.0.1:5000"},
        }
        for index in range(size)
    ]
    return {"events": events}


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``cdhelper`` process."""
    start = time.perf_counter()
    pid = os.posix_spawn(
        sys.executable,
        [sys.executable, "-m", "cdhelper", *args],
        os.environ,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
        ],
    )
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"cdhelper {' '.join(args)} failed")
    return elapsed, usage.ru_maxrss / 1024  # KiB on Linux


def generate(work: Path, size: int, registry: str) -> None:
    """Write the inputs for ``size`` services (run in a child: keeps this process small)."""
    # compact, as Swarmpit's GET /api/services answers (and the Engine's GET /services)
    compact = (",", ":")
    (work / f"inventory-{size}.json").write_text(json.dumps(inventory(size), separators=compact))
    smart = json.dumps(inventory(size, registry), separators=compact)
    (work / f"smart-{size}.json").write_text(smart)
    (work / f"envelope-{size}.json").write_text(json.dumps(registry_envelope(size)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commands", default="plan,smart,validate,show")
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.generate:
        generate(Path(options.generate[0]), int(options.generate[1]), options.generate[2])
        return
    sizes = [int(s) for s in options.sizes.split(",")]
    commands = options.commands.split(",")
    # An installed package has its bytecode compiled (pip does it); a checkout may not,
    # and PYTHONDONTWRITEBYTECODE=1 would make every run compile cdhelper again.
    compileall.compile_dir(ROOT / "cdhelper", quiet=1)
    registry = start_registry()
    times: dict[tuple[str, int], list[float]] = {}
    peaks: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        event = work / "hub.json"
        event.write_text(json.dumps(hub_event()))
        arguments: dict[tuple[str, int], list[str]] = {}
        for size in sizes:
            # A child writes the inputs: the benchmark's own memory never inflates the
            # peak RSS measured for the cdhelper processes it spawns.
            subprocess.run(
                [sys.executable, __file__, "--generate", str(work), str(size), registry],
                check=True,
            )
            inv = work / f"inventory-{size}.json"
            plan = work / f"plan-{size}.yaml"
            run(["plan", "--event", str(event), "--inventory", str(inv), "-o", str(plan)])
            for command, args in (
                ("plan", ["plan", "--event", str(event), "--inventory", str(inv)]),
                ("smart", ["plan", "--smart", "--inventory", str(work / f"smart-{size}.json")]),
                ("validate", ["validate", str(work / f"envelope-{size}.json")]),
                ("show", ["show", str(plan)]),
            ):
                if command in commands:
                    arguments[command, size] = args
        # Paired runs: each round runs every size once, so a slower moment of the machine
        # weighs on the 10-service run and on the large ones alike.
        for _ in range(options.runs):
            for key, args in arguments.items():
                seconds, peak = run(args)
                times.setdefault(key, []).append(seconds)
                peaks[key] = max(peaks.get(key, 0.0), peak)
    print(f"{'command':<9} {'services':>9} {'median s':>9} {'ratio':>7} {'peak MB':>8}")
    for command, size in arguments:
        base = times[command, sizes[0]]
        ratio = statistics.median(t / b for t, b in zip(times[command, size], base, strict=True))
        seconds, peak = statistics.median(times[command, size]), peaks[command, size]
        print(f"{command:<9} {size:>9,} {seconds:>9.3f} {ratio:>6.1f}x {peak:>8.0f}")
    print(
        f"({options.runs} paired runs; ratio: the median of each run's ratio to the "
        f"{sizes[0]:,}-service run of the same round; smart = plan --smart against a loopback "
        f"registry that answers at once, {SMART_TAGS} tags; python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
