"""Detects whether a customer's message is English or French, with confidence and evidence.

How a text is scored
    The text is first cleaned (``cleaning.clean_text``: quoted history, signatures,
    disclaimers, URLs, addresses and numbers go). Each remaining word adds a log-odds of
    English against French, the sum of two deterministic naive-Bayes models:

    * langdetect's own English and French character 1-3-gram profiles (the design card's
      engine), read once from the installed package and scored over *every* n-gram instead of
      langdetect's random sampling, so there is no seed to keep and the same text gets the same
      answer in every process; restricting the profiles to en/fr and caching each word's score
      also makes it about ten times faster than langdetect limited to en/fr;
    * pyspellchecker's English and French word frequencies, which decide the one- and two-word
      texts that character n-grams get wrong ("Font options", "Taille maximale"); accentless
      spellings of French words count as French ("deja", "reussi").

    French typography (« », a space before ``: ; ? !``) adds a little French evidence, and a few
    loanwords French writes as English does ("OK", "email", "wifi") count for neither. Three
    cues help the shortest texts: French elisions before an apostrophe (l', d', qu', jusqu')
    against English contractions after one (n't, 's, 're, 've, 'll); English title case
    ("Message Type"; French capitalises only the first word); and, for two words, adjective
    order — "incorrect argument" against "argument incorrect", a word counting as an adjective
    when either list holds an adverb made from it (incorrectly, rapidement). The sum, divided
    by the square root of the word count (word evidence is correlated), goes through a
    logistic curve fitted on the dev half of ``bench/langid.py``'s set.

    For texts of one or two words, where both models have little to go on, lingua's en/fr
    confidence (``lingua-language-detector``: character 1-5-gram models from a far larger
    corpus, deterministic) is added as a bounded log-odds with a weight fitted on the same dev
    half: it lifts the 1-2-word bucket there from about 96.2 % to 96.6 % at a 0.55 threshold.

How hints are used
    Hints are consulted in this fixed order and only the first usable one counts:
    ``content_language`` (the message's own declaration or the IVR choice), ``line_language``
    (the dialed line), ``contact_language`` (the customer's known preference),
    ``accept_language``, ``sender_domain`` (ccTLD: .fr, .qc.ca, .quebec → fr; .uk, .us, .au,
    .nz, .ie → en), ``phone_region`` (FR, CA-QC → fr; other CA-xx, US, GB, … → en). A hint
    that names neither language (``de``, ``CA``, ``.com``) is skipped. The hint adds a fixed
    log-odds, strongest first in that order, so a confident text (above about 88 % for
    content_language, 69 % for phone_region) still outweighs it; a short or ambiguous text is
    decided by the hint. No hint makes a text in another language English or French (below).

When the answer is ``und``
    Without a usable hint, when the text's probability for its best language is below
    ``UND_BELOW`` (empty, numbers only, unknown names, words shared by both languages such as
    "Note" or "Format"). The probabilities are roughly calibrated: on the dev half, one- and
    two-word answers between 0.5 and 0.6 are right about 55 % of the time, between 0.6 and 0.8
    about 70 %. 0.55 (0.6 before) sends the weaker half of that band to the bilingual queue and
    guesses the other half: the benchmark counts ``und`` as wrong.

When the text is in another language
    The answer is ``und`` too, whatever the hints, when the text is clearly in neither
    language (Spanish or Japanese would otherwise come out English or French, at up to 99 %,
    and the customer would get an acknowledgement in a language they did not write; ``und``
    sends the conversation to the bilingual queue with a bilingual acknowledgement):

    * ``text:non_latin_script``: at least half of its letters, and at least three, are in a
      script other than Latin (Japanese, Chinese, Arabic, Cyrillic, Greek…);
    * ``text:other_language_words``: of its lower-case Latin-script words of two letters or
      more (at least eight; capitalised words after the first are left out as names, brands
      and products), the Spanish, Portuguese, Italian, German or Dutch list explains them
      better than the English and the French ones by at least one nat per word on average:
      naive Bayes over pyspellchecker's word frequencies (the other lists cut to their
      20 000 most frequent words), a share under 10⁻⁷ counting as absent, so words no list
      knows (typos, codes, jargon) weigh for no language;
    * ``text:unknown_words``: failing that, at least 60 % of those words are in neither the
      English nor the French list (Polish, Swedish, Turkish, Vietnamese…).

    Hints are ignored then, the message's Content-Language included: mail clients write it
    from their settings rather than from the text, and the bilingual acknowledgement covers
    the language a hint names anyway. Measured on the benchmark's English and French texts
    (all 102 869, both parts), one answer changes ("Type of subpixel antialiasing; none, rgb,
    bgr, vrgb, vbgr" becomes ``und``); texts of eight words or more from the same gettext
    catalogues in Spanish,
    Portuguese, Italian, German and Dutch come out ``und`` about 99 % of the time, Polish,
    Turkish, Czech and Vietnamese 95 % or more; shorter texts keep the answers above.

``evidence`` lists the signals that pushed towards the answer, strongest first: ``"text"``
and/or ``"hint:<name>"``; it is empty for a ``und`` of too little evidence and names the rule
above for a text in another language. ``scores`` holds the final probabilities of English and
French; for a text in another language they are the text's and hints' English and French
probabilities times the share of the text that looks English or French (its Latin letters, or
its words that the English or French list knows and explains best), at most one half, so they
stay low and sum to less than one. ``confidence`` is the larger of the two, and ``removed`` the
kinds of content cleaning stripped.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Literal

import langdetect
from lingua import Language as LinguaLanguage
from lingua import LanguageDetector, LanguageDetectorBuilder
from spellchecker import SpellChecker, WordFrequency

from services.translation.detection.cleaning import clean_text

Language = Literal["en", "fr", "und"]

UND_BELOW = 0.55
HINT_ORDER = (
    "content_language",
    "line_language",
    "contact_language",
    "accept_language",
    "sender_domain",
    "phone_region",
)
# Log-odds each hint adds; decreasing in HINT_ORDER.
HINT_WEIGHTS = {
    "content_language": 2.0,
    "line_language": 1.8,
    "contact_language": 1.6,
    "accept_language": 1.2,
    "sender_domain": 1.0,
    "phone_region": 0.8,
}

_CHAR_SMOOTHING = 5e-6
_CHAR_WEIGHT = 0.1
_UNKNOWN_CHAR_WEIGHT = 0.2  # words neither list knows lean on their n-grams more
_WORD_SMOOTHING = 1e-8
_WORD_CAP = 8.0
_ACCENTLESS_WEIGHT = 0.8
_TYPOGRAPHY_WEIGHT = 1.0
_TITLE_WEIGHT = 1.5  # "Message Type": English capitalises every word of a heading
_CLITIC_WEIGHT = 2.0  # French l'/d'/qu' before an apostrophe, English n't/'s/'re after one
_ORDER_WEIGHT = 1.5  # "incorrect argument" against "argument incorrect"
_ADVERB_MIN = 5  # occurrences for an adverb to mark its adjective
# lingua's en/fr log-odds, added for texts of at most this many words (bounded first).
_LINGUA_WEIGHT = 0.75
_LINGUA_MAX_WORDS = 2
_LINGUA_BOUND = 1e-4
# p = sigmoid(_SCALE * sum / sqrt(words)): word evidence is correlated, so it grows slower than
# the word count; fitted on the dev half of the benchmark set.
_SCALE = 0.85
_MAX_WORDS = 2000
_CACHE_LIMIT = 200_000

# Texts in another language (see "When the text is in another language" above).
_NON_LATIN_SHARE = 0.5  # of the letters, at least this share in another script…
_NON_LATIN_MIN = 3  # …and at least this many such letters
_OTHER_LANGUAGES = ("es", "pt", "it", "de", "nl")  # pyspellchecker's other Latin-script lists
_OTHER_WORDS = 20_000  # each other list's most frequent words
_ABSENT = math.log(1e-7)  # a word's log share in a list that lacks it (or holds it rarer)
_FOREIGN_MIN_WORDS = 8  # lower-case Latin-script words needed to judge by words
_FOREIGN_MARGIN = 1.0  # mean log-likelihood per word by which another language must win
_UNKNOWN_SHARE = 0.6  # of the words, at least this share unknown to both our lists
_FOREIGN_SCORE_MAX = 0.5  # the share of English or French a foreign text is granted, at most

# Loanwords Canadian French writes exactly as English does: no evidence either way.
_NEUTRAL = frozenset({"ok", "okay", "email", "e-mail", "web", "internet", "wifi", "pdf", "allo"})
# French elided articles, pronouns and conjunctions before an apostrophe; English contractions
# after one.
_ELISIONS = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"})
_CONTRACTIONS = frozenset({"s", "t", "re", "ve", "ll", "d", "m"})
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_LETTER = re.compile(r"[^\W\d_]")
# Letters of any script but Latin (Latin: ASCII to IPA, phonetic and Vietnamese extensions,
# Latin Extended-C and -D, the ﬁ/ﬂ ligatures OCR produces, full-width Latin).
_NON_LATIN = re.compile(
    r"[^\W\d_\u0000-\u02ff\u1d00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\ufb00-\ufb06"
    r"\uff21-\uff3a\uff41-\uff5a]"
)
_FRENCH_TYPOGRAPHY = re.compile(r"[«»]|[ \u00a0\u202f][:;?!](?=\s|$)")
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_ACCEPT_ITEM = re.compile(
    r"^\s*(?P<tag>[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)"
    r"(?:\s*;\s*q\s*=\s*(?P<q>0(?:\.\d{0,3})?|1(?:\.0{0,3})?))?\s*$"
)
_REGION = re.compile(r"^[A-Za-z]{2}(?:-[A-Za-z0-9]{1,3})?$")
_DOMAIN = re.compile(r"^(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}\.?$")
_FRENCH_TLDS = {"fr", "quebec", "re", "gp", "mq", "gf", "yt", "pm", "nc", "pf", "wf", "mc", "bl"}
_ENGLISH_TLDS = {"uk", "us", "au", "nz", "ie"}
_FRENCH_COUNTRIES = _FRENCH_TLDS - {"quebec"} | {"mf", "tf"}
_ENGLISH_COUNTRIES = {"us", "gb", "au", "nz", "ie"}
_BILINGUAL_PROVINCES = {"nb"}


class InvalidHintError(ValueError):
    """A hint is malformed; `field` names it and `reason` says what was expected."""

    def __init__(self, field_name: str, value: str, reason: str) -> None:
        super().__init__(f"hints.{field_name}={value!r}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Hints:
    """What is known about the contact besides the text; every field is optional."""

    content_language: str | None = None
    accept_language: str | None = None
    contact_language: str | None = None
    line_language: str | None = None
    phone_region: str | None = None
    sender_domain: str | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None and not isinstance(value, str):
                raise InvalidHintError(item.name, repr(value), "expected a string or None")
        for name in ("content_language", "contact_language", "line_language"):
            value = getattr(self, name)
            if value is not None and not _TAG.match(value):
                raise InvalidHintError(name, value, "expected a language tag such as 'fr-CA'")
        if self.accept_language is not None and not all(
            _ACCEPT_ITEM.match(item) for item in self.accept_language.split(",")
        ):
            raise InvalidHintError(
                "accept_language", self.accept_language, "expected e.g. 'fr-CA,fr;q=0.9,en;q=0.8'"
            )
        if self.phone_region is not None and not _REGION.match(self.phone_region):
            raise InvalidHintError(
                "phone_region", self.phone_region, "expected a region code such as 'CA-QC' or 'FR'"
            )
        if self.sender_domain is not None and not _DOMAIN.match(
            self.sender_domain.rpartition("@")[2]
        ):
            raise InvalidHintError(
                "sender_domain", self.sender_domain, "expected a domain such as 'exemple.fr'"
            )


@dataclass(frozen=True, slots=True)
class Detection:
    """The detected language ("en", "fr" or "und"), how sure, and which signals decided."""

    language: Language
    confidence: float
    evidence: list[str]
    scores: dict[str, float]
    removed: list[str] = field(default_factory=list)


def _tag_language(tag: str) -> str | None:
    primary = tag.replace("_", "-").split("-")[0].lower()
    return primary if primary in ("en", "fr") else None


def _accept_language(header: str) -> str | None:
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")):
        match = _ACCEPT_ITEM.match(item)
        language = _tag_language(match["tag"]) if match else None
        if match is None or language is None:
            continue
        weight = float(match["q"]) if match["q"] else 1.0
        if weight > 0 and (best is None or (weight, -position) > (best[0], best[1])):
            best = (weight, -position, language)
    return best[2] if best else None


def _domain_language(value: str) -> str | None:
    domain = value.rpartition("@")[2].rstrip(".").lower()
    if domain.endswith(".qc.ca"):
        return "fr"
    tld = domain.rpartition(".")[2]
    if tld in _FRENCH_TLDS:
        return "fr"
    return "en" if tld in _ENGLISH_TLDS else None


def _region_language(value: str) -> str | None:
    country, _, subdivision = value.lower().partition("-")
    if country == "ca":
        if subdivision == "qc":
            return "fr"
        return "en" if subdivision and subdivision not in _BILINGUAL_PROVINCES else None
    if country in _FRENCH_COUNTRIES:
        return "fr"
    return "en" if country in _ENGLISH_COUNTRIES else None


def hint_language(hints: Hints, name: str) -> str | None:
    """Return "en" or "fr" for one hint field, or None when it names neither language."""
    value: str | None = getattr(hints, name)
    if value is None:
        return None
    if name == "accept_language":
        return _accept_language(value)
    if name == "sender_domain":
        return _domain_language(value)
    if name == "phone_region":
        return _region_language(value)
    return _tag_language(value)


def _first_hint(hints: Hints) -> tuple[str, float] | None:
    """Return the first usable hint in HINT_ORDER and its signed log-odds (English > 0)."""
    for name in HINT_ORDER:
        language = hint_language(hints, name)
        if language is not None:
            return name, HINT_WEIGHTS[name] if language == "en" else -HINT_WEIGHTS[name]
    return None


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


@cache
def _char_model() -> dict[str, float]:
    """Return the log-odds of English over French for each character n-gram, case-folded."""
    profiles = Path(langdetect.__file__).parent / "profiles"
    counts: list[dict[str, float]] = []
    for language in ("en", "fr"):
        profile = json.loads((profiles / language).read_text(encoding="utf-8"))
        totals = profile["n_words"]
        folded: dict[str, float] = {}
        for gram, count in profile["freq"].items():
            if 1 <= len(gram) <= 3:
                key = gram.lower()
                folded[key] = folded.get(key, 0.0) + count / totals[len(gram) - 1]
        counts.append(folded)
    english, french = counts
    return {
        gram: math.log(
            (english.get(gram, 0.0) + _CHAR_SMOOTHING) / (french.get(gram, 0.0) + _CHAR_SMOOTHING)
        )
        for gram in english.keys() | french.keys()
    }


def _word_llr(english: float, french: float) -> float:
    value = math.log((english + _WORD_SMOOTHING) / (french + _WORD_SMOOTHING))
    return max(-_WORD_CAP, min(_WORD_CAP, value))


@cache
def _frequencies() -> tuple[WordFrequency, WordFrequency]:
    """Return pyspellchecker's English and French word frequencies."""
    english = SpellChecker(language="en", distance=1).word_frequency
    french = SpellChecker(language="fr", distance=1).word_frequency
    return english, french


