"""inbox: full-text search over subjects, bodies and notes

Revision ID: a1c0de000005
Revises: a1c0de000004
Create Date: 2026-11-22 10:00:00

PostgreSQL: accent-insensitive French and English text search configurations (unaccent, then
Snowball without stop words) and partial GIN expression indexes over messages' subject and text
and notes' body, French for every language but English and English for every language but
French (so ``und`` documents are in both). SQLite: one FTS5 table ``inbox_search`` with the
unaccented words of messages and notes (its ``doc_key`` column holds the row's id, indexed so
triggers find a document without a scan), a vocabulary table over it, and sync triggers.
These objects have no model: migrations/env.py keeps autogenerate from reporting them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a1c0de000005"
down_revision: str | None = "a1c0de000004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def french_fold(expression: str) -> str:
    """SQL dropping one "e" of a word-final "ée"/"ee" (optionally plural), as search.py does."""
    return rf"regexp_replace({expression}, '([éÉeE])[eE]([sS]?)\M', '\1\2', 'g')"


MESSAGE_TEXT = "coalesce(subject, '') || ' ' || coalesce(text, '')"
POSTGRES_INDEXES = [
    # (name, table, configuration, document, language left out)
    (
        "ix_inbox_message_search_fr",
        "inbox_message",
        "inbox_french",
        french_fold(MESSAGE_TEXT),
        "en",
    ),
    ("ix_inbox_message_search_en", "inbox_message", "inbox_english", MESSAGE_TEXT, "fr"),
    ("ix_inbox_note_search_fr", "inbox_note", "inbox_french", french_fold("body"), "en"),
    ("ix_inbox_note_search_en", "inbox_note", "inbox_english", "body", "fr"),
]
WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"
NUMBER_TOKENS = "numword, numhword, hword_numpart"

SQLITE_SOURCES = [
    # (table, subject expression, body column)
    ("inbox_message", "subject", "text"),
    ("inbox_note", "NULL", "body"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, *_ in POSTGRES_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        for language in ("french", "english"):
            op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS inbox_{language}")
            op.execute(f"DROP TEXT SEARCH DICTIONARY IF EXISTS inbox_{language}_stem")
        # The unaccent extension stays: it belongs to the database and may serve others.
    else:
        for table, _, _ in SQLITE_SOURCES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{event}")
        op.execute("DROP TABLE IF EXISTS inbox_search_vocab")
        op.execute("DROP TABLE IF EXISTS inbox_search")


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    for language in ("french", "english"):
        # Our own Snowball dictionary: the stock one drops stop words, which would make a
        # query word such as "l" or "the" match nothing instead of everything holding it.
        op.execute(
            f"CREATE TEXT SEARCH DICTIONARY inbox_{language}_stem "
            f"(TEMPLATE = snowball, LANGUAGE = {language})"
        )
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION inbox_{language} (COPY = {language})")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION inbox_{language} ALTER MAPPING FOR {WORD_TOKENS} "
            f"WITH unaccent, inbox_{language}_stem"
        )
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION inbox_{language} ALTER MAPPING FOR {NUMBER_TOKENS} "
            "WITH unaccent, simple"
        )
    for name, table, config, document, left_out in POSTGRES_INDEXES:
        op.execute(
            f"CREATE INDEX {name} ON {table} "
            f"USING gin (to_tsvector('{config}'::regconfig, {document})) "
            f"WHERE language <> '{left_out}'"
        )


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE inbox_search USING fts5(doc_key, subject, body, "
        "tokenize = 'unicode61 remove_diacritics 2', detail = column)"
    )
    op.execute("CREATE VIRTUAL TABLE inbox_search_vocab USING fts5vocab(inbox_search, 'col')")
    forget = "DELETE FROM inbox_search WHERE inbox_search MATCH 'doc_key : \"' || old.id || '\"';"
    for table, subject, body in SQLITE_SOURCES:
        new_subject = "NULL" if subject == "NULL" else f"new.{subject}"
        remember = (
            "INSERT INTO inbox_search (doc_key, subject, body) "
            f"VALUES (new.id, {new_subject}, new.{body});"
        )
        columns = body if subject == "NULL" else f"{subject}, {body}"
        op.execute(
            f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {remember} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF {columns} ON {table} "
            f"BEGIN {forget} {remember} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {forget} END"
        )
        op.execute(
            f"INSERT INTO inbox_search (doc_key, subject, body) SELECT id, {subject}, {body} "
            f"FROM {table}"
        )
