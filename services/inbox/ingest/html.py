"""HTML bodies: sanitized for agents' eyes, and reduced to plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# Layout properties only: none of these can load a URL.
_CSS_PROPERTIES = (
    {"color", "background-color", "font", "font-family", "font-size", "font-style"}
    | {"font-weight", "text-align", "text-decoration", "text-indent", "line-height"}
    | {"margin", "margin-left", "margin-right", "margin-top", "margin-bottom", "padding"}
    | {"padding-left", "padding-right", "padding-top", "padding-bottom", "border"}
    | {"border-color", "border-style", "border-width", "border-collapse", "width", "height"}
    | {"vertical-align", "white-space", "direction", "display", "list-style-type"}
)
_SAFE_IMAGE = re.compile(r"(?i)\s*(?:cid:|data:image/(?:png|gif|jpeg|webp);base64,)")
# Matched against the lower-cased value: several times faster than (?i) on long styles.
_UNSAFE_CSS = re.compile(r"url\s*\(|expression\s*\(|@import|image-set|behavior\s*:")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "src":
        return value if _SAFE_IMAGE.match(value) else None
    if name == "href" and value.strip().lower().startswith(("data:", "cid:")):
        return None
    if name == "style" and _UNSAFE_CSS.search(value.lower()):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(nh3.ALLOWED_TAGS) | {"font", "tfoot"},
    clean_content_tags={"script", "style", "title", "iframe", "object", "embed", "noscript"},
    attributes={
        **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
        "*": {"style", "dir", "lang", "title", "align"},
        "font": {"color", "face", "size"},
        "td": set(nh3.ALLOWED_ATTRIBUTES["td"]) | {"bgcolor", "valign", "width", "height"},
        "table": set(nh3.ALLOWED_ATTRIBUTES["table"]) | {"bgcolor", "border", "width"},
    },
    attribute_filter=_filter_attribute,
    link_rel="noopener noreferrer nofollow",
    url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
    url_relative="deny",
    filter_style_properties=_CSS_PROPERTIES,
)


def sanitize_html(markup: str) -> str:
    """Return markup safe to show an agent: no scripts, handlers, frames or remote loads."""
    return _CLEANER.clean(markup)


class _TextExtractor(HTMLParser):
    """Plain text of sanitized HTML: block elements become line breaks, runs of spaces collapse."""

    _BREAK = frozenset({"br", "tr", "div", "li", "dt", "dd", "table", "ul", "ol", "hr"})
    _PARAGRAPH = frozenset({"p", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.chunks.append("\n- ")
        elif tag in self._BREAK:
            self.chunks.append("\n")
        elif tag in self._PARAGRAPH:
            self.chunks.append("\n\n")
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        self.preformatted += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in self._PARAGRAPH:
            self.chunks.append("\n\n")
        elif tag in self._BREAK and tag not in ("br", "li"):
            self.chunks.append("\n")
        self.preformatted -= tag == "pre" and self.preformatted > 0

    def handle_data(self, data: str) -> None:
        self.chunks.append(data if self.preformatted else re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(markup: str) -> str:
    """Return the readable text of an HTML body, for agents, quoting and language detection."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = (line.strip(" \t\xa0") for line in "".join(extractor.chunks).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
