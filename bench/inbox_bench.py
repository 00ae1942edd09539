"""Benchmark: the webhook inbox (`cdhelper serve`) under a real load generator, and a kill -9.

Starts a real inbox process on loopback (`python -m cdhelper serve --config FILE --listen
127.0.0.1:PORT`) with one Docker Hub source (token in the URL path) and one environment
dispatching to `plans`, then drives it with `wrk` (Debian package `wrk`) and a Lua script
that POSTs Docker Hub push payloads (a distinct tag per request, so that nothing is
deduplicated) to /hooks/hub/<token> and counts the 202 answers in its response() callback.

1. Throughput: DURATION seconds of load: accepted deliveries/s, p50 and p99 latency
   (wrk's, of every answered request).
2. Crash: load again; after KILL_AFTER seconds the inbox gets SIGKILL and is restarted at
   once on the same store; the load goes on until the end. Every delivery answered 202
   must be in the store: stored >= accepted, counted in the inbox's SQLite store
   (read-only) after the run. A delivery committed but whose answer the kill (or the end
   of the load) cut off is stored without having been counted: at most one per connection
   each time.

    python bench/inbox_bench.py [--duration 10] [--connections 8] [--threads 1]

Loopback only; every process it starts is stopped at the end; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOAL_RATE, GOAL_P99_MS = 500.0, 50.0  # issue 10's goals, on a 2-core machine

LUA = r"""
-- POST Docker Hub push payloads, a distinct tag each; count the answers by status.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  accepted = 0
  other = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(TEMPLATE, PHASE, number, counter)
  return wrk.format("POST", PATH, nil, body)
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    o = o + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT accepted=%d other=%d requests=%d duration_us=%d p50_us=%d p90_us=%d " ..
    "p99_us=%d max_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    a, o, summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Run:
    accepted: int
    other: int
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def write_files(root: Path, port: int, token: str) -> tuple[Path, str]:
    """The inbox's config (one Docker Hub source, one `plans` environment) and wrk's script."""
    services = root / "services.json"
    shutil.copy(EXAMPLES / "swarmpit-services.json", services)
    config = root / "cdhelper.yaml"
    config.write_text(
        json.dumps(
            {
                "listen": f"127.0.0.1:{port}",
                "state": str(root / "state"),
                "coalesce_seconds": 2,
                "max_batch_seconds": 10,
                "sources": [{"name": "hub", "type": "dockerhub", "token_env": "HUB_HOOK_TOKEN"}],
                "environments": [
                    {
                        "name": "bench",
                        "services": {"file": str(services)},
                        "dispatch": {"type": "plans", "dir": str(root / "plans")},
                    }
                ],
            },
            indent=2,
        )
    )
    payload = json.loads((EXAMPLES / "dockerhub-push.json").read_text())
    payload["push_data"]["tag"] = "bench-%s-t%d-%d"  # phase, wrk thread, request
    payload["repository"]["repo_name"] = "bench/app"  # no service runs it: nothing to redeploy
    payload["repository"]["name"] = "app"
    payload["repository"]["namespace"] = "bench"
    template = json.dumps(payload, separators=(",", ":"))
    script = f"TEMPLATE = {lua_string(template)}\nPATH = {lua_string('/hooks/hub/' + token)}\n"
    return config, script + LUA


def phase_script(root: Path, script: str, phase: str) -> Path:
    path = root / f"{phase}.lua"
    path.touch(mode=0o600)  # it holds the token
    path.write_text(f"PHASE = {lua_string(phase)}\n" + script)
    return path


