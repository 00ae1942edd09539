"""The checks every webhook source passes alike, one table-driven test each.

The tables below say what each source's payloads must be recognised as; what is particular
to one source stays in its own ``test_<source>.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdhelper import sources
from cdhelper.sources import acr, artifactory, ecr, gar, ghcr, harbor, quay
from cdhelper.sources.base import Context, Source
from sources.common import FIXTURES

from helpers import DATA

# The sources these tests cover, by the name each fixture folder has.
SOURCES: dict[str, Source] = {
    "acr": acr.SOURCE,
    "artifactory": artifactory.SOURCE,
    "ecr": ecr.SOURCE,
    "gar": gar.SOURCE,
    "ghcr": ghcr.SOURCE,
    "harbor": harbor.SOURCE,
    "quay": quay.SOURCE,
}

# --- detection ----------------------------------------------------------------------------

# Every JSON file of the test data: each source's payloads, the Docker Hub and registry
# captures, and the service inventories (which no source may take for a payload).
DATA_FILES = sorted(DATA.rglob("*.json"))


def owner(path: Path) -> str | None:
    """The source whose fixture ``path`` is: its folder under data/sources (not inventories)."""
    if FIXTURES not in path.parents or path.parent.name == "inventories":
        return None
    return path.parent.name


def payloads(path: Path) -> list[Any]:
    """The items of a data file: its payloads, or the services of an inventory."""
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_each_payload_is_claimed_by_its_own_source_only(path: Path) -> None:
    """Own fixtures are detected as their source; nobody else's payload (nor a service) is."""
    name = owner(path)
    for payload in payloads(path):
        assert isinstance(payload, dict)
        claimed = [n for n, source in SOURCES.items() if source.detect(payload)]
        assert claimed == ([name] if name else [])
        if name:
            assert sources.detect(payload, Context(path.name)) is SOURCES[name]


# The keys that alone make a payload one source's, without any value of a real delivery.
DISTINCTIVE: dict[str, dict[str, Any]] = {
    "ecr": {
        "source": "aws.ecr",
        "detail-type": "ECR Image Action",
        "detail": {"action-type": "PUSH"},
    },
    "gar": {
        "message": {"data": "e30=", "messageId": "1"},
        "subscription": "projects/p/subscriptions/s",
    },
    "artifactory": {
        "domain": "docker",
        "event_type": "pushed",
        "data": {"repo_key": "docker-local"},
    },
}


@pytest.mark.parametrize(("name", "payload"), DISTINCTIVE.items(), ids=list(DISTINCTIVE))
def test_a_sources_distinctive_keys_are_claimed_by_it_only(
    name: str, payload: dict[str, Any]
) -> None:
    assert [n for n, source in SOURCES.items() if source.detect(payload)] == [name]
