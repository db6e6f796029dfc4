"""French typography for the literal text of templates: spacing, guillemets and apostrophes.

U+202F (narrow no-break space) goes before ; : ! ? and inside « », balanced "straight" quotes on
a line become « guillemets », U+00A0 goes before % after a number, and ' between letters becomes
’. URLs, email addresses and digit:digit (times, ratios) are left alone.
"""

import re

#: Stands for a placeholder while typography runs on the literal text around it.
VALUE_MARK = "\ue000"
#: Stands for a URL, address or time that typography must not touch.
KEEP_MARK = "\ue001"

_PROTECTED = re.compile(
    r"(?:https?://|ftp://|mailto:|tel:|www\.)[^\s<>«»\"]+?(?=[.,;:!?)\]»'\"]*(?:\s|\Z))"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\d+(?::\d+)+"
)
_SPACES = "[ \t\u00a0\u202f]*"


def apply_french_typography(text: str) -> str:
    """French punctuation spacing, guillemets and apostrophes, leaving URLs, addresses, times."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return KEEP_MARK

    text = _PROTECTED.sub(keep, text)
    text = "\n".join(_guillemets(line) for line in text.split("\n"))
    text = re.sub(rf"«{_SPACES}(?=\S)", "«\u202f", text)
    text = re.sub(rf"(?<=\S){_SPACES}»", "\u202f»", text)
    text = re.sub(rf"(?<=[^\s;:!?(\[«]){_SPACES}([;:!?])", "\u202f\\1", text)
    text = re.sub(rf"(?<=[\d{VALUE_MARK}]){_SPACES}%", "\u00a0%", text)
    text = re.sub(rf"(?<=[\w{VALUE_MARK}])'(?=[\w{VALUE_MARK}])", "’", text)
    pieces = text.split(KEEP_MARK)
    return pieces[0] + "".join(k + p for k, p in zip(kept, pieces[1:], strict=True))


def _guillemets(line: str) -> str:
    parts = line.split('"')
    if len(parts) % 2 == 0:
        return line  # an unbalanced quote cannot be placed safely
    return "".join(p + ("«»"[i % 2] if i < len(parts) - 1 else "") for i, p in enumerate(parts))
