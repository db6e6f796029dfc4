"""Whether a text a person wrote says nothing (a reply, a note)."""

from __future__ import annotations

import unicodedata

#: Why such a text is refused (its French is in the service's catalog).
REASON_BLANK = "Must say something: not only spaces or line breaks."


def is_blank(text: str) -> bool:
    """Whether the text shows nothing: only spaces, line breaks and invisible characters
    (zero-width spaces, joiners, byte order marks)."""
    return all(char.isspace() or unicodedata.category(char) == "Cf" for char in text)
