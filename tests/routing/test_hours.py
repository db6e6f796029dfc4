"""Business hours: weekly intervals, overnight spans, holidays, closures and DST in Toronto."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.routing.queues.hours import (
    BusinessHours,
    Closure,
    OpeningInterval,
    is_open,
    next_opening,
)

TORONTO = ZoneInfo("America/Toronto")
MONDAY, FRIDAY, SATURDAY, SUNDAY = 0, 4, 5, 6


def interval(start: time, end: time, *, overnight: bool = False) -> OpeningInterval:
    return OpeningInterval(start=start, end=end, overnight=overnight)


def every_day(
    *intervals: OpeningInterval,
    holidays: frozenset[date] = frozenset(),
    closures: tuple[Closure, ...] = (),
) -> BusinessHours:
    return BusinessHours(
        time_zone="America/Toronto",
        weekly=dict.fromkeys(range(7), intervals),
        holidays=holidays,
        closures=closures,
    )


def toronto(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=TORONTO, fold=fold)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


DAYTIME = every_day(interval(time(8), time(23)))


def test_open_from_start_inclusive_to_end_exclusive() -> None:
    assert not is_open(DAYTIME, toronto(2024, 6, 3, 7, 59))
    assert is_open(DAYTIME, toronto(2024, 6, 3, 8, 0))
    assert is_open(DAYTIME, toronto(2024, 6, 3, 22, 59, 59))
    assert not is_open(DAYTIME, toronto(2024, 6, 3, 23, 0))


def test_instant_in_another_zone_is_read_in_the_queue_zone() -> None:
    # 13:30 in Paris is 07:30 in Toronto in June: before opening.
    paris = ZoneInfo("Europe/Paris")
    assert not is_open(DAYTIME, datetime(2024, 6, 3, 13, 30, tzinfo=paris))
    assert is_open(DAYTIME, datetime(2024, 6, 3, 14, 30, tzinfo=paris))


def test_days_without_intervals_are_closed() -> None:
    weekdays = BusinessHours(
        time_zone="America/Toronto", weekly={MONDAY: [interval(time(9), time(17))]}
    )
    assert is_open(weekdays, toronto(2024, 6, 3, 12))  # a Monday
    assert not is_open(weekdays, toronto(2024, 6, 4, 12))  # a Tuesday


def test_overnight_interval_runs_into_the_next_day() -> None:
    hours = BusinessHours(
        time_zone="America/Toronto",
        weekly={FRIDAY: [interval(time(22), time(2), overnight=True)]},
    )
    assert is_open(hours, toronto(2024, 6, 7, 23, 30))  # Friday night
    assert is_open(hours, toronto(2024, 6, 8, 1, 59))  # early Saturday
    assert not is_open(hours, toronto(2024, 6, 8, 2, 0))
    assert not is_open(hours, toronto(2024, 6, 7, 1, 0))  # early Friday: Thursday had none


def test_sunday_overnight_interval_wraps_into_monday() -> None:
    hours = BusinessHours(
        time_zone="America/Toronto",
        weekly={SUNDAY: [interval(time(20), time(4), overnight=True)]},
    )
    assert is_open(hours, toronto(2024, 6, 10, 3, 0))  # Monday 03:00
    assert not is_open(hours, toronto(2024, 6, 10, 4, 0))


def test_end_at_midnight_means_until_the_end_of_the_day() -> None:
    hours = every_day(interval(time(8), time(0)))
    assert is_open(hours, toronto(2024, 6, 3, 23, 59, 59))
    assert not is_open(hours, toronto(2024, 6, 4, 0, 0))


def test_always_open_is_open_at_any_instant() -> None:
    hours = BusinessHours.always_open()
    assert is_open(hours, utc(2024, 12, 25, 0, 0))
    assert is_open(hours, utc(2024, 3, 10, 7, 0))


def test_holiday_closes_the_whole_local_day() -> None:
    hours = every_day(interval(time(8), time(23)), holidays=frozenset({date(2024, 7, 1)}))
    assert not is_open(hours, toronto(2024, 7, 1, 12))
    assert is_open(hours, toronto(2024, 6, 30, 12))
    assert is_open(hours, toronto(2024, 7, 2, 12))


def test_holiday_closes_the_tail_of_an_overnight_interval_after_midnight() -> None:
    hours = every_day(
        interval(time(22), time(2), overnight=True), holidays=frozenset({date(2024, 12, 25)})
    )
    assert is_open(hours, toronto(2024, 12, 24, 23, 0))
    assert not is_open(hours, toronto(2024, 12, 25, 1, 0))
    assert not is_open(hours, toronto(2024, 12, 25, 23, 0))
    assert is_open(hours, toronto(2024, 12, 26, 1, 0))


def test_partial_closure_closes_only_its_hours() -> None:
    closure = Closure(day=date(2024, 6, 3), start=time(12), end=time(13, 30))
    hours = every_day(interval(time(8), time(23)), closures=(closure,))
    assert is_open(hours, toronto(2024, 6, 3, 11, 59))
    assert not is_open(hours, toronto(2024, 6, 3, 12, 0))
    assert not is_open(hours, toronto(2024, 6, 3, 13, 29))
    assert is_open(hours, toronto(2024, 6, 3, 13, 30))
    assert is_open(hours, toronto(2024, 6, 4, 12, 30))


def test_march_change_keeps_the_local_opening_time() -> None:
    # 08:00 is 13:00 UTC on Saturday 9 March (EST) and 12:00 UTC on Sunday 10 March (EDT).
    assert not is_open(DAYTIME, utc(2024, 3, 9, 12, 30))
    assert is_open(DAYTIME, utc(2024, 3, 9, 13, 0))
    assert is_open(DAYTIME, utc(2024, 3, 10, 12, 30))
    assert not is_open(DAYTIME, utc(2024, 3, 10, 11, 59))


def test_opening_at_a_skipped_02_30_starts_when_clocks_jump_to_03_00() -> None:
    hours = BusinessHours(
        time_zone="America/Toronto", weekly={SUNDAY: [interval(time(2, 30), time(5))]}
    )
    assert not is_open(hours, utc(2024, 3, 10, 6, 59, 59))  # 01:59:59 EST
    assert is_open(hours, utc(2024, 3, 10, 7, 0))  # 03:00 EDT
    assert is_open(hours, utc(2024, 3, 10, 8, 59))  # 04:59 EDT
    assert not is_open(hours, utc(2024, 3, 10, 9, 0))  # 05:00 EDT
    assert next_opening(hours, utc(2024, 3, 10, 5, 0)) == utc(2024, 3, 10, 7, 0)


def test_interval_wholly_inside_the_skipped_hour_never_opens_that_day() -> None:
    hours = BusinessHours(
        time_zone="America/Toronto", weekly={SUNDAY: [interval(time(2, 10), time(2, 50))]}
    )
    assert not is_open(hours, utc(2024, 3, 10, 7, 0))
    # The next Sunday is ordinary: 02:10 EDT is 06:10 UTC.
    assert next_opening(hours, utc(2024, 3, 10, 5, 0)) == utc(2024, 3, 17, 6, 10)


def test_november_close_at_01_30_does_not_reopen_in_the_repeated_hour() -> None:
    hours = every_day(interval(time(8), time(1, 30), overnight=True))
    assert is_open(hours, toronto(2024, 11, 3, 1, 15, fold=0))  # first 01:15, EDT
    assert not is_open(hours, utc(2024, 11, 3, 5, 30))  # first 01:30, EDT
    assert not is_open(hours, toronto(2024, 11, 3, 1, 15, fold=1))  # second 01:15, EST
    assert next_opening(hours, utc(2024, 11, 3, 5, 45)) == utc(2024, 11, 3, 13, 0)


def test_november_opening_at_01_30_stays_open_through_the_repeated_hour() -> None:
    hours = every_day(interval(time(1, 30), time(6)))
    assert not is_open(hours, utc(2024, 11, 3, 5, 29))  # 01:29 EDT
    assert is_open(hours, utc(2024, 11, 3, 5, 30))  # first 01:30
    assert is_open(hours, toronto(2024, 11, 3, 1, 15, fold=1))  # second 01:15
    assert is_open(hours, utc(2024, 11, 3, 10, 59))  # 05:59 EST
    assert not is_open(hours, utc(2024, 11, 3, 11, 0))  # 06:00 EST


def test_next_opening_is_the_instant_itself_when_open() -> None:
    at = toronto(2024, 6, 3, 12, 0)
    assert next_opening(DAYTIME, at) == at


def test_next_opening_later_the_same_day_and_the_next_day() -> None:
    assert next_opening(DAYTIME, toronto(2024, 6, 3, 6, 0)) == toronto(2024, 6, 3, 8, 0)
    assert next_opening(DAYTIME, toronto(2024, 6, 3, 23, 30)) == toronto(2024, 6, 4, 8, 0)


def test_next_opening_is_given_in_the_queue_time_zone() -> None:
    opening = next_opening(DAYTIME, utc(2024, 6, 3, 3, 0))
    assert opening is not None
    assert opening.tzinfo == TORONTO
    assert (opening.hour, opening.minute) == (8, 0)


def test_next_opening_skips_holidays() -> None:
    hours = every_day(
        interval(time(8), time(23)), holidays=frozenset({date(2024, 12, 25), date(2024, 12, 26)})
    )
    assert next_opening(hours, toronto(2024, 12, 24, 23, 30)) == toronto(2024, 12, 27, 8, 0)


def test_next_opening_during_a_closure_is_the_closure_end() -> None:
    closure = Closure(day=date(2024, 6, 3), start=time(12), end=time(13, 30))
    hours = every_day(interval(time(8), time(23)), closures=(closure,))
    assert next_opening(hours, toronto(2024, 6, 3, 12, 15)) == toronto(2024, 6, 3, 13, 30)


def test_next_opening_after_a_holiday_inside_an_overnight_interval() -> None:
    hours = BusinessHours(
        time_zone="America/Toronto",
        weekly={FRIDAY: [interval(time(22), time(4), overnight=True)]},
        holidays=frozenset({date(2024, 6, 7)}),  # the Friday itself
    )
    assert next_opening(hours, toronto(2024, 6, 7, 21, 0)) == toronto(2024, 6, 8, 0, 0)


def test_next_opening_with_no_interval_at_all_is_none() -> None:
    hours = BusinessHours(time_zone="America/Toronto", weekly={})
    assert next_opening(hours, toronto(2024, 6, 3, 12)) is None
    assert not is_open(hours, toronto(2024, 6, 3, 12))


def test_many_holidays_still_reach_the_next_opening() -> None:
    closed = frozenset(date(2025, 1, 1) + timedelta(days=n) for n in range(40))
    hours = every_day(interval(time(8), time(23)), holidays=closed)
    assert next_opening(hours, toronto(2025, 1, 1, 9)) == toronto(2025, 2, 10, 8, 0)


def test_unknown_time_zone_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Mars/Olympus'"):
        BusinessHours(time_zone="Mars/Olympus", weekly={})
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessHours(time_zone="", weekly={})


@pytest.mark.parametrize(
    ("start", "end"),
    [(time(17), time(9)), (time(9), time(9))],
)
def test_same_day_interval_ending_before_it_starts_is_refused(start: time, end: time) -> None:
    with pytest.raises(ValueError, match="overnight=True"):
        OpeningInterval(start=start, end=end)


def test_overnight_interval_that_ends_the_same_day_is_refused() -> None:
    with pytest.raises(ValueError, match="marked overnight but ends the same day"):
        OpeningInterval(start=time(9), end=time(17), overnight=True)


def test_explicit_overnight_and_midnight_intervals_are_accepted() -> None:
    assert OpeningInterval(start=time(22), end=time(2), overnight=True).ends_next_day
    assert OpeningInterval(start=time(8), end=time(0)).ends_next_day
    assert not OpeningInterval(start=time(8), end=time(17)).ends_next_day


def test_aware_times_in_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="wall-clock"):
        OpeningInterval(start=time(8, tzinfo=UTC), end=time(17))


def test_weekday_outside_monday_to_sunday_is_refused() -> None:
    with pytest.raises(ValueError, match="weekday must be 0"):
        BusinessHours(time_zone="UTC", weekly={7: [interval(time(8), time(17))]})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"weekly": {MONDAY: [(time(8), time(17))]}}, "not an interval"),
        ({"holidays": frozenset({datetime(2024, 7, 1, tzinfo=UTC)})}, "must be a date"),
        ({"closures": (date(2024, 7, 1),)}, "is not a Closure"),
    ],
)
def test_malformed_hours_are_refused(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"time_zone": "America/Toronto", "weekly": {}, **fields}
    with pytest.raises(ValueError, match=message):
        BusinessHours(**arguments)  # type: ignore[arg-type]


def test_closure_crossing_midnight_is_refused() -> None:
    with pytest.raises(ValueError, match="split a closure"):
        Closure(day=date(2024, 6, 3), start=time(22), end=time(2))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(DAYTIME, datetime(2024, 6, 3, 12))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        next_opening(DAYTIME, datetime(2024, 6, 3, 12))  # noqa: DTZ001
