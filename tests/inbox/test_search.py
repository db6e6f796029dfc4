"""Conversation search: words stemmed in each text's language, accents and case ignored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update

from services import migrate
from services.inbox.conversations.search import search_condition
from services.inbox.models import Contact, Conversation, Message, Note
from shared.auth import Role
from shared.db import create_engine, create_sessionmaker
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running
from tests.support.database import (
    BACKEND,
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)

BEFORE_SEARCH = "a1c0de000004"  # the revision before the search migration

FRENCH_BODY = (
    "Bonjour,\n\nMa facture de novembre est erronée : on me facture deux fois le même "
    "forfait. Pouvez-vous corriger la situation rapidement?\n\nMerci beaucoup,\nMarie"
)
ENGLISH_BODY = (
    "Hello,\n\nI was charged twice for my November plan. Could you please refund the second "
    "payment to my credit card? I live near the office.\n\nThank you,\nJohn"
)
ENGLISH_INVOICE_BODY = (
    "Hello,\n\nThe invoice you sent last week shows the wrong address for our company. "
    "Could you please send a corrected copy?\n\nBest regards,\nSarah"
)


@dataclass
class Inbox:
    """Three conversations: a French invoice, an English double charge, an English invoice."""

    french: uuid.UUID
    english: uuid.UUID
    invoice: uuid.UUID


async def post_email(
    app: Running, token: str, *, sender: str, subject: str, body: str
) -> dict[str, str]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(sender=sender, subject=subject, body=body),
        headers=raw_headers(token),
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, str] = answer.json()
    return receipt


@pytest.fixture
async def inbox(app: Running) -> Inbox:
    token = await app.token(Role.GATEWAY, name="postfix")
    french = await post_email(
        app, token, sender="marie@exemple.ca", subject="Facture erronée", body=FRENCH_BODY
    )
    english = await post_email(
        app, token, sender="john@example.com", subject="Charged twice", body=ENGLISH_BODY
    )
    invoice = await post_email(
        app, token, sender="sarah@example.com", subject="Wrong address", body=ENGLISH_INVOICE_BODY
    )
    # The point of these tests is the language of each text: check detection agreed.
    assert [french["language"], english["language"], invoice["language"]] == ["fr", "en", "en"]
    return Inbox(
        french=uuid.UUID(french["conversation_id"]),
        english=uuid.UUID(english["conversation_id"]),
        invoice=uuid.UUID(invoice["conversation_id"]),
    )


async def search(app: Running, query: str) -> set[uuid.UUID]:
    async with app.context("inbox").require_sessions()() as session:
        condition = await search_condition(session, query)
        return set((await session.scalars(select(Conversation.id).where(condition))).all())


async def add_note(app: Running, conversation_id: uuid.UUID, body: str, language: str) -> uuid.UUID:
    async with app.context("inbox").require_sessions()() as session:
        note = Note(
            conversation_id=conversation_id, author_name="Agent", body=body, language=language
        )
        session.add(note)
        await session.commit()
        return note.id


@pytest.mark.parametrize("query", ["facture", "factures", "facturé", "FACTURE", "Facturées"])
async def test_french_forms_find_the_french_invoice(app: Running, inbox: Inbox, query: str) -> None:
    assert await search(app, query) == {inbox.french}


@pytest.mark.parametrize("query", ["invoice", "invoices", "INVOICED", "invoicing"])
async def test_english_forms_find_the_english_invoice(
    app: Running, inbox: Inbox, query: str
) -> None:
    assert await search(app, query) == {inbox.invoice}


@pytest.mark.parametrize("query", ["erronee", "ERRONÉE", "Erronées", "erroné", "ERRONES"])
async def test_accents_and_case_are_ignored(app: Running, inbox: Inbox, query: str) -> None:
    assert await search(app, query) == {inbox.french}


async def test_a_french_word_does_not_find_an_unrelated_english_conversation(
    app: Running, inbox: Inbox
) -> None:
    assert inbox.english not in await search(app, "facturé")
    assert inbox.french not in await search(app, "charged")
    assert await search(app, "charges") == {inbox.english}


async def test_words_are_stemmed_in_the_language_of_the_text(app: Running, inbox: Inbox) -> None:
    await add_note(app, inbox.french, "Le client parle de ses chevaux.", "fr")
    await add_note(app, inbox.english, "The customer's horses are called Chevaux.", "en")

    # French stems "chevaux" to "cheval"; English leaves both words as they are.
    assert await search(app, "cheval") == {inbox.french}
    assert await search(app, "chevaux") == {inbox.french, inbox.english}


async def test_notes_are_searched(app: Running, inbox: Inbox) -> None:
    await add_note(app, inbox.english, "Remboursement accordé par la superviseure.", "fr")

    assert await search(app, "remboursé") == {inbox.english}
    assert await search(app, "REMBOURSEMENTS superviseure") == {inbox.english}


async def test_an_undetermined_note_is_stemmed_both_ways(app: Running, inbox: Inbox) -> None:
    await add_note(app, inbox.english, "factures / invoices", "und")

    assert await search(app, "facturé") == {inbox.french, inbox.english}
    assert await search(app, "invoice") == {inbox.english, inbox.invoice}


async def test_every_word_must_appear_somewhere_in_the_conversation(
    app: Running, inbox: Inbox
) -> None:
    await add_note(app, inbox.french, "Remboursement à prévoir.", "fr")

    assert await search(app, "facture remboursement") == {inbox.french}
    assert await search(app, "facture licorne") == set()


async def test_an_edited_or_deleted_note_is_searched_as_it_now_is(
    app: Running, inbox: Inbox
) -> None:
    note_id = await add_note(app, inbox.english, "Client mécontent.", "fr")
    async with app.context("inbox").require_sessions()() as session:
        await session.execute(update(Note).where(Note.id == note_id).values(body="Client ravi."))
        await session.commit()

    assert await search(app, "mécontent") == set()
    assert await search(app, "ravi") == {inbox.english}

    async with app.context("inbox").require_sessions()() as session:
        await session.execute(delete(Note).where(Note.id == note_id))
        await session.commit()

    assert await search(app, "ravi") == set()


@pytest.mark.parametrize("query", ['"', "*", ":", "&", "!", '" * : & ! ( ) - ^ +', "’", "", "  "])
async def test_a_query_without_letters_or_digits_finds_nothing(
    app: Running, inbox: Inbox, query: str
) -> None:
    assert await search(app, query) == set()


@pytest.mark.parametrize(
    "query",
    ['"factures"', "factures*", "!facture", "(facture)", "facture:", "-facture", "'facture'"],
)
async def test_search_syntax_around_a_word_is_plain_punctuation(
    app: Running, inbox: Inbox, query: str
) -> None:
    assert await search(app, query) == {inbox.french}


async def test_an_operator_name_is_searched_as_a_word(app: Running, inbox: Inbox) -> None:
    assert await search(app, "NEAR(") == {inbox.english}
    assert await search(app, "NEAR(facture, novembre)") == set()
    assert await search(app, "facture AND novembre") == set()
    assert await search(app, "facture novembre") == {inbox.french}


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    """A database of the backend under test for this test only, with no migration applied."""
    if BACKEND == "postgresql":
        url = await create_postgres_database()
        try:
            yield url
        finally:
            await drop_postgres_database(url)
    else:
        yield sqlite_url(tmp_path)


async def test_texts_stored_before_the_search_migration_are_found(empty_database: str) -> None:
    await asyncio.to_thread(migrate.upgrade, empty_database, BEFORE_SEARCH)
    engine = create_engine(empty_database, pool_size=1)
    try:
        # Written as the release before the search stored them: its columns only (Core
        # inserts name no column added since, whatever the models hold now).
        conversation_id = uuid.uuid4()
        async with engine.begin() as connection:
            contact_id = uuid.uuid4()
            await connection.execute(insert(Contact).values(id=contact_id))
            await connection.execute(
                insert(Conversation).values(
                    id=conversation_id,
                    reference="C-SEARCH01",
                    contact_id=contact_id,
                    channel="email",
                )
            )
            await connection.execute(
                insert(Message).values(
                    id=uuid.uuid4(),
                    conversation_id=conversation_id,
                    dedupe_key="before-search",
                    channel="email",
                    subject="Factures",
                    text="Deux factures erronées.",
                    language="fr",
                )
            )

        await asyncio.to_thread(migrate.upgrade, empty_database)

        async with create_sessionmaker(engine)() as session:
            condition = await search_condition(session, "facture erroné")
            found = (await session.scalars(select(Conversation.id).where(condition))).all()
        assert found == [conversation_id]
    finally:
        await engine.dispose()


async def listed(app: Running, **params: str) -> tuple[int, set[uuid.UUID]]:
    token = await app.token(Role.SUPERVISOR)
    answer = await app.client.get(
        "/inbox/v1/conversations", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    items = answer.json()["items"] if answer.status_code == 200 else []
    return answer.status_code, {uuid.UUID(item["id"]) for item in items}


async def test_the_conversation_list_searches_with_q(app: Running, inbox: Inbox) -> None:
    assert await listed(app, q="FACTURÉES") == (200, {inbox.french})
    assert await listed(app, q="invoices", language="en") == (200, {inbox.invoice})
    assert await listed(app, q="invoices", language="fr") == (200, set())
    assert await listed(app, q='" * : & !') == (200, set())
    assert await listed(app, q='NEAR( " * : & !') == (200, {inbox.english})
    assert await listed(app, q="  ") == (200, {inbox.french, inbox.english, inbox.invoice})


async def test_an_overlong_q_is_refused(app: Running, inbox: Inbox) -> None:
    token = await app.token(Role.SUPERVISOR)
    answer = await app.client.get(
        "/inbox/v1/conversations",
        params={"q": "facture " * 26},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "fr"},
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
