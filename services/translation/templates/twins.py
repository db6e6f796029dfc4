"""The twin rule: each language of a template has its other-language twin, as recent and alike.

``en`` pairs with ``fr`` and ``en-CA`` with ``fr-CA``. A version without its twin is a problem
unless it is marked single-language; the older of two twins written more than a second apart is
stale (the other language changed later); twins must declare the same variables.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.translation.templates.errors import TWIN_MESSAGES, TwinProblemKind, localize
from services.translation.templates.render import TEMPLATE_LOCALES, TemplateVersion, language_of

TWIN_LOCALES = {"en": "fr", "fr": "en", "en-CA": "fr-CA", "fr-CA": "en-CA"}
STALE_TOLERANCE = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class TwinProblem:
    """A broken twin rule for one key: a missing, stale or mismatched other-language version."""

    key: str
    locale: str  # missing_twin: the lone version; stale_twin: the older one; else the English one
    twin_locale: str
    kind: TwinProblemKind

    @property
    def message(self) -> str:
        """The English sentence, also the catalog's key for its French translation."""
        return TWIN_MESSAGES[self.kind]

    @property
    def params(self) -> dict[str, object]:
        """The values the message's placeholders take."""
        return {"key": self.key, "locale": self.locale, "twin": self.twin_locale}

    def detail(self, language: str = "en") -> str:
        """The problem in French for any fr* tag, else in English."""
        return localize(self.message, language, self.params)


def _signature(version: TemplateVersion) -> set[tuple[str, str]]:
    return {(variable.name, variable.type) for variable in version.variables}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored naive means UTC


def check_twins(
    versions: Iterable[TemplateVersion], *, tolerance: timedelta = STALE_TOLERANCE
) -> list[TwinProblem]:
    """Missing, stale and mismatched twins (en with fr, en-CA with fr-CA), ordered by key."""
    slots = {(v.key, v.locale): v for v in versions}
    order = {tag: i for i, tag in enumerate(TEMPLATE_LOCALES)}
    problems: list[TwinProblem] = []
    for version in sorted(slots.values(), key=lambda v: (v.key, order.get(v.locale, len(order)))):
        key, locale = version.key, version.locale
        twin_locale = TWIN_LOCALES.get(locale)
        twin = slots.get((key, twin_locale)) if twin_locale else None
        if twin_locale is None or (twin is None and version.single_language):
            continue
        if twin is None:
            problems.append(TwinProblem(key, locale, twin_locale, "missing_twin"))
            continue
        if language_of(locale) != "en":
            continue  # each pair is compared once, from its English side
        if version.updated_at and twin.updated_at:
            drift = _aware(version.updated_at) - _aware(twin.updated_at)
            if drift > tolerance:
                problems.append(TwinProblem(key, twin_locale, locale, "stale_twin"))
            elif -drift > tolerance:
                problems.append(TwinProblem(key, locale, twin_locale, "stale_twin"))
        if _signature(version) != _signature(twin):
            problems.append(TwinProblem(key, locale, twin_locale, "variables_differ"))
    return problems
