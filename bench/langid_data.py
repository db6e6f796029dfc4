"""Builds the English/French evaluation set from the gettext catalogs Debian ships.

Source: every ``<locale-dir>/fr/LC_MESSAGES/*.mo`` catalog (default locale dir
``/usr/share/locale``) pairs an English ``msgid`` with its French ``msgstr``. The texts are
real, written by the translators of coreutils, git, PostgreSQL, GnuPG, GTK… and are read at
run time, never committed (their licences vary). The base image of these machines carries
about 80 such catalogs; on a machine without them, install some with::

    apt-get update && apt-get install -y coreutils git gnupg postgresql-client libgtk2.0-common

Format strings, options, paths, acronyms and identifiers are dropped; a text whose
case-folded form occurs in both languages is dropped as undecidable. Entries are split into
a ``dev`` and a ``test`` part by a stable hash of the English text, so that tuning on one
part and measuring on the other is possible.
"""

from __future__ import annotations

import gettext
import hashlib
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LOCALE_DIR = Path("/usr/share/locale")
BUCKETS = ("1-2", "3-5", "6-12", "13-30", "31+")
HARD_KINDS = ("quoted_reply", "disclaimer", "accents_stripped", "numbers_urls")

# Names of countries, languages, keyboard layouts and file formats ("document Markdown",
# "audio Ogg") are proper nouns, not language evidence.
_SKIPPED_CATALOGS = re.compile(r"^(iso_|xkeyboard-config|shared-mime-info)")
_FORMAT = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlLqjzt]*[diouxXeEfFgGcrsaSpm%]"
    r"|\{[^{}]*\}|\$\{?\w+\}?|<[^<>]*>|\[[^\[\]]*\]|«[^«»]*%[^«»]*»"
)
_ACCELERATOR = re.compile(r"(?<![\w&_])[_&](?=\w)")
_TOKEN_JUNK = re.compile(r"[\d_/\\@=|~^`*#$<>{}\[\]]|::|\w\.\w|^-|\w:\w|\(\)")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
# camelCase and mixed-case identifiers (AppStream, nsTIME, GApplication, EiB), per hyphen part.
_IDENTIFIER = re.compile(r"[a-zà-ÿ][A-Z]|[A-Z]{2}[a-z]")
_LETTER = re.compile(r"[^\W\d_]")


class DataMissingError(RuntimeError):
    """The gettext catalogs the evaluation set is built from are not on this machine."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One evaluation text with its true language, length bucket and split."""

    text: str
    lang: str
    bucket: str
    split: str


def word_count(text: str) -> int:
    """Return the number of whitespace tokens that hold at least one letter."""
    return sum(1 for token in text.split() if _LETTER.search(token))


def bucket_of(text: str) -> str:
    """Return the length bucket of a text by its word count."""
    n = word_count(text)
    if n <= 2:
        return "1-2"
    if n <= 5:
        return "3-5"
    if n <= 12:
        return "6-12"
    if n <= 30:
        return "13-30"
    return "31+"


def _tidy(raw: str) -> str:
    text = _FORMAT.sub(" ", raw)
    text = _ACCELERATOR.sub("", text)
    tokens = []
    for token in text.split():
        if _TOKEN_JUNK.search(token):
            continue
        core = _EDGE.sub("", token)
        # All-capital tokens are acronyms and identifiers (HEAD, SQL, GPG) in both languages.
        if _IDENTIFIER.search(core) or any(
            len(part) >= 2 and part.isupper() for part in core.split("-")
        ):
            continue
        tokens.append(token)
    text = " ".join(tokens).strip(" -:;,.")
    letters = len(_LETTER.findall(text))
    if letters < 2 or letters < 0.7 * len(text.replace(" ", "")):
        return ""
    return text


def _stable_part(key: str) -> str:
    return "dev" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "test"