@cache
def _adjectives() -> frozenset[str]:
    """Return the words an adverb is derived from in either list: likely adjectives.

    English "-ly" (incorrect → incorrectly, accessible → accessibly, basic → basically,
    easy → easily) and French "-ment" (rapide → rapidement, incorrect → incorrectement,
    courant → couramment, récent → récemment); rare adverbs are ignored as noise.
    """
    english, french = _frequencies()
    found: set[str] = set()
    for adverb, count in english.dictionary.items():
        if count < _ADVERB_MIN or not adverb.endswith("ly"):
            continue
        found.add(adverb[:-2])
        found.add(adverb[:-1] + "e")  # accessibly → accessible (…le → …ly)
        if adverb.endswith("ally"):
            found.add(adverb[:-4])  # basically → basic
        if adverb.endswith("ily"):
            found.add(adverb[:-3] + "y")  # easily → easy
    for adverb, count in french.dictionary.items():
        if count < _ADVERB_MIN or not adverb.endswith("ment"):
            continue
        found.add(adverb[:-4])  # rapidement → rapide
        if adverb.endswith("ement"):
            found.add(adverb[:-5])  # incorrectement → incorrect
        if adverb.endswith(("amment", "emment")):
            found.add(adverb[:-6] + adverb[-6] + "nt")  # couramment → courant
    return frozenset(word for word in found if len(word) > 1)


