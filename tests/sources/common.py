"""What the per-source tests share: reading their fixtures, and parsing a payload."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdhelper import sources
from cdhelper.errors import InputError
from cdhelper.sources.base import Context, Parsed, Source

from helpers import DATA

FIXTURES = DATA / "sources"  # one folder of payloads per source, and its inventories/


def loader(folder: Path) -> Callable[[str], Any]:
    """``load(name)``: the JSON of ``folder/name``, read afresh so a test may change it."""

    def load(name: str) -> Any:
        return json.loads((folder / name).read_text())

    return load


def parse(payload: Any, where: str = "x", registry_host: str | None = None) -> Parsed:
    """A payload (or a JSON array of them) as ``validate`` reads it, detecting the source."""
    return sources.parse_document(payload, Context(where, registry_host=registry_host))


def schema_error(payload: Any, source: Source, where: str) -> InputError:
    """What validating ``payload`` as ``source``'s (as ``--source`` does) at ``where`` raises."""
    with pytest.raises(InputError) as caught:
        sources.parse_payload(payload, Context(where), source)
    return caught.value


def input_error(payload: Any, where: str = "x", registry_host: str | None = None) -> InputError:
    """What parsing ``payload`` raises, as :func:`parse` does it."""
    with pytest.raises(InputError) as caught:
        parse(payload, where, registry_host)
    return caught.value
