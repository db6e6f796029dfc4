"""Times of day as customers read them, the same in every text the product writes for them.

Babel's short formats, with the conventions people write: French (Canada) as the OQLF
recommends, ``9 h`` on the hour and ``9 h 30`` otherwise (no leading zero, no-break spaces),
noon ``12 h``, and midnight ``minuit`` when it ends a period (``de 20 h à minuit``) but ``0 h``
when it starts one; English on a 12-hour clock ``9 a.m.`` on the hour and ``9:30 a.m.``
otherwise, ``noon`` and ``midnight``. Other locales (``fr`` of France, ``en-GB``: a 24-hour
clock) keep Babel's short format as it is (``09:30``).
"""

from __future__ import annotations

from datetime import time

from babel import Locale
from babel.dates import format_time

MIDNIGHT = time(0)
NOON = time(12)
_NBSP = "\u00a0"
_FRENCH_HOUR = f"H{_NBSP}'h'"
_FRENCH_HOUR_MINUTES = f"H{_NBSP}'h'{_NBSP}mm"


def time_of_day(moment: time, locale: Locale, *, end: bool = False) -> str:
    """``moment`` (its seconds and zone ignored) written for ``locale``; ``end`` when it ends a
    period, which French writes ``minuit`` rather than ``0 h``."""
    moment = moment.replace(second=0, microsecond=0, tzinfo=None)
    if (locale.language, locale.territory) == ("fr", "CA"):
        if moment == MIDNIGHT and end:
            return "minuit"
        pattern = _FRENCH_HOUR if moment.minute == 0 else _FRENCH_HOUR_MINUTES
        return str(format_time(moment, pattern, locale=locale))
    short = locale.time_formats["short"].pattern
    if locale.language == "en" and "a" in short:  # English on a 12-hour clock
        if moment == MIDNIGHT:
            return "midnight"
        if moment == NOON:
            return "noon"
        text = str(format_time(moment, "short", locale=locale))
        return text.replace(":00", "", 1) if moment.minute == 0 else text
    return str(format_time(moment, "short", locale=locale))
