"""Every table the translation service owns (names start with ``translation_``)."""

from __future__ import annotations