@cache
def _accentless_french() -> dict[str, int]:
    """Return the French list's accented words spelt without accents, with summed counts."""
    accentless: dict[str, int] = {}
    for word, count in _frequencies()[1].dictionary.items():
        if not word.isascii():
            plain = _strip_accents(word)
            accentless[plain] = accentless.get(plain, 0) + count
    return accentless


@cache
def _word_model() -> dict[str, float]:
    """Return the log-odds of English over French for each known word, lower-case."""
    english, french = _frequencies()
    en_counts, fr_counts = english.dictionary, french.dictionary
    en_total, fr_total = english.total_words, french.total_words
    model: dict[str, float] = {}
    for word in en_counts.keys() | fr_counts.keys():
        if len(word) == 1 and word.isascii():
            continue  # single letters are initials, variables and elisions, not evidence
        en_share, fr_share = en_counts.get(word, 0) / en_total, fr_counts.get(word, 0) / fr_total
        model[word] = _word_llr(en_share, fr_share)
    for plain, count in _accentless_french().items():
        if plain not in model and len(plain) > 1:
            model[plain] = _ACCENTLESS_WEIGHT * _word_llr(0.0, count / fr_total)
    return model


@cache
def _other_languages() -> dict[str, tuple[float, ...]]:
    """Return the log shares, in each of _OTHER_LANGUAGES' lists, of those lists' top words."""
    tables: list[dict[str, float]] = []
    for language in _OTHER_LANGUAGES:
        frequency = SpellChecker(language=language, distance=1).word_frequency
        counts, total = frequency.dictionary, frequency.total_words
        # Words tied at the cut are left out: the German list gives its 320 000 rarest words
        # one same count.
        ranked = sorted(counts.values(), reverse=True)
        cut = ranked[_OTHER_WORDS] if len(ranked) > _OTHER_WORDS else 0
        tables.append(
            {word: _log_share(count, total) for word, count in counts.items() if count > cut}
        )
    absent = (_ABSENT,) * len(tables)
    model: dict[str, tuple[float, ...]] = {}
    for index, table in enumerate(tables):
        for word, share in table.items():
            row = model.get(word, absent)
            model[word] = (*row[:index], share, *row[index + 1 :])
    return model


