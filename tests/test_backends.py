from __future__ import annotations

import pytest

from cdhelper.backends import apply_backend, inventory_file, live_source, source
from cdhelper.backends.docker_engine import DockerEngine
from cdhelper.backends.swarmpit import Swarmpit
from cdhelper.errors import ConfigError, UsageError
from cdhelper.inventory import Target

from helpers import DATA, make_action

TOKEN = {"CDHELPER_SWARMPIT_TOKEN": "t"}


def given(swarmpit: str | None = None, docker: str | None = None) -> dict[str, str | None]:
    return {"swarmpit": swarmpit, "docker": docker}


def test_options_win_over_the_environment() -> None:
    env = {**TOKEN, "DOCKER_HOST": "unix:///x.sock", "CDHELPER_SWARMPIT_URL": "https://sp"}
    assert isinstance(live_source(given("https://other", None), env), Swarmpit)
    assert isinstance(live_source(given(None, "unix:///y.sock"), env), DockerEngine)


def test_one_default_from_the_environment() -> None:
    assert isinstance(
        live_source(given(None, None), {**TOKEN, "CDHELPER_SWARMPIT_URL": "https://sp"}), Swarmpit
    )
    assert isinstance(
        live_source(given(None, None), {"DOCKER_HOST": "unix:///x.sock"}), DockerEngine
    )
    assert live_source(given(None, None), {}) is None


def test_both_defaults_must_be_chosen_between() -> None:
    with pytest.raises(UsageError, match="both CDHELPER_SWARMPIT_URL and DOCKER_HOST are set"):
        live_source(
            given(), {**TOKEN, "DOCKER_HOST": "unix:///x", "CDHELPER_SWARMPIT_URL": "https://s"}
        )
    with pytest.raises(UsageError, match="either --swarmpit-url or --docker-host"):
        live_source(given("https://s", "unix:///x"), TOKEN)
    with pytest.raises(UsageError, match="either --inventory or a live target"):
        source("inv.json", given(None, "unix:///x"), TOKEN)


def test_apply_backend_kinds_must_match() -> None:
    with pytest.raises(ConfigError, match="made for a Docker Engine, not Swarmpit"):
        apply_backend(Target("docker", "unix:///x"), given("https://sp", None), TOKEN)
    with pytest.raises(ConfigError, match="made for Swarmpit, not a Docker Engine"):
        apply_backend(Target("swarmpit", "https://sp"), given(None, "unix:///x"), TOKEN)
    with pytest.raises(ConfigError, match="names no Docker Engine: give --docker-host"):
        apply_backend(Target("docker"), given(None, None), TOKEN)
    backend = apply_backend(
        Target("swarmpit", "https://sp:8080"), given("https://sp:8080/api"), TOKEN
    )
    assert isinstance(backend, Swarmpit)


def test_an_inventory_file_stands_in_for_a_target_only_to_be_read() -> None:
    backend = inventory_file(str(DATA / "swarmpit-services.json"), Target("swarmpit"))
    assert backend.target == Target("swarmpit")
    [first, *_] = backend.inventory().services
    assert backend.service(first.id) == first
    assert backend.service("no-such-id") is None
    action = make_action(first.id)
    with pytest.raises(ConfigError, match=r"an inventory file cannot be redeployed"):
        backend.redeploy(action)
    with pytest.raises(ConfigError, match="the plan is for a Docker Engine, but the inventory"):
        inventory_file(str(DATA / "swarmpit-services.json"), Target("docker"))
