"""Language negotiation and lookup of the English and French texts people read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.units import format_unit

SUPPORTED_LOCALES = ("en", "fr")
SHARED_LOCALE_DIR = Path(__file__).parent / "locales"


def negotiate_locale(accept_language: str | None, default: str = "en") -> str:
    """Return the supported language the client prefers most (RFC 9110 quality values)."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.strip().split("-")[0].split("_")[0].lower()
        if language == "*":
            language = default
        if language in SUPPORTED_LOCALES and quality > 0:
            ranked.append((-quality, position, language))
    return sorted(ranked)[0][2] if ranked else default


@lru_cache(maxsize=32)
def _read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


class Translator:
    """Looks up French texts in the gettext catalogs of the given folders (English is the key)."""

    def __init__(self, locale_dirs: Iterable[Path]) -> None:
        self._messages: dict[str, dict[str, str]] = {"fr": {}}
        for folder in locale_dirs:
            for locale in self._messages:
                po = folder / locale / "LC_MESSAGES" / "messages.po"
                if po.exists():
                    catalog = _read_catalog(po)
                    self._messages[locale].update(
                        {
                            str(message.id): str(message.string)
                            for message in catalog
                            if message.id and message.string and not message.fuzzy
                        }
                    )

    def gettext(self, message: str, locale: str) -> str:
        """Return the message in the locale, or the English text when it has no translation."""
        return self._messages.get(locale, {}).get(message, message)

    def has(self, message: str, locale: str) -> bool:
        """Whether the catalog of the locale translates this message."""
        return locale == "en" or message in self._messages.get(locale, {})

    def format(self, message: str, locale: str, params: Mapping[str, object]) -> str:
        """Translate, then fill ``{name}`` placeholders, numbers written the locale's way."""
        text = self.gettext(message, locale)
        try:
            return text.format(
                **{name: self._local(value, locale) for name, value in params.items()}
            )
        except (KeyError, IndexError, ValueError):
            return text

    def _local(self, value: object, locale: str) -> object:
        """A placeholder's value as the locale writes it: a term from the catalogs translated, a
        localized value in its words, a number with the locale's separators; else as is."""
        if isinstance(value, Term):
            return self.gettext(value.text, locale)
        if isinstance(value, Localized):
            return value.in_locale(locale)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format_decimal(value, locale=locale)
        return value


@runtime_checkable
class Localized(Protocol):
    """A placeholder's value that writes itself out in each language (see ``Seconds``)."""

    def in_locale(self, locale: str) -> str:
        """The words in this locale."""
        ...


class Term:
    """A word the catalogs translate (a status, a channel, a role), for a message's placeholder:
    ``Term("resolved")`` reads "resolved" in English and « réglée » where French has it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Term({self.text!r})"


class Seconds:
    """A number of seconds written out, singular or plural as each language has it (``1 second``,
    ``30 secondes``), for a message's placeholder; Babel's units."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count

    def in_locale(self, locale: str) -> str:
        """The words in this locale."""
        return format_unit(self.count, "duration-second", length="long", locale=locale)

    def __str__(self) -> str:
        return self.in_locale("en")