_token_cache: dict[str, float] = {}


def _lookup(words: dict[str, float], word: str) -> float | None:
    """Return a word's log-odds; the lists spell "nœud" and "cœur" without the ligature."""
    return words.get(word.replace("œ", "oe").replace("æ", "ae"))


def _token_score(token: str) -> float:
    score = _token_cache.get(token)
    if score is not None:
        return score
    if token in _NEUTRAL:
        return 0.0
    chars = _char_model()
    words = _word_model()
    plain = token.replace("’", "'")
    parts = plain.split("'")
    char_sum = 0.0
    for part in parts:
        padded = f" {part} "
        for size in (1, 2, 3):
            for start in range(len(padded) - size + 1):
                char_sum += chars.get(padded[start : start + size], 0.0)
    word_sum = _lookup(words, plain)
    clitic = 0.0
    if len(parts) > 1:
        if parts[0] in _ELISIONS:
            clitic = -_CLITIC_WEIGHT  # l'heure, d'accord, qu'il, jusqu'à
        elif parts[-1] in _CONTRACTIONS:
            clitic = _CLITIC_WEIGHT  # don't, it's, we're, I've, you'll
        if word_sum is None:
            found = [0.0 if part in _NEUTRAL else _lookup(words, part) for part in parts]
            if any(part is not None for part in found):
                word_sum = sum(part or 0.0 for part in found)
    if word_sum is None:
        score = _UNKNOWN_CHAR_WEIGHT * char_sum + clitic
    else:
        score = _CHAR_WEIGHT * char_sum + word_sum + clitic
    if len(_token_cache) >= _CACHE_LIMIT:
        _token_cache.clear()
    _token_cache[token] = score
    return score


