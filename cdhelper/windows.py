"""Deploy windows: when ``apply`` may change anything. Pure: the time comes in as an argument.

A window is ``DAYS HH:MM-HH:MM [ZONE]``, e.g. ``Mon-Fri 06:00-18:00 Europe/Berlin``: the
days a window *starts* on (``Mon-Fri``, ``Sat,Sun``, ``Fri-Mon``, ``*``), a start and an
exclusive end in that zone's wall-clock time (``24:00`` ends at midnight; an end before the
start runs past midnight into the next day) and an IANA zone (default ``UTC``), read with
the standard library's :mod:`zoneinfo`. Wall-clock times are turned into instants day by
day, so a window keeps its local hours across daylight-saving changes: a time in the hour a
spring change skips is read on the old offset (02:30 is then 03:30 summer time, and a window
wholly inside that hour does not open that night), a time in the hour an autumn change
repeats means its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cdhelper.errors import OutsideWindowError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY = {name.lower(): index for index, name in enumerate(DAYS)}
_CLOCK = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
# How far ahead the next opening is searched: a window opens at least once a week, but a
# window that a DST change empties may skip one of its days.
_HORIZON_DAYS = 15


class WindowError(ValueError):
    """A window that does not parse: the message says what is wrong and what to write."""


@dataclass(frozen=True)
class Window:
    text: str  # as given, for plans and messages
    days: frozenset[int]  # weekdays it starts on, Monday = 0
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, exclusive; 1440 = 24:00
    zone: str

    @classmethod
    def parse(cls, text: str) -> Window:
        parts = text.split()
        if len(parts) not in (2, 3):
            raise WindowError(
                f"invalid deploy window {text!r}: expected DAYS HH:MM-HH:MM [ZONE], "
                "e.g. 'Mon-Fri 06:00-18:00 Europe/Berlin'"
            )
        days = _days(parts[0], text)
        start_text, sep, end_text = parts[1].partition("-")
        if not sep:
            raise WindowError(f"invalid deploy window {text!r}: expected HH:MM-HH:MM")
        start, end = _minutes(start_text, text), _minutes(end_text, text)
        if start == 1440:
            raise WindowError(f"invalid deploy window {text!r}: 24:00 is only an end")
        if start == end or (start == 0 and end == 0):
            raise WindowError(
                f"invalid deploy window {text!r}: it is empty (a whole day is 00:00-24:00)"
            )
        zone = parts[2] if len(parts) == 3 else "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise WindowError(
                f"invalid deploy window {text!r}: unknown time zone {zone!r} "
                "(an IANA name such as Europe/Berlin)"
            ) from None
        return cls(text, days, start, end, zone)

    def spans(self, around: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The window's occurrences (UTC start, exclusive UTC end) from a day before
        ``around`` on, in order of their start."""
        zone = ZoneInfo(self.zone)
        first = around.astimezone(zone).date() - timedelta(days=1)
        for offset in range(_HORIZON_DAYS + 1):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            end_day = day if self.end > self.start else day + timedelta(days=1)
            start = _instant(day, self.start, zone)
            end = _instant(end_day, self.end, zone)
            if start < end:  # a window inside a skipped hour does not open that day
                yield start, end


@dataclass(frozen=True)
class Status:
    open: bool  # True: inside a window now (or no windows at all)
    next_open: datetime | None  # when closed: the next opening (UTC)
    closes: datetime | None = None  # when open inside windows: when the current one closes


def parse_all(texts: Sequence[str]) -> tuple[Window, ...]:
    return tuple(Window.parse(text) for text in texts)


def status(windows: Sequence[Window], now: datetime) -> Status:
    """Whether ``now`` is inside any window, and when the next one opens."""
    if not windows:
        return Status(True, None)
    now = now.astimezone(UTC)
    spans = sorted(span for window in windows for span in window.spans(now))
    current = [end for start, end in spans if start <= now < end]
    if current:
        return Status(True, None, _closing(spans, max(current)))
    upcoming = [start for start, _ in spans if start > now]
    return Status(False, min(upcoming) if upcoming else None)


