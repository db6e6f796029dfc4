"""A queue's hours in words for the out-of-hours notice, and its state at an instant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time

import pytest

from services.routing.queues.hours import BusinessHours, OpeningInterval
from services.routing.queues.opening import describe, queue_hours

NBSP, NNBSP = "\u00a0", "\u202f"
OFFICE = (OpeningInterval(start=time(9, 30), end=time(17)),)
SATURDAY = (OpeningInterval(start=time(10), end=time(0)),)
NIGHT = (OpeningInterval(start=time(0), end=time(6)),)
SPLIT = (
    OpeningInterval(start=time(8), end=time(12)),
    OpeningInterval(start=time(13), end=time(22)),
)


def toronto(
    weekly: Mapping[int, Sequence[OpeningInterval]], holidays: frozenset[date] = frozenset()
) -> BusinessHours:
    return BusinessHours(time_zone="America/Toronto", weekly=weekly, holidays=holidays)


@pytest.mark.parametrize(
    ("weekly", "english", "french"),
    [
        (
            {**dict.fromkeys(range(5), OFFICE), 5: SATURDAY},
            f"Monday to Friday, 9:30{NNBSP}a.m. to 5{NNBSP}p.m.; Saturday, "
            f"10{NNBSP}a.m. to midnight (Eastern Time)",
            f"du lundi au vendredi, de 9{NBSP}h{NBSP}30 à 17{NBSP}h{NNBSP}; le samedi, "
            f"de 10{NBSP}h à minuit (heure de l’Est)",
        ),
        (
            {5: SPLIT, 6: SPLIT},
            f"Saturday and Sunday, 8{NNBSP}a.m. to noon and 1{NNBSP}p.m. to "
            f"10{NNBSP}p.m. (Eastern Time)",
            f"le samedi et le dimanche, de 8{NBSP}h à 12{NBSP}h et de 13{NBSP}h à 22{NBSP}h "
            "(heure de l’Est)",
        ),
        (
            BusinessHours.always_open().weekly,
            "every day, 24 hours a day (Eastern Time)",
            "tous les jours, 24 heures sur 24 (heure de l’Est)",
        ),
        (
            {0: SPLIT, 2: OFFICE, 3: OFFICE, 5: NIGHT},
            f"Monday, 8{NNBSP}a.m. to noon and 1{NNBSP}p.m. to 10{NNBSP}p.m.; Wednesday and "
            f"Thursday, 9:30{NNBSP}a.m. to 5{NNBSP}p.m.; Saturday, midnight to 6{NNBSP}a.m. "
            "(Eastern Time)",
            f"le lundi, de 8{NBSP}h à 12{NBSP}h et de 13{NBSP}h à 22{NBSP}h{NNBSP}; le mercredi "
            f"et le jeudi, de 9{NBSP}h{NBSP}30 à 17{NBSP}h{NNBSP}; le samedi, de 0{NBSP}h à "
            f"6{NBSP}h (heure de l’Est)",
        ),
        (
            {},
            "none for now (we are closed until further notice)",
            "aucune pour le moment (nous sommes fermés jusqu’à nouvel ordre)",
        ),
    ],
)
def test_hours_are_described_in_both_languages(
    weekly: Mapping[int, Sequence[OpeningInterval]], english: str, french: str
) -> None:
    hours = toronto(weekly)

    assert (describe(hours, "en"), describe(hours, "fr")) == (english, french)


def test_a_closed_queue_says_when_it_reopens_in_its_zone() -> None:
    # Wednesday 31 March 2027 is a holiday; at 15:00 UTC (11:00 in Toronto) the queue is closed.
    hours = toronto(dict.fromkeys(range(7), OFFICE), holidays=frozenset({date(2027, 3, 31)}))

    state = queue_hours(hours, datetime(2027, 3, 31, 15, tzinfo=UTC))

    assert state.open is False
    assert state.opens_at == datetime(2027, 4, 1, 13, 30, tzinfo=UTC)
    assert state.time_zone == "America/Toronto"
    assert state.summary["fr"].endswith(
        f"(heure de l’Est). Nous rouvrons le jeudi 1er avril 2027 à 9{NBSP}h{NBSP}30"
    )
    assert state.summary["en"].endswith(
        f"(Eastern Time). We reopen at 9:30{NNBSP}a.m. on Thursday, April 1, 2027"
    )


def test_an_open_queue_has_no_reopening() -> None:
    state = queue_hours(BusinessHours.always_open("UTC"), datetime(2027, 3, 31, 15, tzinfo=UTC))

    assert (state.open, state.opens_at) == (True, None)
    assert state.summary == {
        "en": "every day, 24 hours a day (UTC)",
        "fr": "tous les jours, 24 heures sur 24 (UTC)",
    }
