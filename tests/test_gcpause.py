"""The collector is paused exactly while loads are under way, and left as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from cdhelper import documents, gcpause, plan, sources

from helpers import DATA


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_a_load_pauses_the_collector_and_resumes_it() -> None:
    seen: list[bool] = []
    parse = documents.parse_json

    def parse_json(text: str, where: str) -> Any:
        seen.append(gc.isenabled())
        return parse(text, where)

    with mock.patch.object(documents, "parse_json", parse_json):
        sources.load_events([str(DATA / "dockerhub-push-int.json")] * 2)
    assert seen == [False, False]
    assert gc.isenabled()


def test_a_failed_load_resumes_it_too(tmp_path: Path) -> None:
    bad = tmp_path / "plan.yaml"
    bad.write_text("a: 1\n")
    with pytest.raises(Exception, match="not a cdhelper plan"):
        plan.load(str(bad))
    assert gc.isenabled()


def test_overlapping_loads_share_one_pause() -> None:
    first, second = gcpause.paused(), gcpause.paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # another thread's load ends first
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with gcpause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
