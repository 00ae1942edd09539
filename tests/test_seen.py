from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cdhelper import seen
from cdhelper.errors import InputError

from helpers import digest

T1 = datetime(2026, 11, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 2, tzinfo=UTC)


def test_a_digest_keeps_the_time_it_was_first_seen(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    assert seen.record(state, [digest("1")], T1) == {digest("1"): T1}
    assert seen.record(state, [digest("1"), digest("2")], T2) == {digest("1"): T1, digest("2"): T2}
    assert (tmp_path / "state" / seen.FILE).exists()


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / seen.FILE).write_text('{"digests": []}')
    with pytest.raises(InputError, match="not a cdhelper first-seen file"):
        seen.record(str(tmp_path), [digest("1")], T1)


def test_digests_gone_for_long_are_forgotten(tmp_path: Path) -> None:
    state = str(tmp_path)
    seen.record(state, [digest("1"), digest("2")], T1)
    later = T1 + seen.FORGET_AFTER + timedelta(days=1)
    assert seen.record(state, [digest("2")], later) == {digest("2"): T1}
    assert seen.record(state, [digest("1")], later) == {digest("1"): later}
