"""Languages named in words inside sentences ("in French", « en français »), not by their codes."""

from __future__ import annotations

from shared.i18n import Term

#: The English name of each language code the API uses; the catalogs translate the names.
LANGUAGE_NAMES = {"en": "English", "fr": "French", "und": "an undetermined language"}


def language_name(code: str) -> Term:
    """The language's name as a catalog term (``fr`` reads "French", « français »); a code
    without a name stays as written."""
    return Term(LANGUAGE_NAMES.get(code, code))