_vector_cache: dict[str, tuple[float, ...]] = {}


def _log_share(count: int, total: int) -> float:
    return max(_ABSENT, math.log(count / total)) if count else _ABSENT


def _word_vector(word: str) -> tuple[float, ...]:
    """Return a lower-case word's log shares in the English, French and other languages' lists,
    then 1.0 when neither the English nor the French list knows it, else 0.0.

    A word with an apostrophe that no list holds whole (l'ordine, dell'ordine, l'heure) gets
    the mean of its parts'.
    """
    vector = _vector_cache.get(word)
    if vector is not None:
        return vector
    english, french = _frequencies()
    plain = word.replace("’", "'").replace("œ", "oe").replace("æ", "ae")
    others = _other_languages().get(plain)
    en_count = english.dictionary.get(plain, 0)
    fr_count = french.dictionary.get(plain, 0) or _accentless_french().get(plain, 0)
    parts = [part for part in plain.split("'") if part]
    if others is None and not en_count and not fr_count and len(parts) > 1:
        vectors = [_word_vector(part) for part in parts]
        vector = tuple(sum(column) / len(parts) for column in zip(*vectors, strict=True))
        vector = (*vector[:-1], float(all(item[-1] for item in vectors)))
    else:
        vector = (
            _log_share(en_count, english.total_words),
            _log_share(fr_count, french.total_words),
            *(others or (_ABSENT,) * len(_OTHER_LANGUAGES)),
            float(not en_count and not fr_count and plain not in _NEUTRAL),
        )
    if len(_vector_cache) >= _CACHE_LIMIT:
        _vector_cache.clear()
    _vector_cache[word] = vector
    return vector


