"""No secret cdhelper knows ever reaches an output, even when a server echoes it back.

A tiny loopback server plays Swarmpit, a registry and its token service, and answers
errors whose body repeats every request header (and body) it received. Each error path
reachable through the CLI runs; every output stream and every file written is then searched
for each secret and its base64 forms.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cdhelper.cli import cli

from helpers import DATA, digest, docker_inventory, swarmpit_inventory

SWARMPIT_TOKEN = "swarmpit-secret-token-123"
USER = "ci-user"
PASSWORD = "registry-pa55word-xyz"
IDENTITY_TOKEN = "identity-token-abc"
BEARER = "bearer-from-realm-789"
SECRETS = (SWARMPIT_TOKEN, PASSWORD, IDENTITY_TOKEN, BEARER, f"{USER}:{PASSWORD}")
HUB = str(DATA / "dockerhub-push-int.json")
IMAGE = "dopplerdock/doppler-cd-helper:INT"

# (status, headers, body) from what was received (headers and body as text)
Answer = Callable[[str], tuple[int, dict[str, str], str]]


def forms(secret: str) -> set[str]:
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {secret} | encoded | {e.rstrip("=") for e in encoded}


FORBIDDEN = set().union(*(forms(s) for s in SECRETS))


def echo(status: int, key: str = "message") -> Answer:
    """An error whose JSON body repeats the request, as careless servers do."""
    return lambda seen: (status, {"Content-Type": "application/json"}, json.dumps({key: seen}))


def fixed(status: int, text: str) -> Answer:
    return lambda _: (status, {"Content-Type": "application/json"}, text)


def plain_echo(status: int) -> Answer:
    return lambda seen: (status, {"Content-Type": "text/plain"}, seen)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[tuple[str, str], Answer] = {}
        self.seen: list[tuple[str, str, str]] = []  # method, path, headers and body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def route(self, method: str, path: str, answer: Answer) -> None:
        self.routes[(method, path)] = answer


class Handler(BaseHTTPRequestHandler):
    server: Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1") if length else ""
        # Authorization first: error bodies are cut short, and the echo must show it.
        received = sorted(self.headers.items(), key=lambda item: item[0] != "Authorization")
        seen = "".join(f"{k}: {v}\n" for k, v in received) + body
        path = self.path.split("?", 1)[0]
        self.server.seen.append((self.command, path, seen))
        answer = self.server.routes.get((self.command, path))
        status, headers, text = answer(seen) if answer else (404, {}, "not found")
        data = text.encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    thread = threading.Thread(target=running.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture
def run(tmp_path: Path, no_sleep: list[float]) -> Callable[..., Result]:
    """Run the CLI; afterwards every stream and every file under tmp_path is searched."""
    results: list[Result] = []

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        environment = {
            "CDHELPER_SWARMPIT_TOKEN": f"Bearer {SWARMPIT_TOKEN}",
            "DOCKER_CONFIG": str(tmp_path / "docker"),
            **(env or {}),
        }
        result = CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)
        results.append(result)
        assert_clean("stdout", result.stdout)
        assert_clean("stderr", result.stderr)
        for path in tmp_path.rglob("*"):
            if path.is_file() and path.parent.name != "docker":  # config.json holds them
                assert_clean(str(path), path.read_text(errors="replace"))
        return result

    return invoke


def assert_clean(where: str, text: str) -> None:
    leaked = sorted(form for form in FORBIDDEN if form in text)
    assert not leaked, f"{where} leaks {leaked}:\n{text}"


def docker_config(tmp_path: Path, registry: str, entry: dict[str, Any]) -> None:
    (tmp_path / "docker").mkdir(exist_ok=True)
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {registry: entry}}))


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# --- Swarmpit -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 500])
def test_inventory_refused_with_an_echo(
    server: Server, run: Callable[..., Result], status: int
) -> None:
    server.route("GET", "/api/services", echo(status))
    result = run("inventory", "--swarmpit-url", server.url)
    assert result.exit_code == 1
    assert f"answered HTTP {status}" in result.stderr
    assert "Authorization: Bearer ***" in result.stderr  # the echo is shown, the token not


def test_plan_from_a_live_swarmpit_that_echoes(
    server: Server, run: Callable[..., Result], tmp_path: Path
) -> None:
    server.route("GET", "/api/services", plain_echo(502))
    result = run("plan", "--event", HUB, "--swarmpit-url", server.url, "-o", str(tmp_path / "p"))
    assert result.exit_code == 1 and "answered HTTP 502" in result.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("status", [401, 500])
def test_apply_redeploys_refused_with_an_echo(
    server: Server, run: Callable[..., Result], tmp_path: Path, status: int
) -> None:
    inventory = swarmpit_inventory(
        tmp_path, [{"name": "one", "image": IMAGE}, {"name": "two", "image": IMAGE}]
    )
    live = Path(inventory).read_text()
    server.route("GET", "/api/services", lambda _: (200, {}, live))
    for item in json.loads(live):  # apply re-reads each service before its redeploy
        server.route("GET", f"/api/services/{item['id']}", fixed(200, json.dumps(item)))
    for service in ("sp0one", "sp1two"):
        server.route("POST", f"/api/services/{service}/redeploy", echo(status, "error"))
    plan = tmp_path / "plan.yaml"
    assert run("plan", "--event", HUB, "--inventory", inventory, "-o", str(plan)).exit_code == 0
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run(
        "apply", str(plan), "--swarmpit-url", server.url, "--report", str(report),
        "--junit", str(junit),
    )  # fmt: skip
    assert result.exit_code == 1
    outcomes = [r["outcome"] for r in json.loads(report.read_text())["results"]]
    assert outcomes == ["failed", "failed"]
    assert "Bearer ***" in report.read_text() and "Bearer ***" in junit.read_text()
    posts = [path for method, path, _ in server.seen if method == "POST"]
    if status == 401:  # the token is not sent again once refused
        assert len(posts) == 1
        assert "not tried, the token was refused before" in report.read_text()
    else:
        assert len(posts) == 2


@pytest.mark.parametrize("command", ["inventory", "plan", "apply"])
def test_no_token_over_plain_http_to_a_remote_swarmpit(
    run: Callable[..., Result], tmp_path: Path, command: str
) -> None:
    url = "http://swarmpit.example.com:8080"
    args = {
        "inventory": ["inventory", "--swarmpit-url", url],
        "plan": ["plan", "--event", HUB, "--swarmpit-url", url],
        "apply": ["apply", str(_plan_for(tmp_path, url)), "--report", str(tmp_path / "r.json")],
    }[command]
    result = run(*args)
    assert result.exit_code == 1
    assert (
        f"refusing to send the Swarmpit API token over plain http to {url}: use https, "
        "or give --allow-http" in result.stderr
    )


def test_allow_http_lets_the_token_go(run: Callable[..., Result]) -> None:
    url = "http://swarmpit.example.com:8080"
    for args, env in (
        (["--allow-http"], {}),
        ([], {"CDHELPER_ALLOW_HTTP": "1"}),
    ):
        result = run("inventory", "--swarmpit-url", url, *args, env=env)
        # Past the check: the test's socket guard stops the request to a non-loopback host.
        assert result.exit_code == 1 and "refusing" not in result.stderr
        assert "cannot reach http://swarmpit.example.com:8080/api/services" in result.stderr


def _plan_for(tmp_path: Path, url: str) -> Path:
    plan = tmp_path / "remote-plan.yaml"
    inventory = swarmpit_inventory(tmp_path, [{"name": "one", "image": IMAGE}])
    text = CliRunner().invoke(cli, ["plan", "--event", HUB, "--inventory", inventory]).stdout
    plan.write_text(text.replace("url: null", f"url: {url}"))
    return plan


@pytest.mark.parametrize("token", ["tök€n-ünicode", "two words here", "ctrl\x01char"])
def test_a_token_that_cannot_be_sent_is_a_clear_error(
    run: Callable[..., Result], server: Server, token: str
) -> None:
    result = run("inventory", "--swarmpit-url", server.url, env={"CDHELPER_SWARMPIT_TOKEN": token})
    assert result.exit_code == 1
    assert "CDHELPER_SWARMPIT_TOKEN is not a Swarmpit API token" in result.stderr
    assert token not in result.stderr and server.seen == []


# --- registries -----------------------------------------------------------------------


def registry_with_tokens(server: Server, *, realm: str | None = None) -> None:
    realm = realm or f"{server.url}/token"
    server.route(
        "GET",
        "/v2/",
        lambda _: (401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"'}, ""),
    )


def smart(run: Callable[..., Result], server: Server, tmp_path: Path, *extra: str) -> Result:
    inventory = docker_inventory(
        tmp_path,
        [
            {"name": "broken", "image": f"{server.host}/app:v1@{digest('1')}"},
            {"name": "fine", "image": f"{server.host}/ok:v1@{digest('1')}"},
        ],
    )
    return run(
        "plan", "--smart", "--inventory", inventory, "-o", str(tmp_path / "plan.yaml"), *extra
    )


@pytest.mark.parametrize(
    "entry",
    [{"auth": basic(USER, PASSWORD)}, {"identitytoken": IDENTITY_TOKEN}],
    ids=["basic", "identity"],
)
def test_registry_echoes_the_bearer_token_into_a_plan_warning(
    server: Server, run: Callable[..., Result], tmp_path: Path, entry: dict[str, str]
) -> None:
    docker_config(tmp_path, server.host, entry)
    registry_with_tokens(server)
    answer = {"token": BEARER, "refresh_token": IDENTITY_TOKEN}
    token: Answer = lambda _: (200, {}, json.dumps(answer))  # noqa: E731
    server.route("GET", "/token", token)
    server.route("POST", "/token", token)
    server.route("HEAD", "/v2/app/manifests/v1", lambda _: (200, {}, ""))
    server.route("GET", "/v2/app/manifests/v1", echo(500, "errors"))
    server.route(
        "HEAD", "/v2/ok/manifests/v1", lambda _: (200, {"Docker-Content-Digest": digest("2")}, "")
    )
    result = smart(run, server, tmp_path)
    assert result.exit_code == 0, result.stderr
    plan = (tmp_path / "plan.yaml").read_text()
    assert "Authorization: Bearer ***" in plan  # the echo made it into the warning, redacted
    [(method, sent)] = [(m, seen) for m, path, seen in server.seen if path == "/token"]
    if "identitytoken" in entry:
        assert method == "POST" and f"refresh_token={IDENTITY_TOKEN}" in sent
    else:
        assert method == "GET" and f"Basic {basic(USER, PASSWORD)}" in sent


@pytest.mark.parametrize("status", [400, 401, 500])
def test_token_service_echoes_the_credentials(
    server: Server, run: Callable[..., Result], tmp_path: Path, status: int
) -> None:
    docker_config(tmp_path, server.host, {"auth": basic(USER, PASSWORD)})
    registry_with_tokens(server)
    server.route("GET", "/token", plain_echo(status))
    result = smart(run, server, tmp_path)
    assert result.exit_code == 1
    assert "no image reference could be checked" in result.stderr
    token_call = next(seen for _, path, seen in server.seen if path == "/token")
    assert f"Basic {basic(USER, PASSWORD)}" in token_call  # sent, then echoed, never shown


@pytest.mark.parametrize(
    ("realm", "message"),
    [
        ("http://localhost:{port}/token", "names a token service on another origin"),
        ("http://127.0.0.1:1/token", "names a token service on another origin"),
        ("ftp://127.0.0.1/token", "invalid token realm"),
        ("http://[::1/token", "invalid token realm"),
        ("http://réalm/token", "invalid token realm"),
    ],
)
def test_realm_elsewhere_or_malformed(
    server: Server, run: Callable[..., Result], tmp_path: Path, realm: str, message: str
) -> None:
    docker_config(tmp_path, server.host, {"auth": basic(USER, PASSWORD)})
    registry_with_tokens(server, realm=realm.format(port=server.server_address[1]))
    result = smart(run, server, tmp_path)
    assert result.exit_code == 1 and message in result.stderr
    assert [path for _, path, _ in server.seen] == ["/v2/"]  # no credentials went anywhere


def test_trusted_realm_lets_the_credentials_go(
    server: Server, run: Callable[..., Result], tmp_path: Path
) -> None:
    docker_config(tmp_path, server.host, {"auth": basic(USER, PASSWORD)})
    port = server.server_address[1]
    registry_with_tokens(server, realm=f"http://localhost:{port}/token")
    server.route("GET", "/token", plain_echo(500))
    result = smart(run, server, tmp_path, "--trusted-realm", f"http://localhost:{port}")
    assert result.exit_code == 1 and "answered HTTP 500" in result.stderr
    assert [path for _, path, _ in server.seen][:2] == ["/v2/", "/token"]  # 500s are retried


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("{broken", "not valid JSON"),
        (
            json.dumps(
                {"auths": {"x.io": {"auth": "!!!"}, "y.io": {"auth": basic(USER, PASSWORD)}}}
            ),
            '$.auths["x.io"].auth: expected base64',
        ),
        (
            json.dumps(
                {
                    "auths": {
                        "x.io": {"identitytoken": "tök€n"},
                        "y.io": {"identitytoken": IDENTITY_TOKEN},
                    }
                }
            ),
            '$.auths["x.io"].identitytoken: expected a printable ASCII token',
        ),
        (json.dumps({"auths": [PASSWORD]}), "$.auths: expected an object"),
    ],
    ids=["not-json", "bad-base64", "non-ascii-token", "wrong-type"],
)
def test_malformed_docker_config(
    server: Server, run: Callable[..., Result], tmp_path: Path, config: str, problem: str
) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(config)
    result = smart(run, server, tmp_path)
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'docker' / 'config.json'}: " in result.stderr
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert server.seen == []


def test_a_short_secret_is_not_redacted_but_nothing_longer_leaks(
    server: Server, run: Callable[..., Result]
) -> None:
    server.route("GET", "/api/services", plain_echo(401))
    result = run("inventory", "--swarmpit-url", server.url, env={"CDHELPER_SWARMPIT_TOKEN": "abc"})
    assert result.exit_code == 1 and "Authorization: Bearer abc" in result.stderr  # documented


def test_a_written_file_that_had_to_be_redacted_is_announced(
    server: Server, run: Callable[..., Result], tmp_path: Path
) -> None:
    inventory = swarmpit_inventory(tmp_path, [{"name": "svc-named-like-the-token", "image": IMAGE}])
    live = Path(inventory).read_text()
    server.route("GET", "/api/services", lambda _: (200, {}, live))
    out = tmp_path / "snapshot.json"
    env = {"CDHELPER_SWARMPIT_TOKEN": "svc-named-like-the-token"}
    result = run("inventory", "--swarmpit-url", server.url, "-o", str(out), env=env)
    assert result.exit_code == 0
    assert f"warning: {out}: a known secret in it was replaced by ***" in result.stderr
    assert '"name": "***"' in out.read_text()


@pytest.mark.parametrize("value", ["ftp://auth.example.com", "https://[::1", "https://a:b@c"])
def test_a_bad_trusted_realm_is_a_usage_error(run: Callable[..., Result], value: str) -> None:
    result = run("plan", "--smart", "--inventory", "x.json", "--trusted-realm", value)
    assert (
        result.exit_code == 2
        and f"Invalid value for '--trusted-realm': invalid token service {value!r}" in result.stderr
    )
