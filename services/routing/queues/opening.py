"""A queue's hours as other services need them: open now, when it reopens, and in words.

The words go into the customer's out-of-hours notice, so they are written for both languages
here, where the schedule is known, with Babel's English and French (Canada) formats: French
times as ``9 h 30``, English ``noon`` and ``midnight``, the zone's generic name, the reopening as
a full date. Day groups are separated by semicolons, since "and" / « et » already joins the
intervals of one day; the reopening is a sentence of its own, which the notice's text closes:

    Monday, 8:30 a.m. to noon and 1 p.m. to midnight; Wednesday, 9 a.m. to 5 p.m.
    (Eastern Time). We reopen at 8:30 a.m. on Monday, January 5, 2026
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, get_timezone_name
from babel.lists import format_list

from services.routing.queues.hours import (
    MIDNIGHT,
    BusinessHours,
    OpeningInterval,
    is_open,
    next_opening,
)
from shared.contracts.routing_events import QueueHours
from shared.times_of_day import time_of_day

_LOCALES = {"en": Locale.parse("en_CA"), "fr": Locale.parse("fr_CA")}
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal"})
_NNBSP = "\u202f"
_Weekly = tuple[tuple[int, tuple[OpeningInterval, ...]], ...]

#: Fixed phrases, per language; everything else is Babel's.
_WORDS = {
    "en": {
        "always": "24 hours a day",
        # follows "Our business hours are:" in the notice
        "closed": "none for now (we are closed until further notice)",
        "interval": "{start} to {end}",
        "range": "{first} to {last}",
        "pair": "{first} and {last}",
        "day": "{days}, {times}",
        "groups": "; ",
        "reopen": ". We reopen at {time} on {date}",
    },
    "fr": {
        "always": "24 heures sur 24",
        # follows « Nos heures d’ouverture sont les suivantes : » in the notice
        "closed": "aucune pour le moment (nous sommes fermés jusqu’à nouvel ordre)",
        "interval": "de {start} à {end}",
        "range": "du {first} au {last}",
        "pair": "le {first} et le {last}",
        "day": "{days}, {times}",
        "groups": f"{_NNBSP}; ",
        "reopen": ". Nous rouvrons le {date} à {time}",
    },
}


def queue_hours(hours: BusinessHours, at: datetime) -> QueueHours:
    """Whether the queue is open at ``at``, when it opens next, and its hours in both languages."""
    open_now = is_open(hours, at)
    opens_at = None if open_now else next_opening(hours, at)
    return QueueHours(
        open=open_now,
        opens_at=opens_at,
        time_zone=hours.time_zone,
        summary={language: describe(hours, language, opens_at) for language in _LOCALES},
    )


def describe(hours: BusinessHours, language: str, opens_at: datetime | None = None) -> str:
    """The weekly hours with the zone's name, then the reopening when ``opens_at`` is given."""
    words = _WORDS[language]
    weekly = tuple((day, tuple(intervals)) for day, intervals in sorted(hours.weekly.items()))
    text = _weekly_text(weekly, hours.time_zone, language)
    if opens_at is not None:
        local = opens_at.astimezone(hours.zone)
        text += words["reopen"].format(
            time=_time_text(local.time(), language), date=_date_text(local.date(), language)
        )
    return text


@lru_cache(maxsize=256)
def _weekly_text(weekly: _Weekly, time_zone: str, language: str) -> str:
    """The schedule in words; cached, since every task entering a queue carries it."""
    words, locale = _WORDS[language], _LOCALES[language]
    groups = _day_groups(weekly)
    if not groups:
        return words["closed"]
    parts = [_group_text(days, intervals, language) for days, intervals in groups]
    return f"{words['groups'].join(parts)} ({_zone_name(time_zone, locale)})"


def _day_groups(weekly: _Weekly) -> list[tuple[list[int], tuple[OpeningInterval, ...]]]:
    groups: list[tuple[list[int], tuple[OpeningInterval, ...]]] = []
    for weekday, intervals in weekly:
        if not intervals:
            continue
        if groups and groups[-1][1] == intervals and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], intervals))
    return groups


def _group_text(days: list[int], intervals: Sequence[OpeningInterval], language: str) -> str:
    words, locale = _WORDS[language], _LOCALES[language]
    names = locale.days["format"]["wide"]
    if all(i.start == MIDNIGHT and i.end == MIDNIGHT for i in intervals):
        times = words["always"]
    else:
        times = format_list(
            [
                words["interval"].format(
                    start=_time_text(i.start, language), end=_time_text(i.end, language, end=True)
                )
                for i in intervals
            ],
            locale=locale,
        )
    if len(days) == 7:
        label = "every day" if language == "en" else "tous les jours"
    elif len(days) == 1:
        label = names[days[0]] if language == "en" else f"le {names[days[0]]}"
    else:
        template = words["pair"] if len(days) == 2 else words["range"]
        label = template.format(first=names[days[0]], last=names[days[-1]])
    return words["day"].format(days=label, times=times)


def _time_text(moment: time, language: str, *, end: bool = False) -> str:
    return time_of_day(moment, _LOCALES[language], end=end)


def _date_text(day: date, language: str) -> str:
    text = str(format_date(day, "full", locale=_LOCALES[language]))
    if language == "fr" and day.day == 1:
        text = text.replace(" 1 ", " 1er ", 1)  # "1er avril", as French writes it
    return text


def _zone_name(time_zone: str, locale: Locale) -> str:
    if time_zone in _UTC_NAMES:
        return "UTC"
    return str(get_timezone_name(time_zone, width="long", zone_variant="generic", locale=locale))