def load_pairs(locale_dir: Path = DEFAULT_LOCALE_DIR) -> list[tuple[str, str, str, str]]:
    """Return (catalog, part, english, french) tuples from the French catalogs, tidied."""
    catalogs = sorted((locale_dir / "fr" / "LC_MESSAGES").glob("*.mo"))
    if not catalogs:
        raise DataMissingError(
            f"no French gettext catalog under {locale_dir / 'fr' / 'LC_MESSAGES'}; install some "
            "with: apt-get update && apt-get install -y coreutils git gnupg postgresql-client"
        )
    pairs: list[tuple[str, str, str, str]] = []
    for path in catalogs:
        if _SKIPPED_CATALOGS.match(path.name):
            continue
        with path.open("rb") as handle:
            catalog = gettext.GNUTranslations(handle)
        for msgid, msgstr in catalog._catalog.items():  # type: ignore[attr-defined]
            english = msgid[0] if isinstance(msgid, tuple) else msgid
            if not english or not isinstance(msgstr, str) or "\x04" in english:
                continue
            en, fr = _tidy(english), _tidy(msgstr)
            if en and fr and en.casefold() != fr.casefold():
                pairs.append((path.stem, _stable_part(english), en, fr))
    return pairs


def _paragraphs(texts: list[tuple[str, str]], minimum: int) -> Iterator[tuple[str, str]]:
    """Join consecutive messages of one catalog into paragraphs of at least `minimum` words."""
    current: list[str] = []
    current_catalog = ""
    for catalog, text in texts:
        if catalog != current_catalog:
            current, current_catalog = [], catalog
        current.append(text if text[-1] in ".!?" else text + ".")
        if word_count(" ".join(current)) >= minimum:
            yield catalog, " ".join(current)
            current = []


def clean_samples(pairs: list[tuple[str, str, str, str]], part: str) -> list[Sample]:
    """Return the deduplicated clean texts of one part ("dev", "test" or "all")."""
    chosen = [p for p in pairs if part in ("all", p[1])]
    by_lang = {
        "en": [(catalog, en) for catalog, _, en, _ in chosen],
        "fr": [(catalog, fr) for catalog, _, _, fr in chosen],
    }
    folded = {lang: {t.casefold() for _, t in texts} for lang, texts in by_lang.items()}
    both = folded["en"] & folded["fr"]
    samples: list[Sample] = []
    for lang, texts in by_lang.items():
        seen: set[str] = set()
        short = [(c, t) for c, t in texts if t.casefold() not in both and word_count(t) < 31]
        long_texts = [(c, t) for c, t in texts if word_count(t) >= 31]
        long_texts += list(_paragraphs([(c, t) for c, t in short if word_count(t) >= 3], 31))
        for _, text in short + long_texts:
            if text.casefold() in seen:
                continue
            seen.add(text.casefold())
            samples.append(Sample(text, lang, bucket_of(text), "clean"))
    return samples


_NAMES = ("Marie Tremblay", "Jean Gagnon", "Sarah Johnson", "David Roy", "Émilie Côté")
_QUOTE_HEADERS = {
    "on_wrote": "On Mon, Mar 3, 2025 at 10:42 AM {name} <{mail}> wrote:",
    "le_ecrit": "Le lun. 3 mars 2025 à 10:42, {name} <{mail}> a écrit\u202f:",
    "outlook_en": (
        "-----Original Message-----\nFrom: {name} <{mail}>\nSent: Monday, March 3, 2025 10:42 AM\n"
        "To: Support <support@example.com>\nSubject: RE: Order 2025-000123"
    ),
    "outlook_fr": (
        "-----Message d'origine-----\nDe : {name} <{mail}>\nEnvoyé : lundi 3 mars 2025 10:42\n"
        "À : Support <support@example.com>\nObjet : RE : Commande 2025-000123"
    ),
    "outlook_bare_en": (
        "________________________________\nFrom: {name} <{mail}>\n"
        "Sent: Monday, March 3, 2025 10:42 AM\nTo: support@example.com\nSubject: Re: Invoice"
    ),
    "forward_fr": (
        "---------- Message transféré ---------\nDe : {name} <{mail}>\n"
        "Date : lun. 3 mars 2025 à 10:42\nObjet : Facture\nÀ : support@example.com"
    ),
}
# Openings of typical corporate footers; the rest of each footer is real catalog text of the
# same language, so the cleaner cannot succeed by knowing the footer word for word.
_DISCLAIMER_OPENINGS = {
    "en": (
        "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended "
        "solely for the addressee.",
        "This message may contain privileged information. If you are not the intended recipient, "
        "please notify the sender and delete it.",
        "Disclaimer: the information contained in this email is confidential.",
    ),
    "fr": (
        "AVIS DE CONFIDENTIALITÉ : Ce courriel et ses pièces jointes sont confidentiels et "
        "destinés exclusivement à leur destinataire.",
        "Ce message peut contenir des renseignements confidentiels. Si vous n'êtes pas le "
        "destinataire visé, veuillez en aviser l'expéditeur et le détruire.",
        "Avertissement : les informations contenues dans ce courriel sont confidentielles.",
    ),
}
_SIGNATURES = {
    "en": ("Best regards,\n{name}", "Thanks,\n{name}\n\nSent from my iPhone", "--\n{name}"),
    "fr": ("Cordialement,\n{name}", "Merci,\n{name}\n\nEnvoyé de mon iPhone", "--\n{name}"),
}
_NOISE = (
    "#A{n}-{m}",
    "{n}{m}",
    "https://shop.example.com/track?id={n}{m}",
    "www.exemple.fr/suivi/{n}",
    "client{n}@example.com",
    "+1 514-555-{m:04d}",
    "(418) 555-{m:04d}",
    "2025-{n}",
    "INV-{n}-{m}",
    "CA{n}{m}QC",
)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _pick(rng: random.Random, pool: list[str], lo: int, hi: int) -> str:
    while True:
        text = rng.choice(pool)
        if lo <= word_count(text) <= hi:
            return text


