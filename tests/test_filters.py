from __future__ import annotations

import pytest

from cdhelper.filters import in_scope, parse_filters

from helpers import service

WEB = service("shop_web", "r.io/web:v1", labels={"tier": "front", "team": "shop"}, stack="shop")
DB = service("db", "r.io/db:v1", labels={"tier": "back"})


@pytest.mark.parametrize(
    ("texts", "web", "db"),
    [
        ([], True, True),
        (["stack=shop"], True, False),
        (["name=shop_*"], True, False),
        (["name=*"], True, True),
        (["label=tier=back"], False, True),
        (["label=team"], True, False),
        (["label=tier=front", "label=tier=back"], True, True),  # same kind: any
        (["label=tier=front", "stack=other"], False, False),  # different kinds: all
    ],
)
def test_scope(texts: list[str], web: bool, db: bool) -> None:
    filters = parse_filters(texts)
    assert (in_scope(WEB, filters), in_scope(DB, filters)) == (web, db)


@pytest.mark.parametrize("text", ["stack", "color=red", "label==x", "name="])
def test_bad_filters(text: str) -> None:
    with pytest.raises(ValueError, match="expected label=KEY"):
        parse_filters([text])
