from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import requests_mock

from cdhelper import redact
from cdhelper.backends.base import Observation, Task
from cdhelper.backends.swarmpit import BACKEND, Swarmpit, normalise_url, token_from_env
from cdhelper.errors import ApiError, ConfigError, InputError

from helpers import digest, make_action

BASE = "http://127.0.0.1:8888"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8888",
        "http://127.0.0.1:8888/",
        "http://127.0.0.1:8888/api",
        "http://127.0.0.1:8888/api/",
    ],
)
def test_url_forms(url: str) -> None:
    assert normalise_url(url) == BASE


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x", "invalid Swarmpit URL"),
        ("127.0.0.1:8888", "invalid Swarmpit URL"),
        ("http://u:p@h", "must not carry credentials"),
        ("ftp://u:s3cret@h", "must not carry credentials"),
        ("http://h/?a=1", "no query"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        normalise_url(url)


@pytest.mark.parametrize("value", ["abc", "Bearer abc", "bearer  abc ", " abc\n"])
def test_token_with_or_without_bearer(value: str) -> None:
    assert token_from_env({"CDHELPER_SWARMPIT_TOKEN": value}) == "abc"


def test_token_required() -> None:
    with pytest.raises(ConfigError, match="CDHELPER_SWARMPIT_TOKEN is not set"):
        token_from_env({"CDHELPER_SWARMPIT_TOKEN": "Bearer "})


def test_inventory(requests_mock: requests_mock.Mocker, load_data: Callable[[str], Any]) -> None:
    requests_mock.get(f"{BASE}/api/services", json=load_data("swarmpit-services.json"))
    inventory = Swarmpit(BASE + "/api", "tok").inventory()
    assert inventory.target.kind == "swarmpit"
    assert inventory.target.url == BASE
    assert len(inventory.services) == 5
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer tok"


def test_inventory_401_says_how_to_fix(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services", status_code=401, json={"error": "Invalid token"})
    with pytest.raises(ApiError) as info:
        Swarmpit(BASE, "s3cret-token").inventory()
    message = str(info.value)
    assert "answered HTTP 401" in message
    assert "set CDHELPER_SWARMPIT_TOKEN to a valid API token" in message
    assert "s3cret-token" not in message


def test_inventory_5xx_retried_then_fails(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.get(f"{BASE}/api/services", status_code=502)
    with pytest.raises(
        ApiError, match="Swarmpit at http://127.0.0.1:8888: GET .* answered HTTP 502"
    ):
        Swarmpit(BASE, "t").inventory()
    assert requests_mock.call_count == 4


def test_inventory_timeout(requests_mock: requests_mock.Mocker, no_sleep: list[float]) -> None:
    requests_mock.get(f"{BASE}/api/services", exc=requests.ReadTimeout)
    with pytest.raises(ApiError, match="no answer from .* within"):
        Swarmpit(BASE, "t").inventory()


def test_inventory_not_json(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services", text="<html>login</html>")
    with pytest.raises(InputError, match="did not answer JSON: is this a Swarmpit URL"):
        Swarmpit(BASE, "t").inventory()


def test_inventory_wrong_shape(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services", json=[{"id": "x"}])
    with pytest.raises(InputError, match=r"\$\[0\]: 'version' is a required property"):
        Swarmpit(BASE, "t").inventory()


def test_redeploy_posts_tag_once(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.post(f"{BASE}/api/services/a%2Fb/redeploy", status_code=202)
    message = Swarmpit(BASE, "t").redeploy(make_action("a/b", tag="v1.2", target=digest("2")))
    assert message == "redeploy of tag v1.2 accepted (HTTP 202)"
    assert requests_mock.request_history[-1].qs == {"tag": ["v1.2"]}
    requests_mock.post(f"{BASE}/api/services/a%2Fb/redeploy", status_code=500)
    with pytest.raises(ApiError, match="HTTP 500"):
        Swarmpit(BASE, "t").redeploy(make_action("a/b"))
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("value", ["tök€n-value", "two words", "tab\tinside", "ab\x00cd"])
def test_tokens_that_cannot_be_a_header_are_config_errors(value: str) -> None:
    with pytest.raises(ConfigError, match="CDHELPER_SWARMPIT_TOKEN is not a Swarmpit API token"):
        token_from_env({"CDHELPER_SWARMPIT_TOKEN": value})


def test_the_token_is_known_as_a_secret_once_read() -> None:
    token_from_env({"CDHELPER_SWARMPIT_TOKEN": "Bearer jwt-abc.def"})
    assert redact.redact("echo: Bearer jwt-abc.def") == "echo: Bearer ***"


@pytest.mark.parametrize(
    ("url", "environ", "allowed"),
    [
        ("https://swarmpit.example.com", {}, True),
        ("http://127.0.0.1:8888", {}, True),
        ("http://localhost:8888/api", {}, True),
        ("http://[::1]:8888", {}, True),
        ("http://swarmpit.example.com:8080", {}, False),
        ("http://10.0.0.5:8080", {"CDHELPER_ALLOW_HTTP": "0"}, False),
        ("http://10.0.0.5:8080", {"CDHELPER_ALLOW_HTTP": "1"}, True),
        ("http://10.0.0.5:8080", {"CDHELPER_ALLOW_HTTP": "true"}, True),
    ],
)
def test_plain_http_to_a_remote_swarmpit_needs_an_opt_in(
    url: str, environ: dict[str, str], allowed: bool
) -> None:
    connect = BACKEND.connect
    env = {"CDHELPER_SWARMPIT_TOKEN": "tok-123", **environ}
    if allowed:
        assert isinstance(connect(url, env), Swarmpit)
    else:
        with pytest.raises(ConfigError) as raised:
            connect(url, env)
        assert str(raised.value) == (
            f"refusing to send the Swarmpit API token over plain http to {normalise_url(url)}: "
            "use https, or give --allow-http (or set CDHELPER_ALLOW_HTTP=1) "
            "if that network path is trusted"
        )


def test_after_a_401_the_token_is_not_sent_again(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.post(f"{BASE}/api/services/a/redeploy", status_code=401, text="token expired")
    requests_mock.post(f"{BASE}/api/services/b/redeploy", status_code=202)
    swarmpit = Swarmpit(BASE, "tok-123")
    with pytest.raises(ApiError) as first:
        swarmpit.redeploy(make_action("a"))
    assert "answered HTTP 401" in first.value.message and first.value.status == 401
    with pytest.raises(ApiError) as second:
        swarmpit.redeploy(make_action("b"))
    assert second.value.message == (
        f"not tried, the token was refused before: {first.value.message}"
    )
    with pytest.raises(ApiError, match="not tried"):
        swarmpit.inventory()
    assert requests_mock.call_count == 1  # nothing more was sent, with the token or without


SERVICE = {
    "id": "s1",
    "repository": {"image": "r.io/app:v1", "imageDigest": digest("2")},
    "status": {"update": "updating", "message": "update in progress"},
}
TASKS = [
    {
        "id": "t1",
        "state": "failed",
        "desiredState": "shutdown",
        "repository": {"image": "r.io/app:v1", "imageDigest": digest("2")},
        "status": {"error": "task: non-zero exit (3)"},
    },
    {"id": "t2", "state": "running", "desiredState": "running", "repository": None},
]


def test_observe_reads_the_service_and_its_tasks(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services/s1", json=SERVICE)
    requests_mock.get(f"{BASE}/api/services/s1/tasks", json=[*TASKS, "junk"])
    seen = Swarmpit(BASE, "tok").observe("s1")
    assert seen == Observation(
        digest=digest("2"),
        update_state="updating",
        update_message="update in progress",
        tasks=(
            Task("t1", "failed", "shutdown", digest("2"), "task: non-zero exit (3)"),
            Task("t2", "running", "running", None, None),
        ),
    )


def test_observe_a_service_that_is_gone(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services/s1", status_code=404, json={"error": "not found"})
    assert Swarmpit(BASE, "tok").observe("s1") is None


def test_observe_refuses_answers_of_another_shape(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services/s1", json=SERVICE)
    requests_mock.get(f"{BASE}/api/services/s1/tasks", json={"tasks": []})
    with pytest.raises(InputError, match="not a Swarmpit service and its tasks"):
        Swarmpit(BASE, "tok").observe("s1")


def test_rollback_posts_to_swarmpits_rollback_route(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{BASE}/api/services/s1", json=SERVICE)
    requests_mock.post(f"{BASE}/api/services/s1/rollback", status_code=202)
    message = Swarmpit(BASE, "tok").rollback(make_action("s1"))
    assert message == "rollback accepted (HTTP 202)"
    assert requests_mock.request_history[-1].headers["Authorization"] == "Bearer tok"
    requests_mock.post(f"{BASE}/api/services/s1/rollback", status_code=500, text="no spec")
    with pytest.raises(ApiError, match="HTTP 500"):
        Swarmpit(BASE, "tok").rollback(make_action("s1"))


def test_swarmpit_can_wait() -> None:
    assert BACKEND.can_wait


def test_rollback_refused_when_swarmpit_says_there_is_no_previous_spec(
    requests_mock: requests_mock.Mocker,
) -> None:
    requests_mock.get(
        f"{BASE}/api/services/s1", json={**SERVICE, "deployment": {"rollbackAllowed": False}}
    )
    with pytest.raises(ApiError, match=r"no previous spec .*rollbackAllowed is false"):
        Swarmpit(BASE, "tok").rollback(make_action("s1"))
    assert not any(r.method == "POST" for r in requests_mock.request_history)