def status_all(sets: Sequence[Sequence[Window]], now: datetime) -> Status:
    """Open only inside a window of every non-empty set (a plan's and apply's own)."""
    sets = [list(windows) for windows in sets if windows]
    if len(sets) <= 1:
        return status(sets[0] if sets else (), now)
    states = [status(windows, now) for windows in sets]
    if all(state.open for state in states):
        return Status(True, None, min(s.closes for s in states if s.closes is not None))
    now = now.astimezone(UTC)
    starts = sorted(
        {start for windows in sets for w in windows for start, _ in w.spans(now) if start > now}
    )
    for start in starts:
        if all(status(windows, start).open for windows in sets):
            return Status(False, start)
    return Status(False, None)


def _closing(spans: Sequence[tuple[datetime, datetime]], end: datetime) -> datetime:
    """When the open time that ``end`` belongs to ends, overlapping windows joined."""
    for start, later in spans:
        if start <= end < later:
            end = later
    return end


def describe(when: datetime, windows: Sequence[Window]) -> str:
    """``2026-12-01 06:00 Europe/Berlin (05:00Z)``: in the first window's zone, and UTC."""
    zone = windows[0].zone if windows else "UTC"
    local = when.astimezone(ZoneInfo(zone))
    utc = when.astimezone(UTC)
    text = f"{local:%a %Y-%m-%d %H:%M} {zone}"
    return text if zone == "UTC" else f"{text} ({utc:%Y-%m-%d %H:%M}Z)"


def closed_message(windows: Sequence[Window], state: Status, given: Sequence[Window] = ()) -> str:
    """Why it is closed, and when it opens (``given``: apply's own windows, which must
    hold as well as ``windows``, the plan's)."""
    listed = ", ".join(repr(w.text) for w in windows)
    where = f"outside every deploy window ({listed})"
    if windows and given:
        own = ", ".join(repr(w.text) for w in given)
        where = f"outside the deploy windows (the plan's {listed} and apply's {own} must both hold)"
    elif given:
        where = "outside every deploy window (" + ", ".join(repr(w.text) for w in given) + ")"
    if state.next_open is None:
        return f"{where}; none opens in the next two weeks"
    return f"{where}; the next opens {describe(state.next_open, [*windows, *given])}"


def enforce(
    planned: Sequence[str], given: Sequence[Window], now: datetime, *, ignore: bool = False
) -> Status:
    """Before an apply calls anything: raise OutsideWindowError outside the plan's windows
    and ``given`` (apply's own), unless ``ignore``. The status says what held."""
    plan_windows = parse_all(planned)
    state = status_all([plan_windows, given], now)
    if not state.open and not ignore:
        raise OutsideWindowError(
            "refusing to apply: "
            + closed_message(plan_windows, state, given)
            + " (--ignore-windows overrides; nothing was called)",
            state.next_open,
        )
    return state


def _days(text: str, whole: str) -> frozenset[int]:
    if text in ("*", "daily"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, sep, last = part.partition("-")
        try:
            a = _DAY[first.lower()]
            b = _DAY[last.lower()] if sep else a
        except KeyError:
            raise WindowError(
                f"invalid deploy window {whole!r}: unknown days {text!r}: expected e.g. "
                "Mon-Fri, Sat,Sun or * (days are Mon Tue Wed Thu Fri Sat Sun)"
            ) from None
        days.update((a + step) % 7 for step in range((b - a) % 7 + 1))
    return frozenset(days)


def _minutes(text: str, whole: str) -> int:
    match = _CLOCK.fullmatch(text)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise WindowError(f"invalid deploy window {whole!r}: bad time {text!r}: expected HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on ``day`` in ``zone`` (24:00: next midnight)."""
    if minutes == 1440:
        day, minutes = day + timedelta(days=1), 0
    # fold=0: a repeated time is its first occurrence; a skipped one is read on the offset
    # before the change (02:30 on a spring-forward night is 03:30 summer time).
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)
