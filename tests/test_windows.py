from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdhelper import windows
from cdhelper.errors import OutsideWindowError
from cdhelper.windows import Window, WindowError

BERLIN = "Mon-Fri 06:00-18:00 Europe/Berlin"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "days", "start", "end", "zone"),
    [
        (BERLIN, {0, 1, 2, 3, 4}, 360, 1080, "Europe/Berlin"),
        ("Sat,Sun 00:00-24:00", {5, 6}, 0, 1440, "UTC"),
        ("Fri-Mon 22:00-02:00 America/New_York", {4, 5, 6, 0}, 1320, 120, "America/New_York"),
        ("* 10:00-11:30", set(range(7)), 600, 690, "UTC"),
        ("wed 09:00-10:00", {2}, 540, 600, "UTC"),
    ],
    ids=["weekdays", "weekend-24h", "overnight-wrap", "daily", "lower-case"],
)
def test_parse(text: str, days: set[int], start: int, end: int, zone: str) -> None:
    window = Window.parse(text)
    assert (set(window.days), window.start, window.end, window.zone) == (days, start, end, zone)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mon-Fri", "expected DAYS HH:MM-HH:MM"),
        ("Mon-Fri 06:00", "expected HH:MM-HH:MM"),
        ("Mon-Fry 06:00-18:00", "unknown days 'Mon-Fry'"),
        ("Mon 6:00-18:00", "bad time '6:00'"),
        ("Mon 24:00-18:00", "24:00 is only an end"),
        ("Mon 24:30-18:00", "bad time '24:30'"),
        ("Mon 06:00-06:00", "it is empty"),
        ("Mon 06:00-18:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Mon 06:00-18:00 ../etc", "unknown time zone"),
    ],
)
def test_bad_windows(text: str, message: str) -> None:
    with pytest.raises(WindowError, match=message.replace("(", r"\(")):
        Window.parse(text)


@pytest.mark.parametrize(
    ("now", "open_", "next_open"),
    [
        ("2026-11-30T06:00:00+01:00", True, None),  # a Monday: the start is inside
        ("2026-11-30T05:59:59+01:00", False, "2026-11-30T06:00:00+01:00"),
        ("2026-11-30T18:00:00+01:00", False, "2026-12-01T06:00:00+01:00"),  # end exclusive
        ("2026-12-04T17:59:00+01:00", True, None),
        ("2026-12-04T18:00:00+01:00", False, "2026-12-07T06:00:00+01:00"),  # over the weekend
        # DST: Europe/Berlin goes to summer time on Sunday 2026-03-29: Monday opens at 04:00Z
        ("2026-03-27T18:30:00+01:00", False, "2026-03-30T06:00:00+02:00"),
        ("2026-03-30T04:00:00+00:00", True, None),
        ("2026-03-30T03:59:00+00:00", False, "2026-03-30T04:00:00+00:00"),
        # ... and back on Sunday 2026-10-25: Monday opens at 05:00Z again
        ("2026-10-23T18:00:00+02:00", False, "2026-10-26T05:00:00+00:00"),
    ],
)
def test_status_with_a_fixed_clock(now: str, open_: bool, next_open: str | None) -> None:
    state = windows.status(windows.parse_all([BERLIN]), at(now))
    assert state.open is open_
    assert state.next_open == (at(next_open) if next_open else None)


def test_the_hours_a_dst_change_skips_or_repeats() -> None:
    night = windows.parse_all(["Sun 02:00-03:00 Europe/Berlin"])
    # spring forward: 02:00-03:00 does not exist that night, so it does not open
    state = windows.status(night, at("2026-03-29T00:30:00+00:00"))
    assert state.next_open == at("2026-04-05T02:00:00+02:00")
    # fall back: 02:00 (first, summer time) to 03:00 (winter time) lasts two hours
    assert windows.status(night, at("2026-10-25T00:00:00+00:00")).open
    assert windows.status(night, at("2026-10-25T01:59:00+00:00")).open
    assert not windows.status(night, at("2026-10-25T02:00:00+00:00")).open


def test_24_00_overnight_and_overlaps() -> None:
    whole = windows.parse_all(["Sat 00:00-24:00"])
    assert windows.status(whole, at("2026-12-05T23:59:59+00:00")).open
    assert not windows.status(whole, at("2026-12-06T00:00:00+00:00")).open
    late = windows.parse_all(["Fri 22:00-02:00"])
    assert windows.status(late, at("2026-12-05T01:59:00+00:00")).open  # Saturday morning
    assert not windows.status(late, at("2026-12-05T02:00:00+00:00")).open
    joined = windows.parse_all(["Mon 06:00-12:00", "Mon 11:00-14:00"])
    assert windows.status(joined, at("2026-11-30T07:00:00+00:00")).closes == at(
        "2026-11-30T14:00:00+00:00"
    )


def test_no_windows_is_always_open() -> None:
    assert windows.status((), at("2026-11-30T03:00:00+00:00")).open


def test_windows_of_a_plan_and_of_apply_must_both_hold() -> None:
    plan = windows.parse_all(["Mon-Fri 06:00-18:00"])
    given = windows.parse_all(["* 12:00-13:00"])
    morning = at("2026-11-30T08:00:00+00:00")
    state = windows.status_all([plan, given], morning)
    assert (state.open, state.next_open) == (False, at("2026-11-30T12:00:00+00:00"))
    assert windows.status_all([plan, given], at("2026-11-30T12:30:00+00:00")).open
    saturday = windows.status_all([plan, given], at("2026-12-05T12:30:00+00:00"))
    assert saturday.next_open == at("2026-12-07T12:00:00+00:00")
    assert windows.status_all([(), given], morning).next_open == at("2026-11-30T12:00:00+00:00")


def test_enforce_says_when_the_next_window_opens() -> None:
    with pytest.raises(OutsideWindowError) as refused:
        windows.enforce([BERLIN], (), at("2026-12-05T10:00:00+00:00"))
    assert str(refused.value) == (
        "refusing to apply: outside every deploy window ('Mon-Fri 06:00-18:00 Europe/Berlin'); "
        "the next opens Mon 2026-12-07 06:00 Europe/Berlin (2026-12-07 05:00Z) "
        "(--ignore-windows overrides; nothing was called)"
    )
    assert refused.value.next_open == at("2026-12-07T05:00:00+00:00")
    state = windows.enforce([BERLIN], (), at("2026-12-05T10:00:00+00:00"), ignore=True)
    assert not state.open
