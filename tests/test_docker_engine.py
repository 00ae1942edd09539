"""Fault injection for the Docker Engine backend; the real daemon runs in tests/integration."""

from __future__ import annotations

import base64
import copy
import gc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests

from cdhelper import deadline as deadlines
from cdhelper.backends import docker_engine
from cdhelper.backends.base import Observation, Task
from cdhelper.backends.docker_engine import DockerEngine, check_host, connect
from cdhelper.credentials import CredentialStore
from cdhelper.errors import ApiError, ConfigError, DeadlineError, OutcomeUnknownError
from cdhelper.inventory import fingerprint

from helpers import DATA, digest, make_action

SERVICE = json.loads((DATA / "docker-engine-services.json").read_text())[3]  # "web"
NEW = digest("2")


def out_of_sequence() -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = 500
    return docker.errors.APIError("500", response, explanation="rpc error: update out of sequence")


@dataclass
class FakeClient:
    """Stands in for docker.APIClient: scripted answers, recorded updates."""

    service: dict[str, Any]
    update_errors: list[Exception] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    bump_on_inspect: bool = False
    task_list: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    credstore_env: Any = None
    _auth_configs: Any = field(
        default_factory=lambda: docker.auth.AuthConfig({"auths": {"other.io": {"auth": ""}}})
    )

    def inspect_swarm(self) -> dict[str, str]:
        return {"ID": "cluster-1"}

    def services(self) -> list[dict[str, Any]]:
        return [self.service]

    def inspect_service(self, _: str) -> dict[str, Any]:
        if self.bump_on_inspect:
            self.service["Version"]["Index"] += 1
        return copy.deepcopy(self.service)

    def update_service(self, sid: str, version: int, **spec: Any) -> None:
        if self.update_errors:
            raise self.update_errors.pop(0)
        self.updates.append({"id": sid, "version": version, **spec})

    def tasks(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return list(self.task_list)

    # what rollback() uses of docker-py's lower level, as docker-py names it
    def _url(self, path: str, *args: str) -> str:
        return path.format(*args)

    def _post_json(self, url: str, **kwargs: Any) -> requests.Response:
        if self.update_errors:
            raise self.update_errors.pop(0)
        self.posts.append({"url": url, **kwargs})
        return requests.Response()

    def _raise_for_status(self, response: requests.Response) -> None:
        pass


def action_for(service: dict[str, Any]) -> Any:
    from cdhelper.backends.docker_engine import from_docker

    [live] = from_docker([service], "x").services
    return make_action(live.id, tag="v1", target=NEW, live=live)


def test_redeploy_writes_the_digest_into_the_whole_spec() -> None:
    client = FakeClient(copy.deepcopy(SERVICE))
    engine = DockerEngine("unix:///x.sock", client=client)
    message = engine.redeploy(action_for(SERVICE))
    assert message == "update to sha256:222222222222 started"
    [update] = client.updates
    assert update["version"] == SERVICE["Version"]["Index"]
    assert update["task_template"]["ContainerSpec"]["Image"] == f"127.0.0.1:5000/app:v1@{NEW}"
    assert update["name"] == "web" and update["mode"] == SERVICE["Spec"]["Mode"]
    assert engine.target.cluster == "cluster-1"


def test_out_of_sequence_with_the_same_spec_is_retried() -> None:
    client = FakeClient(
        copy.deepcopy(SERVICE), update_errors=[out_of_sequence()], bump_on_inspect=True
    )
    engine = DockerEngine("unix:///x.sock", client=client)
    engine.redeploy(action_for(SERVICE))
    assert [u["version"] for u in client.updates] == [SERVICE["Version"]["Index"] + 2]


def test_out_of_sequence_after_a_real_change_fails_as_stale() -> None:
    client = FakeClient(copy.deepcopy(SERVICE), update_errors=[out_of_sequence()])
    engine = DockerEngine("unix:///x.sock", client=client)
    action = action_for(SERVICE)

    original = client.update_service

    def change_then_fail(sid: str, version: int, **spec: Any) -> None:
        client.service["Spec"]["Labels"] = {"changed": "yes"}
        original(sid, version, **spec)

    client.update_service = change_then_fail  # type: ignore[method-assign]
    with pytest.raises(ApiError, match=r"changed since the plan \(stale\): not updated"):
        engine.redeploy(action)
    assert client.updates == []


def test_version_that_never_settles_gives_up() -> None:
    client = FakeClient(copy.deepcopy(SERVICE), update_errors=[out_of_sequence()] * 9)
    engine = DockerEngine("unix:///x.sock", client=client)
    with pytest.raises(ApiError, match="the version kept moving"):
        engine.redeploy(action_for(SERVICE))


def test_other_update_errors_are_named() -> None:
    response = requests.Response()
    response.status_code = 400
    error = docker.errors.APIError("400", response, explanation="invalid spec")
    engine = DockerEngine(
        "unix:///x.sock", client=FakeClient(copy.deepcopy(SERVICE), update_errors=[error])
    )
    with pytest.raises(ApiError, match="update of web .* failed: invalid spec"):
        engine.redeploy(action_for(SERVICE))


def test_no_target_digest_is_refused() -> None:
    engine = DockerEngine("unix:///x.sock", client=FakeClient(copy.deepcopy(SERVICE)))
    with pytest.raises(ApiError, match="no target digest"):
        engine.redeploy(make_action("x", target=None))


def test_observe_reads_the_update_status_and_every_task() -> None:
    service = copy.deepcopy(SERVICE)
    service["UpdateStatus"] = {"State": "paused", "Message": "update paused", "StartedAt": "t0"}
    task = {
        "ID": "t1",
        "DesiredState": "shutdown",
        "Spec": {"ContainerSpec": {"Image": f"127.0.0.1:5000/app:v1@{NEW}"}},
        "Status": {"State": "failed", "Err": "task: non-zero exit (3)"},
    }
    engine = DockerEngine("unix:///x.sock", client=FakeClient(service, task_list=[task, {}]))
    seen = engine.observe(SERVICE["ID"])
    assert seen == Observation(
        digest=SERVICE["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].partition("@")[2],
        update_state="paused",
        update_message="update paused",
        update_started="t0",
        tasks=(
            Task("t1", "failed", "shutdown", NEW, "task: non-zero exit (3)"),
            Task("", "", "", None, None),
        ),
    )


def test_observe_a_service_that_is_gone() -> None:
    client = FakeClient(copy.deepcopy(SERVICE))

    def gone(_: str) -> None:
        response = requests.Response()
        response.status_code = 404
        raise docker.errors.NotFound("404", response, explanation="no such service")

    client.inspect_service = gone  # type: ignore[assignment,method-assign]
    assert DockerEngine("unix:///x.sock", client=client).observe("x") is None


def with_previous() -> dict[str, Any]:
    service: dict[str, Any] = copy.deepcopy(SERVICE)
    service["PreviousSpec"] = copy.deepcopy(SERVICE["Spec"])
    service["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"] = (
        f"127.0.0.1:5000/app:v1@{NEW}"
    )
    return service


def test_rollback_asks_swarm_for_the_previous_spec() -> None:
    client = FakeClient(with_previous(), update_errors=[out_of_sequence()])
    engine = DockerEngine("unix:///x.sock", client=client)
    assert engine.rollback(action_for(SERVICE)) == "rollback to sha256:222222222222 started"
    [post] = client.posts  # the first try was out of sequence: re-inspected, sent again
    assert post["url"] == f"/services/{SERVICE['ID']}/update"
    assert post["params"] == {"version": SERVICE["Version"]["Index"], "rollback": "previous"}
    assert post["data"] == SERVICE["Spec"]  # as docker service rollback sends it


def test_rollback_without_a_previous_spec_is_refused() -> None:
    engine = DockerEngine("unix:///x.sock", client=FakeClient(copy.deepcopy(SERVICE)))
    with pytest.raises(ApiError, match="Swarm holds no previous spec to roll back to"):
        engine.rollback(action_for(SERVICE))


def test_rollback_errors_are_named() -> None:
    response = requests.Response()
    response.status_code = 400
    error = docker.errors.APIError("400", response, explanation="does not have a previous spec")
    client = FakeClient(with_previous(), update_errors=[error])
    with pytest.raises(ApiError, match="rollback of web .* failed: does not have a previous spec"):
        DockerEngine("unix:///x.sock", client=client).rollback(action_for(SERVICE))
    client = FakeClient(with_previous(), update_errors=[requests.ConnectionError("refused")])
    with pytest.raises(ApiError, match="rollback of web .*: refused"):
        DockerEngine("unix:///x.sock", client=client).rollback(action_for(SERVICE))
    client = FakeClient(with_previous(), update_errors=[out_of_sequence()] * 9)
    with pytest.raises(ApiError, match="the version kept moving .*: not rolled back"):
        DockerEngine("unix:///x.sock", client=client).rollback(action_for(SERVICE))


def test_not_a_swarm_manager() -> None:
    client = FakeClient(copy.deepcopy(SERVICE))
    client.inspect_swarm = lambda: {}  # type: ignore[method-assign]
    with pytest.raises(ApiError, match="not a Swarm manager"):
        _ = DockerEngine("unix:///x.sock", client=client).target


# docker-py's unix socket adapter leaks the socket of a refused connection: collect it here.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_unreachable_engine_is_a_clear_error(tmp_path: Any) -> None:
    client = docker.APIClient(base_url=f"unix://{tmp_path}/none.sock", version="1.41")
    engine = DockerEngine(f"unix://{tmp_path}/none.sock", client=client)
    with pytest.raises(ApiError, match="cannot reach the engine: connection refused"):
        engine.inventory()
    client.close()
    with pytest.raises(ApiError, match="cannot connect: connection refused"):
        connect(f"unix://{tmp_path}/none.sock")
    with pytest.raises(ApiError, match="cannot connect: connection refused"):
        DockerEngine(f"unix://{tmp_path}/none.sock").inventory()
    gc.collect()


@pytest.mark.parametrize("url", ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2376"])
def test_check_host(url: str) -> None:
    assert check_host(url) == url
    with pytest.raises(ConfigError, match="invalid Docker host"):
        check_host("/var/run/docker.sock")


def test_fingerprint_is_of_the_spec() -> None:
    assert action_for(SERVICE).fingerprint == fingerprint(SERVICE["Spec"])


def test_every_engine_call_is_bounded_by_the_deadline() -> None:
    client = FakeClient(copy.deepcopy(SERVICE))
    client.timeout = 60  # type: ignore[attr-defined]
    engine = DockerEngine("unix:///x.sock", client=client)
    with deadlines.limit(5):
        engine.inventory()
        assert 0 < client.timeout <= 5  # type: ignore[attr-defined]
    with deadlines.limit(1) as limit:
        assert limit is not None
        object.__setattr__(limit, "at", limit.at - 2)  # as if 2 s had passed
        with pytest.raises(DeadlineError, match=r"Docker Engine at unix:///x.sock: services"):
            engine.inventory()
        with pytest.raises(DeadlineError):
            engine.redeploy(action_for(SERVICE))
    assert client.updates == []


@pytest.mark.parametrize(
    ("error", "unknown"),
    [(requests.ReadTimeout("read timed out"), True), (requests.ConnectTimeout("no"), False)],
)
def test_an_update_that_may_have_reached_the_engine_is_unknown(
    error: Exception, unknown: bool
) -> None:
    client = FakeClient(copy.deepcopy(SERVICE), update_errors=[error])
    engine = DockerEngine("unix:///x.sock", client=client)
    with pytest.raises(ApiError) as info:
        engine.redeploy(action_for(SERVICE))
    assert isinstance(info.value, OutcomeUnknownError) is unknown


def test_service_rereads_one_service() -> None:
    engine = DockerEngine("unix:///x.sock", client=FakeClient(copy.deepcopy(SERVICE)))
    found = engine.service(SERVICE["ID"])
    assert found is not None and found.id == SERVICE["ID"]


def test_a_malformed_docker_config_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"auths": {"r.io": {"auth": "!!!"}}}')
    environ = {"DOCKER_CONFIG": str(tmp_path)}
    with pytest.raises(ConfigError, match=f"{tmp_path / 'config.json'}: not a valid Docker config"):
        connect("unix:///nonexistent/docker.sock", environ)


def test_the_engine_sends_the_credentials_cdhelper_read(tmp_path: Path) -> None:
    auth = base64.b64encode(b"me:engine-pw").decode()
    store = CredentialStore({"auths": {"r.io": {"auth": auth}}})
    client = docker_engine._client(store, base_url="unix:///nonexistent.sock", version="1.41")
    try:
        assert client._auth_configs is store.auth_config
        assert client._auth_configs.resolve_authconfig("r.io")["password"] == "engine-pw"
    finally:
        client.close()


def test_a_credential_helper_failing_during_an_update_is_an_error() -> None:
    client = FakeClient(
        copy.deepcopy(SERVICE),
        update_errors=[docker.errors.DockerException("Credentials store error: helper died")],
    )
    engine = DockerEngine("unix:///x.sock", client=client)
    with pytest.raises(ApiError, match="update of .*: Credentials store error: helper died"):
        engine.redeploy(action_for(SERVICE))


def test_docker_py_failing_on_its_own_config_read_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**_: Any) -> None:
        raise ValueError("not enough values to unpack")

    monkeypatch.setattr("docker.APIClient", broken)
    with pytest.raises(ConfigError, match="docker-py cannot read the Docker config: ValueError"):
        docker_engine._client(CredentialStore(), base_url="unix:///x.sock")


def test_nodes_and_placement_for_the_platform_check() -> None:
    from cdhelper.values import Node, Platform

    raw_nodes = [
        {
            "ID": "n1",
            "Spec": {"Role": "manager", "Availability": "active", "Labels": {"zone": "a"}},
            "Description": {
                "Hostname": "m1",
                "Platform": {"Architecture": "x86_64", "OS": "linux"},
                "Engine": {"Labels": {"gpu": "no"}},
            },
        },
        {"ID": "n2", "Spec": {"Availability": "drain"}, "Description": {}},
    ]

    class Nodes(FakeClient):
        def nodes(self) -> list[dict[str, Any]]:
            return raw_nodes

    engine = DockerEngine("unix:///x", Nodes(copy.deepcopy(SERVICE)))
    assert engine.nodes() == (
        Node(
            "n1",
            "m1",
            "manager",
            Platform("linux", "amd64"),
            "active",
            {"zone": "a"},
            {"gpu": "no"},
        ),
        Node("n2", "", "", Platform("", ""), "drain"),
    )
    placed = copy.deepcopy(SERVICE)
    placed["Spec"]["TaskTemplate"]["Placement"] = {
        "Constraints": ["node.role==manager", 7],
        "Platforms": [{"Architecture": "aarch64", "OS": "linux"}, "bad"],
    }
    [service] = docker_engine.from_docker([placed], "x").services
    assert service.constraints == ("node.role==manager",)
    assert service.platforms == (Platform("linux", "arm64"),)
