"""Language-aware full-text search over messages (subject and text) and notes, per conversation.

A query is split on whitespace into terms; a conversation matches when each term is found in
one of its messages or notes (a term with several words, such as ``l'argent``, in one of them).
Each text is compared in its own language: French texts through the French Snowball stemmer,
English ones through the English one, undetermined ones (``und``) through both. The query is
stemmed the same way as the text it is compared with, so a word typed exactly as written always
matches, whatever the languages (no extra ``simple`` index is needed for that). Both sides are
unaccented and lower-cased before stemming, so ``factures``, ``facturé`` and ``FACTURE`` find
``facture``, typed with or without accents. No stop words are dropped, and search operators
typed into the query (``"``, ``*``, ``NEAR(``, ``:``, ``&``, ``!``) are plain punctuation: a
query without any letter or digit matches nothing.

Snowball's French rules recognise the participle endings ``-ée``/``-ées`` only with their
accent; unaccented (``-ee``), ``erronée`` would stem apart from ``erroné``. Before French
stemming, a word-final ``ée``/``ee`` (plural too) therefore loses one ``e``, by the same rule in
SQL (``regexp_replace``) and here (``french_fold``), typed with or without the accent.

PostgreSQL: the search migration creates the configurations ``inbox_french`` and
``inbox_english`` (unaccent, then Snowball) and partial GIN indexes on the expressions built
below; they must stay identical, constants inline, or the planner cannot use the indexes.

SQLite: the FTS5 table ``inbox_search`` holds the unaccented, lower-cased words of every message
and note (triggers keep it in sync). FTS5 has no French stemmer, so each query word is
stemmed here and expanded to the indexed words with the same stem, read from the vocabulary
table ``inbox_search_vocab``; FTS5 is then asked for any of those exact words.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import snowballstemmer
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    String,
    and_,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy import bindparam as bind
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.models import Conversation, Message, Note

#: Terms beyond this many are ignored (each costs one index lookup per table).
MAX_TERMS = 16
#: Indexed words read per query word when expanding it on SQLite (bounds a very short stem).
MAX_CANDIDATES = 20_000
#: The database objects the search migration creates outside the models (autogenerate skips them).
UNMODELLED_OBJECTS = frozenset(
    [f"inbox_search{part}" for part in ("", "_data", "_idx", "_content", "_docsize", "_config")]
    + ["inbox_search_vocab"]
    + [f"ix_inbox_{table}_search_{code}" for table in ("message", "note") for code in ("fr", "en")]
)

_LANGUAGES = ("fr", "en")
_OTHER = {"fr": "en", "en": "fr"}
_PG_CONFIG = {"fr": "inbox_french", "en": "inbox_english"}
_SNOWBALL = {"fr": "french", "en": "english"}
_PG_FRENCH_FOLD = (r"'([éÉeE])[eE]([sS]?)\M'", r"'\1\2'", "'g'")
_FRENCH_FOLD = re.compile(r"ee(s?)$")
_SEARCHABLE = re.compile(r"[^\W_]")
_WORD = re.compile(r"[^\W_]+")

_fts = sql_table("inbox_search", sql_column("doc_key"))
_VOCABULARY = text(
    "SELECT DISTINCT term FROM inbox_search_vocab "
    "WHERE term >= :low AND term < :high AND col IN ('subject', 'body') LIMIT :cap"
)


def search_terms(query: str) -> list[str]:
    """The query's distinct whitespace-separated terms that hold a letter or digit."""
    terms = [term for term in query.split() if _SEARCHABLE.search(term)]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


async def search_condition(session: AsyncSession, query: str) -> ColumnElement[bool]:
    """A where-clause on Conversation: every term of the query is in its messages or notes."""
    terms = search_terms(query)
    if not terms:
        return false()
    if session.get_bind().dialect.name == "postgresql":
        return and_(*(_postgres_term(term) for term in terms))
    return and_(*[await _sqlite_term(session, term) for term in terms])


def french_fold(word: str) -> str:
    """An unaccented lower-case word without the second ``e`` of a final ``ee``/``ees``."""
    return _FRENCH_FOLD.sub(r"e\1", word)


def _pg_french_fold(expression: SQLColumnExpression[str]) -> SQLColumnExpression[str]:
    return func.regexp_replace(expression, *(literal_column(part) for part in _PG_FRENCH_FOLD))


