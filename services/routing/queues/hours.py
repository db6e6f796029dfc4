"""Whether a queue is open at an instant, from its weekly schedule, holidays and time zone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
_WEEKDAYS = range(7)


@dataclass(frozen=True, kw_only=True, slots=True)
class OpeningInterval:
    """Local wall-clock opening from start to end; end 00:00 means midnight at the end of the day.

    An interval that ends on the next day (22:00 to 02:00) must say so with ``overnight=True``;
    an end before the start is otherwise a configuration mistake, not a guess we make.
    """

    start: time
    end: time
    overnight: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("opening times are local wall-clock times and must not carry a tzinfo")
        if self.overnight:
            if self.end != MIDNIGHT and self.end > self.start:
                raise ValueError(
                    f"interval {self.start}-{self.end} is marked overnight but ends the same day"
                )
        elif self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError(
                f"interval {self.start}-{self.end} ends before it starts; "
                "set overnight=True if it crosses midnight"
            )

    @property
    def ends_next_day(self) -> bool:
        """True when the end time falls on the day after the start."""
        return self.overnight or self.end == MIDNIGHT


@dataclass(frozen=True, kw_only=True, slots=True)
class Closure:
    """A partial-day closure on one local date, from start to end (end 00:00 means midnight)."""

    day: date
    start: time
    end: time

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime):
            raise ValueError("a closure day is a date, not a datetime")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("closure times are local wall-clock times and must not carry a tzinfo")
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError(
                f"closure {self.day} {self.start}-{self.end} ends before it starts; "
                "split a closure that crosses midnight into two"
            )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'America/Toronto'"
        ) from error


@dataclass(frozen=True, kw_only=True, slots=True)
class BusinessHours:
    """Weekly opening intervals (0 = Monday … 6 = Sunday) in a time zone, minus closed days."""

    time_zone: str
    weekly: Mapping[int, Sequence[OpeningInterval]]
    holidays: frozenset[date] = frozenset()
    closures: tuple[Closure, ...] = ()

    def __post_init__(self) -> None:
        _zone(self.time_zone)
        weekly: dict[int, tuple[OpeningInterval, ...]] = {}
        for weekday, intervals in self.weekly.items():
            if weekday not in _WEEKDAYS:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            for interval in intervals:
                if not isinstance(interval, OpeningInterval):
                    raise ValueError(f"weekday {weekday} holds {interval!r}, not an interval")
            weekly[weekday] = tuple(intervals)
        for holiday in self.holidays:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise ValueError(f"holiday {holiday!r} must be a date")
        for closure in self.closures:
            if not isinstance(closure, Closure):
                raise ValueError(f"{closure!r} is not a Closure")
        object.__setattr__(self, "weekly", MappingProxyType(weekly))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "closures", tuple(self.closures))

    @classmethod
    def always_open(cls, time_zone: str = "UTC") -> BusinessHours:
        """Hours open around the clock, every day, with no holidays."""
        full_day = (OpeningInterval(start=MIDNIGHT, end=MIDNIGHT),)
        return cls(time_zone=time_zone, weekly=dict.fromkeys(_WEEKDAYS, full_day))

    @property
    def zone(self) -> ZoneInfo:
        """The ZoneInfo of ``time_zone``."""
        return _zone(self.time_zone)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant a local wall time names on a day.

    A repeated wall time (autumn) resolves to its first occurrence, so an interval ending at
    01:30 does not reopen during the repeated hour. A skipped wall time (spring, e.g. 02:30 in
    Toronto) resolves to the jump itself, the first instant whose wall clock reads past it, so
    the queue is open whenever its clock shows an opening time.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if _wall(first, zone) == naive:
        return first
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = int(min(first, other).timestamp()), int(max(first, other).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _opening_spans(hours: BusinessHours, day: date) -> Iterator[tuple[datetime, datetime]]:
    zone = hours.zone
    for interval in hours.weekly.get(day.weekday(), ()):
        end_day = day + _ONE_DAY if interval.ends_next_day else day
        yield _instant(day, interval.start, zone), _instant(end_day, interval.end, zone)


def _closed_spans(hours: BusinessHours, day: date) -> Iterator[tuple[datetime, datetime]]:
    zone = hours.zone
    if day in hours.holidays:
        yield _instant(day, MIDNIGHT, zone), _instant(day + _ONE_DAY, MIDNIGHT, zone)
    for closure in hours.closures:
        if closure.day == day:
            end_day = day + _ONE_DAY if closure.end == MIDNIGHT else day
            yield _instant(day, closure.start, zone), _instant(end_day, closure.end, zone)


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the instant must be timezone-aware")
    return at.astimezone(UTC)


def is_open(hours: BusinessHours, at: datetime) -> bool:
    """True when the schedule is open at the aware instant ``at``; raises ValueError if naive."""
    instant = _require_aware(at)
    local_day = _wall(instant, hours.zone).date()
    opened = any(
        start <= instant < end
        for day in (local_day - _ONE_DAY, local_day)
        for start, end in _opening_spans(hours, day)
    )
    return opened and not any(
        start <= instant < end for start, end in _closed_spans(hours, local_day)
    )


def next_opening(hours: BusinessHours, at: datetime) -> datetime | None:
    """The first instant at or after ``at`` when the schedule is open, in its time zone.

    Returns None when the weekly schedule has no opening at all. Raises ValueError if naive.
    """
    instant = _require_aware(at)
    zone = hours.zone
    if is_open(hours, instant):
        return instant.astimezone(zone)
    if not any(hours.weekly.values()):
        return None
    local_day = _wall(instant, zone).date()
    # Every closed date can spoil at most one occurrence of an open weekday, and a DST jump can
    # empty an interval at most twice a year, so this many weeks always reaches an opening.
    closed_days = {d for d in hours.holidays if d >= local_day}
    closed_days.update(c.day for c in hours.closures if c.day >= local_day)
    horizon = 7 * (len(closed_days) + 3)
    candidates: list[datetime] = []
    for offset in range(-1, horizon):
        day = local_day + offset * _ONE_DAY
        for start, end in _opening_spans(hours, day):
            if end <= instant or start >= end:
                continue
            candidates.append(max(start, instant))
            candidates.extend(
                closed_end
                for closed_day in (day, day + _ONE_DAY)
                for _, closed_end in _closed_spans(hours, closed_day)
                if max(start, instant) < closed_end < end
            )
    for candidate in sorted(candidates):
        if is_open(hours, candidate):
            return candidate.astimezone(zone)
    return None