class Inbox:
    """One `cdhelper serve` process; its JSON log lines go to a file."""

    def __init__(self, config: Path, port: int, env: dict[str, str], log: IO[bytes]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cdhelper", "serve", "--config", str(config),
             "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=log,
        )  # fmt: skip
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the inbox exited with {self.process.returncode} (see its log)")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the inbox did not answer /healthz within {timeout:g} s")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_wrk(url: str, script: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
         "--timeout", "5s", "--latency", "-s", str(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def finish_wrk(process: subprocess.Popen[str], duration: float) -> Run:
    out, _ = process.communicate(timeout=duration + 60)
    match = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
    if process.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{out}")
    values = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
    return Run(
        accepted=values["accepted"],
        other=values["other"],
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1000,
        p90_ms=values["p90_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        errors={k: values[k] for k in ("connect", "read", "write", "status", "timeout")},
    )


def stored(database: Path, phase: str) -> int:
    """Accepted deliveries of a phase in the inbox's store (read-only: WAL lets it run beside
    the inbox). A delivery's event has the phase in its tag."""
    time.sleep(1.0)  # requests cut off when wrk stopped may still be committing
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        (count,) = connection.execute(
            "SELECT count(DISTINCT d.id) FROM deliveries d JOIN events e ON e.delivery_id = d.id"
            " WHERE d.outcome = 'accepted' AND e.tag LIKE ?",
            (f"bench-{phase}-%",),
        ).fetchone()
    finally:
        connection.close()
    return int(count)


def status_json(config: Path, env: dict[str, str]) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "cdhelper", "inbox", "status", "--config", str(config),
         "--format", "json", "--limit", "3"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def show(title: str, run: Run) -> None:
    errors = ", ".join(f"{k} {v}" for k, v in run.errors.items() if v) or "none"
    print(
        f"{title}: {run.accepted} accepted (202) in {run.seconds:.1f} s = {run.rate:.0f} "
        f"deliveries/s; other answers {run.other}; latency p50 {run.p50_ms:.1f} ms, "
        f"p90 {run.p90_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, max {run.max_ms:.1f} ms; "
        f"socket errors: {errors}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per phase")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--kill-after", type=float, default=4.0, help="seconds into phase 2")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2

    root = Path(tempfile.mkdtemp(prefix="cdhelper-inbox-bench-"))
    port, token = free_port(), secrets.token_hex(16)
    config, script = write_files(root, port, token)
    env = {**os.environ, "HUB_HOOK_TOKEN": token}
    database = root / "state" / "inbox.sqlite3"
    log = (root / "inbox.log").open("ab")
    inbox = Inbox(config, port, env, log)
    try:
        print(
            f"inbox on 127.0.0.1:{port} ({os.cpu_count()} CPUs), wrk -t{args.threads} "
            f"-c{args.connections} -d{args.duration}s, Docker Hub payloads, token in the path"
        )
        first = finish_wrk(
            start_wrk(inbox.url, phase_script(root, script, "load"), args), args.duration
        )
        show("load", first)
        kept = stored(database, "load")
        lost_first = max(0, first.accepted - kept)
        print(
            f"  accepted (202) {first.accepted}, stored {kept}: lost {lost_first}, stored "
            f"without an answer (in flight when wrk stopped) {max(0, kept - first.accepted)}"
        )

        load = start_wrk(inbox.url, phase_script(root, script, "crash"), args)
        time.sleep(args.kill_after)
        killed_at = time.monotonic()
        inbox.kill()
        inbox = Inbox(config, port, env, log)
        down = time.monotonic() - killed_at
        second = finish_wrk(load, args.duration)
        show("kill -9 under load", second)
        inbox.wait_healthy()
        after = stored(database, "crash")
        lost = max(0, second.accepted - after)
        print(
            f"  killed {args.kill_after:g} s in, answering /healthz again {down:.2f} s later; "
            f"accepted (202) {second.accepted}, stored {after}: lost {lost}, "
            f"stored without an answer (cut off by the kill or the end) "
            f"{max(0, after - second.accepted)}"
        )
        recent = status_json(config, env)
        print(
            f"  inbox status: {len(recent['deliveries'])} recent deliveries, "
            f"batches {[b['status'] for b in recent['batches']]}, "
            f"dispatches {[d['status'] for d in recent['dispatches']]}"
        )
        print(
            f"goal: >= {GOAL_RATE:g}/s: {'yes' if first.rate >= GOAL_RATE else 'NO'}; "
            f"p99 <= {GOAL_P99_MS:g} ms: {'yes' if first.p99_ms <= GOAL_P99_MS else 'NO'}; "
            f"0 lost: {'yes' if lost == lost_first == 0 else 'NO'}"
        )
        return 0 if lost == lost_first == 0 else 1
    finally:
        inbox.stop()
        log.close()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