def _foreign(text: str, tokens: list[str]) -> tuple[str, float] | None:
    """Return why a cleaned text is clearly in neither English nor French, and the share of it
    that still looks English or French; None when it may be either."""
    if not text.isascii():
        non_latin = len(_NON_LATIN.findall(text))
        if non_latin >= _NON_LATIN_MIN:
            letters = len(_LETTER.findall(text))
            if non_latin >= _NON_LATIN_SHARE * letters:
                return "text:non_latin_script", 1.0 - non_latin / letters
    if len(tokens) < _FOREIGN_MIN_WORDS:
        return None
    # Capitalised words after the first are names, brands and products (or German nouns).
    words = [
        token.lower()
        for index, token in enumerate(tokens)
        if len(token) > 1
        and (index == 0 or not token[0].isupper() or token.isupper())
        and (max(token) <= "\u02ff" or not _NON_LATIN.search(token))
    ]
    if len(words) < _FOREIGN_MIN_WORDS:
        return None
    vectors = [_vector_cache.get(word) or _word_vector(word) for word in words]
    sums = list(map(sum, zip(*vectors, strict=True)))
    margin = (max(sums[2:-1]) - max(sums[0], sums[1])) / len(words)
    if margin >= _FOREIGN_MARGIN:
        reason = "text:other_language_words"
    elif sums[-1] >= _UNKNOWN_SHARE * len(words):
        reason = "text:unknown_words"
    else:
        return None
    ours = sum(1 for vector in vectors if not vector[-1] and max(vector[:2]) >= max(vector[2:-1]))
    return reason, ours / len(words)


def _title_case(tokens: list[str]) -> bool:
    """Return whether every word of a several-word text is capitalised, as English headings are."""
    later = [token for token in tokens[1:] if len(token) > 1]
    return bool(later) and all(
        token[0].isupper() and token[1:].islower() for token in [tokens[0], *later]
    )


def _word_order(tokens: list[str]) -> int:
    """Return 1 for "adjective noun" (English order), -1 for "noun adjective" (French), else 0."""
    if len(tokens) != 2 or min(len(token) for token in tokens) < 2:
        return 0
    adjectives = _adjectives()
    first, second = (token.lower() in adjectives for token in tokens)
    return int(first) - int(second)