def _quote_block(rng: random.Random, pool: list[str]) -> str:
    body = " ".join(_pick(rng, pool, 6, 30) for _ in range(rng.randint(2, 4)))
    return body


def hard_samples(pairs: list[tuple[str, str, str, str]], part: str, per_kind: int) -> list[Sample]:
    """Return `per_kind` texts of each hard kind, built from real texts with a fixed seed."""
    chosen = [p for p in pairs if part in ("all", p[1])]
    pools = {"en": [en for _, _, en, _ in chosen], "fr": [fr for _, _, _, fr in chosen]}
    rng = random.Random(20250303)
    samples: list[Sample] = []
    for i in range(per_kind):
        lang = ("en", "fr")[i % 2]
        other = "fr" if lang == "en" else "en"
        name = rng.choice(_NAMES)
        mail = "client@example.com"

        body = _pick(rng, pools[lang], 3, 20)
        style = rng.choice(sorted(_QUOTE_HEADERS))
        header = _QUOTE_HEADERS[style].format(name=name, mail=mail)
        quoted = _quote_block(rng, pools[other])
        if style in ("on_wrote", "le_ecrit"):
            quoted = "\n".join("> " + line for line in _wrap(quoted))
        else:
            quoted = "\n".join(_wrap(quoted))
        signature = rng.choice(_SIGNATURES[lang]).format(name=name)
        text = f"{body}\n\n{signature}\n\n{header}\n{quoted}\n"
        samples.append(Sample(text, lang, bucket_of(body), "quoted_reply"))

        body = _pick(rng, pools[lang], 3, 20)
        opening = rng.choice(_DISCLAIMER_OPENINGS[other])
        footer = " ".join(
            [opening, _pick(rng, pools[other], 6, 30), _pick(rng, pools[other], 6, 30)]
        )
        signature = rng.choice(_SIGNATURES[lang]).format(name=name)
        text = f"{body}\n\n{signature}\n\n{footer}\n"
        samples.append(Sample(text, lang, bucket_of(body), "disclaimer"))

        body = _strip_accents(_pick(rng, pools["fr"], 1, 20))
        samples.append(Sample(body, "fr", bucket_of(body), "accents_stripped"))

        words = _pick(rng, pools[lang], 2, 12).split()
        for _ in range(rng.randint(1, 2)):
            noise = rng.choice(_NOISE).format(n=rng.randint(1000, 99999), m=rng.randint(0, 9999))
            words.insert(rng.randint(0, len(words)), noise)
        text = " ".join(words)
        samples.append(Sample(text, lang, bucket_of(text), "numbers_urls"))
    return samples


def _wrap(text: str, width: int = 72) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines
