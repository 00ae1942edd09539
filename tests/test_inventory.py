from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cdhelper.backends import load_inventory, parse_inventory
from cdhelper.errors import InputError
from cdhelper.inventory import Target

D = "sha256:e2ef9cf1ec5ccb87e5102380b17449a32bdb2c596eb3e7c683418c67baf982bd"


def test_docker_engine_services(load_data: Callable[[str], Any]) -> None:
    inventory = parse_inventory(load_data("docker-engine-services.json"), "x")
    assert inventory.target == Target("docker")
    services = {s.name: s for s in inventory.services}
    assert services["shop_api"].stack == "shop"
    assert services["shop_api"].digest == D
    assert services["shop_api"].image == "127.0.0.1:5000/app:v1"
    assert services["shop_api"].version == 18
    assert services["pinned"].digest is None
    assert services["optout"].opted_out
    assert not services["web"].opted_out
    assert services["web"].fingerprint.startswith("sha256:")


def test_swarmpit_services(load_data: Callable[[str], Any]) -> None:
    inventory = parse_inventory(load_data("swarmpit-services.json"), "x", url="http://sp")
    assert inventory.target == Target("swarmpit", "http://sp")
    services = {s.name: s for s in inventory.services}
    prod = services["prod_cd-helper"]
    assert (prod.ref.tagged, prod.digest, prod.version) == (
        "docker.io/dopplerdock/doppler-cd-helper:v1",
        "sha256:" + "2" * 64,
        990,
    )
    assert services["int_hello-nodigest"].digest is None
    assert services["int_cd-helper"].stack == "int"


def test_swarmpit_reads_image_not_name_and_tag(load_data: Callable[[str], Any]) -> None:
    raw = load_data("swarmpit-services.json")[:1]
    # Swarmpit splits at the last ':', which is wrong for a host:port without a tag.
    raw[0]["repository"] = {
        "name": "registry",
        "tag": "5000/app",
        "image": "registry:5000/app",
        "imageDigest": None,
    }
    [service] = parse_inventory(raw, "x").services
    assert service.ref.tagged == "registry:5000/app:latest"


def test_swarmpit_labels_become_a_mapping(load_data: Callable[[str], Any]) -> None:
    raw = load_data("swarmpit-services.json")[:1]
    raw[0]["labels"] = [
        {"name": "cdhelper.redeploy", "value": "False"},
        {"name": "x", "value": None},
    ]
    [service] = parse_inventory(raw, "x").services
    assert service.labels == {"cdhelper.redeploy": "False", "x": ""}
    assert service.opted_out


def test_fingerprint_ignores_swarm_bookkeeping(load_data: Callable[[str], Any]) -> None:
    raw = load_data("swarmpit-services.json")[:1]
    moved = copy.deepcopy(raw)
    moved[0].update(
        version=5000,
        updatedAt="2030-01-01T00:00:00Z",
        state="updating",
        status={"update": "updating", "message": "x"},
    )
    changed = copy.deepcopy(raw)
    changed[0]["replicas"] = 7
    [a], [b], [c] = (parse_inventory(r, "x").services for r in (raw, moved, changed))
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint

    docker = load_data("docker-engine-services.json")[:1]
    bumped = copy.deepcopy(docker)
    bumped[0]["Version"]["Index"] += 3
    bumped[0]["UpdateStatus"] = {"State": "completed", "Message": "done"}
    [d], [e] = (parse_inventory(r, "x").services for r in (docker, bumped))
    assert d.fingerprint == e.fingerprint
    assert e.update_state == "completed"


def test_plugin_services_are_left_out(load_data: Callable[[str], Any]) -> None:
    raw = load_data("docker-engine-services.json")[:1]
    del raw[0]["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert parse_inventory(raw, "x").services == ()


def test_snapshot_round_trip(tmp_path: Path, load_data: Callable[[str], Any]) -> None:
    original = parse_inventory(load_data("swarmpit-services.json"), "x", url="http://sp")
    snapshot = original.to_snapshot(datetime(2026, 1, 1, tzinfo=UTC))
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot))
    again = load_inventory(str(path))
    assert again.target == original.target
    assert sorted(again.services, key=lambda s: s.id) == sorted(
        original.services, key=lambda s: s.id
    )


def test_snapshot_from_the_future_is_refused(load_data: Callable[[str], Any]) -> None:
    snapshot = parse_inventory([], "x").to_snapshot(datetime(2026, 1, 1, tzinfo=UTC))
    snapshot["format_version"] = 9
    with pytest.raises(InputError, match=r"\$.format_version: inventory format 9 is newer"):
        parse_inventory(snapshot, "snap.json")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"x": 1}, "snap.json: not a valid cdhelper inventory snapshot"),
        (42, "snap.json: $: unknown inventory"),
        ([{"serviceName": "a"}], "$[0]: 'id' is a required property"),
        (
            [{"ID": "a", "Version": {"Index": "7"}, "Spec": {"Name": "a", "TaskTemplate": {}}}],
            "$[0].Version.Index: expected integer, got string",
        ),
    ],
)
def test_bad_inventories(data: Any, expected: str) -> None:
    if isinstance(data, dict):
        data = {"format": "cdhelper-inventory", **data}
    with pytest.raises(InputError) as info:
        parse_inventory(data, "snap.json")
    assert expected in str(info.value)


def test_unparsable_image_names_the_path(load_data: Callable[[str], Any]) -> None:
    raw = load_data("swarmpit-services.json")[:2]
    raw[1]["repository"]["image"] = "Bad Image"
    with pytest.raises(InputError, match=r"x: \$\[1\].repository.image: invalid"):
        parse_inventory(raw, "x")


def test_a_fingerprint_is_the_sha256_of_canonical_json() -> None:
    """Keys sorted, no whitespace, UTF-8; orjson writes it, json what orjson cannot."""
    import hashlib
    import json

    from cdhelper.inventory import fingerprint

    def by_json(data: object) -> str:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    spec = {"b": [1, 0.0, 2.5, None, True], "a": {"é": "x\n\u2028\x7f", "cpu": 0.25}}
    assert fingerprint(spec) == by_json(spec)
    huge = {"replicas": 10**25, "z": "y"}  # past 64 bits: json writes it
    assert fingerprint(huge) == by_json(huge)