@cache
def _lingua() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(LinguaLanguage.ENGLISH, LinguaLanguage.FRENCH)
        .with_preloaded_language_models()
        .build()
    )


def _lingua_log_odds(text: str) -> float:
    """Return lingua's log-odds of English over French, bounded, or 0 when it has no answer.

    lingua sums its n-gram probabilities in hash-map order, which varies between runs in the
    last bits of the result: rounding to six decimals makes ours identical everywhere.
    """
    values = _lingua().compute_language_confidence_values(text)
    english = next(
        (round(float(item.value), 6) for item in values if item.language == LinguaLanguage.ENGLISH),
        None,
    )
    if english is None:
        return 0.0
    english = min(max(english, _LINGUA_BOUND), 1.0 - _LINGUA_BOUND)
    return math.log(english / (1.0 - english))


def text_log_odds(text: str) -> tuple[float, int]:
    """Return the calibrated log-odds of English over French of a cleaned text, and its words."""
    return _text_log_odds(text, _WORD.findall(text)[:_MAX_WORDS])


def _text_log_odds(text: str, tokens: list[str]) -> tuple[float, int]:
    total = sum(_token_score(token.lower()) for token in tokens)
    total -= _TYPOGRAPHY_WEIGHT * min(2, len(_FRENCH_TYPOGRAPHY.findall(text)))
    if _title_case(tokens):
        total += _TITLE_WEIGHT
    total += _ORDER_WEIGHT * _word_order(tokens)
    odds = _SCALE * total / math.sqrt(max(1, len(tokens)))
    if 0 < len(tokens) <= _LINGUA_MAX_WORDS:
        scored = [token for token in tokens if token.lower() not in _NEUTRAL]
        if scored:
            odds += _LINGUA_WEIGHT * _lingua_log_odds(" ".join(scored))
    return odds, len(tokens)


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, value))))


def warm_up() -> None:
    """Load the models now rather than on the first detection (a few seconds)."""
    _char_model()
    _word_model()
    _adjectives()
    _accentless_french()
    _other_languages()
    _lingua()


def detect(text: str, hints: Hints | None = None) -> Detection:
    """Return the language of the customer's new text; raise TypeError on a non-str text."""
    if hints is not None and not isinstance(hints, Hints):
        raise TypeError(f"hints must be Hints or None, not {type(hints).__name__}")
    cleaned = clean_text(text)
    tokens = _WORD.findall(cleaned.text)[:_MAX_WORDS]
    text_odds, words = _text_log_odds(cleaned.text, tokens)
    signals = [(text_odds, "text")] if words else []
    hinted = _first_hint(hints) if hints is not None else None
    if hinted is not None:
        signals.append((hinted[1], f"hint:{hinted[0]}"))
    total = sum(value for value, _ in signals)
    english = _sigmoid(total)
    foreign = _foreign(cleaned.text, tokens)
    if foreign is not None:
        reason, ours = foreign
        share = min(_FOREIGN_SCORE_MAX, ours)
        scores = {"en": english * share, "fr": (1.0 - english) * share}
        return Detection("und", max(scores.values()), [reason], scores, cleaned.removed)
    scores = {"en": english, "fr": 1.0 - english}
    confidence = max(english, 1.0 - english)
    if hinted is None and confidence < UND_BELOW:
        return Detection("und", confidence, [], scores, cleaned.removed)
    if total == 0.0 and hinted is not None:
        total = hinted[1]  # the text cancels the hint exactly: the hint breaks the tie
    language: Language = "en" if total > 0 else "fr"
    sign = 1.0 if language == "en" else -1.0
    agreeing = sorted((sign * value, name) for value, name in signals if sign * value > 0)
    evidence = [name for _, name in reversed(agreeing)]
    return Detection(language, scores[language], evidence, scores, cleaned.removed)


def detect_many(texts: Iterable[str], hints: Hints | None = None) -> list[Detection]:
    """Return one detection per text, in order, with the same hints for all."""
    return [detect(text, hints) for text in texts]