def _postgres_term(term: str) -> ColumnElement[bool]:
    message_text = (
        func.coalesce(Message.subject, literal_column("''"))
        + literal_column("' '")
        + func.coalesce(Message.text, literal_column("''"))
    )
    in_messages = select(Message.conversation_id).where(
        _postgres_matches(Message.language, message_text, term)
    )
    in_notes = select(Note.conversation_id).where(_postgres_matches(Note.language, Note.body, term))
    return Conversation.id.in_(in_messages.union_all(in_notes))


def _postgres_matches(
    language: SQLColumnExpression[str], document: SQLColumnExpression[str], term: str
) -> ColumnElement[bool]:
    clauses = []
    for code in _LANGUAGES:
        regconfig: ColumnElement[Any] = literal_column(f"'{_PG_CONFIG[code]}'::regconfig")
        text_: SQLColumnExpression[str] = document
        words: SQLColumnExpression[str] = bind(None, term, type_=String)
        if code == "fr":
            text_, words = _pg_french_fold(text_), _pg_french_fold(words)
        query = func.plainto_tsquery(regconfig, words)
        clauses.append(
            and_(
                # The index's predicate, inline so that a generic plan still proves it holds.
                language != literal_column(f"'{_OTHER[code]}'"),
                func.to_tsvector(regconfig, text_).bool_op("@@")(query),
            )
        )
    return or_(*clauses)


def normalized_words(term: str) -> list[str]:
    """The term's words as FTS5's ``unicode61 remove_diacritics 2`` tokenizer indexes them."""
    decomposed = unicodedata.normalize("NFD", term)
    bare = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return _WORD.findall(bare.lower())


@functools.lru_cache(maxsize=65_536)
def stem(language: str, word: str) -> str:
    """The Snowball stem of an unaccented lower-case word in ``fr`` or ``en``."""
    return str(_stemmer(language)(french_fold(word) if language == "fr" else word))


@functools.cache
def _stemmer(language: str) -> Callable[[str], object]:
    method: Callable[[str], object] = snowballstemmer.stemmer(_SNOWBALL[language]).stemWord
    return method


def candidate_prefix(word: str, stems: list[str]) -> str:
    """A prefix shared by every word whose stem is one of ``stems`` (Snowball edits the end)."""
    shared = 0
    for letters in zip(word, *stems, strict=False):
        if len(set(letters)) > 1:
            break
        shared += 1
    common = word[: max(shared, 1)]
    # Stemmers rewrite up to the last two letters of a stem (chevaux/cheval, publique/publication).
    return common[: max(len(common) - 2, min(len(common), 3))]


async def _sqlite_term(session: AsyncSession, term: str) -> ColumnElement[bool]:
    forms: dict[str, list[list[str]]] = {code: [] for code in _LANGUAGES}
    for word in normalized_words(term):
        stems = {code: stem(code, word) for code in _LANGUAGES}
        indexed = await _indexed_words(session, candidate_prefix(word, list(stems.values())))
        for code in _LANGUAGES:
            forms[code].append(sorted(w for w in indexed if stem(code, w) == stems[code]))
    queries = {code: _fts_query(forms[code]) for code in _LANGUAGES}
    documents: list[Select[Any]] = []
    if queries["fr"] is not None and queries["fr"] == queries["en"]:
        documents.extend(_sqlite_documents(queries["fr"], language_not=None))
    else:
        for code in _LANGUAGES:
            query = queries[code]
            if query is not None:
                documents.extend(_sqlite_documents(query, language_not=_OTHER[code]))
    if not documents:
        return false()
    first, *rest = documents
    return Conversation.id.in_(first.union_all(*rest))


async def _indexed_words(session: AsyncSession, prefix: str) -> list[str]:
    high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = await session.scalars(_VOCABULARY, {"low": prefix, "high": high, "cap": MAX_CANDIDATES})
    return [str(row) for row in rows]


def _fts_query(forms: list[list[str]]) -> str | None:
    if not forms or not all(forms):
        return None
    groups = " AND ".join(
        "(" + " OR ".join('"' + word.replace('"', '""') + '"' for word in words) + ")"
        for words in forms
    )
    # The doc_key column holds ids: only the text columns are searched.
    return "{subject body} : (" + groups + ")"


def _sqlite_documents(query: str, *, language_not: str | None) -> list[Select[Any]]:
    matches = literal_column("inbox_search").bool_op("MATCH")(bind(None, query))
    message = select(Message.conversation_id).join(_fts, Message.id == _fts.c.doc_key)
    note = select(Note.conversation_id).join(_fts, Note.id == _fts.c.doc_key)
    if language_not is not None:
        message = message.where(Message.language != language_not)
        note = note.where(Note.language != language_not)
    return [message.where(matches), note.where(matches)]
