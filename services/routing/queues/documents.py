"""A queue's business hours as the JSON document stored with it, read into BusinessHours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from services.routing.queues.hours import BusinessHours, Closure, OpeningInterval

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def business_hours(document: Mapping[str, Any] | None, default_zone: str = "UTC") -> BusinessHours:
    """The hours a document describes; without a weekly schedule, open around the clock.

    ``{"time_zone": "America/Toronto", "weekly": {"mon": [{"start": "08:00", "end": "23:00"}]},
    "holidays": ["2026-12-25"], "closures": [{"day": …, "start": …, "end": …}]}``; a weekday
    missing from ``weekly`` is closed. Raises ValueError (or KeyError) for a bad document.
    """
    document = document or {}
    zone = document.get("time_zone") or default_zone
    weekly_document = document.get("weekly")
    if weekly_document is None:
        weekly: Mapping[int, Sequence[OpeningInterval]] = BusinessHours.always_open(zone).weekly
    else:
        weekly = {
            WEEKDAYS.index(day): [
                OpeningInterval(
                    start=time.fromisoformat(item["start"]),
                    end=time.fromisoformat(item["end"]),
                    overnight=bool(item.get("overnight", False)),
                )
                for item in intervals
            ]
            for day, intervals in weekly_document.items()
        }
    closures = tuple(
        Closure(
            day=date.fromisoformat(item["day"]),
            start=time.fromisoformat(item["start"]),
            end=time.fromisoformat(item["end"]),
        )
        for item in document.get("closures", [])
    )
    return BusinessHours(
        time_zone=zone,
        weekly=weekly,
        holidays=frozenset(date.fromisoformat(day) for day in document.get("holidays", [])),
        closures=closures,
    )
