"""Finding and creating contacts by identity, safely when several requests race."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import Integer, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.inbox.errors import ContactMerged, ContactNotFound, IdentityTaken
from services.inbox.ingest.phone import e164_field
from services.inbox.ingest.schemas import is_mailbox_address
from services.inbox.models import Contact, ContactIdentity, Conversation
from services.inbox.workspace.service import Actor, record
from shared.db import utc_now
from shared.errors import FieldError, InvalidInput

IdentityKind = Literal["email", "phone", "fax"]
#: A display name that is only an address: mailers often repeat the address as the name.
_ADDRESS_ONLY = re.compile(r"\S+@\S+")
# Every inbound message looks its sender up: the statement is built once, since building one
# costs more CPU than running it.
_BY_IDENTITY = (
    select(Contact)
    .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
    .where(ContactIdentity.kind == bindparam("kind"), ContactIdentity.value == bindparam("value"))
)
# A new sender's contact in two Core statements: the contact, then its identity unless a
# concurrent request has just claimed it (no savepoint: the insert itself says so).
CONTACT = cast(Table, Contact.__table__)
IDENTITY = cast(Table, ContactIdentity.__table__)
_INSERT_CONTACT = insert(CONTACT)
_CLAIM_IDENTITY = {
    name: dialect_insert(IDENTITY)
    .on_conflict_do_nothing(index_elements=[IDENTITY.c.kind, IDENTITY.c.value])
    .returning(IDENTITY.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_DROP_CONTACT = delete(CONTACT).where(CONTACT.c.id == bindparam("contact"))
_IDENTITY_OWNER = select(IDENTITY.c.contact_id).where(
    IDENTITY.c.kind == bindparam("kind"), IDENTITY.c.value == bindparam("value")
)


async def find_by_identity(
    session: AsyncSession, *, kind: IdentityKind, value: str
) -> Contact | None:
    """The contact holding this identity, or None."""
    return await session.scalar(_BY_IDENTITY, {"kind": kind, "value": value})


async def find_or_create(
    session: AsyncSession,
    *,
    kind: IdentityKind,
    value: str,
    display_name: str | None = None,
) -> tuple[Contact, bool]:
    """The contact with this identity, created if new; returns (contact, created)."""
    existing = await find_by_identity(session, kind=kind, value=value)
    if existing is not None:
        note_display_name(existing, display_name)
        return existing, False
    return await create(session, kind=kind, value=value, display_name=display_name)


async def create(
    session: AsyncSession,
    *,
    kind: IdentityKind,
    value: str,
    display_name: str | None = None,
) -> tuple[Contact, bool]:
    """``insert_new``, returning the contact itself: (contact, created)."""
    contact_id, created = await insert_new(
        session, kind=kind, value=value, display_name=display_name, language=None
    )
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise RuntimeError("a contact just written or claimed is missing")
    return contact, created


async def insert_new(
    session: AsyncSession,
    *,
    kind: IdentityKind,
    value: str,
    display_name: str | None,
    language: str | None,
) -> tuple[uuid.UUID, bool]:
    """A new contact with this identity, unless a concurrent request has just claimed the
    identity: then that request's contact. Returns (contact id, created)."""
    now = utc_now()
    contact_id = uuid.uuid4()
    await session.execute(
        _INSERT_CONTACT,
        {
            "id": contact_id,
            "display_name": person_name(display_name),
            "language": language,
            "created_at": now,
            "updated_at": now,
        },
    )
    claim = _CLAIM_IDENTITY[session.get_bind().dialect.name]
    identity = {"id": uuid.uuid4(), "contact_id": contact_id, "kind": kind, "value": value}
    if (await session.execute(claim, {**identity, "created_at": now})).first() is not None:
        return contact_id, True
    await session.execute(_DROP_CONTACT, {"contact": contact_id})
    owner = await session.scalar(_IDENTITY_OWNER, {"kind": kind, "value": value})
    if owner is None:
        raise RuntimeError("identity conflict without a stored identity")
    return owner, False


def note_display_name(contact: Contact, display_name: str | None) -> None:
    """Give a contact known by its identity only (or by an address as its name) the name it
    was just seen with."""
    name = person_name(display_name)
    if name and person_name(contact.display_name) is None:
        contact.display_name = name
        contact.updated_at = utc_now()


def person_name(display_name: str | None) -> str | None:
    """``display_name`` as a person's name, or None when it is empty or only an address."""
    name = (display_name or "").strip()
    return None if not name or _ADDRESS_ONLY.fullmatch(name) else name


async def get_contact(session: AsyncSession, contact_id: uuid.UUID) -> Contact:
    """The contact with its identities; raises ContactNotFound."""
    contact = await session.scalar(
        select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.identities))
    )
    if contact is None:
        raise ContactNotFound(contact_id=str(contact_id))
    return contact


REASON_EMAIL = "Must be an email address."
REASON_SAME_CONTACT = "Must be another contact than the one it is merged into."
# PostgreSQL: one sender's emails take turns (SQLite's writers already do), so that an email
# finds the conversation another opened a moment before: a customer's emails sent in a burst,
# or the copies of one email, thread into one conversation; a merge takes the same turns for
# the addresses it moves. A transaction lock, in a class of its own, on a 32-bit hash of the
# sender's address: a rare collision only makes two senders' emails wait for each other.
_SENDERS_CLASS = 0x1B0C
_SENDERS_TURN = select(func.pg_advisory_xact_lock(_SENDERS_CLASS, bindparam("key", type_=Integer)))


async def take_senders_turns(session: AsyncSession, addresses: Iterable[str]) -> None:
    """Wait, on PostgreSQL, until no other transaction handles an email from these addresses
    (in a fixed order, so that two callers never wait for each other), until this one ends."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({_sender_key(address) for address in addresses}):
        await session.execute(_SENDERS_TURN, {"key": key})


def _sender_key(address: str) -> int:
    """The lock key of a sender's emails: their address, any case."""
    digest = hashlib.sha256(address.lower().encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def normalize_identity(kind: IdentityKind, value: str, default_region: str) -> str:
    """``value`` as ingest stores it: an email address lower-cased, a number in E.164;
    InvalidInput naming ``value`` when it is neither."""
    if kind == "email":
        address = value.strip().lower()
        if len(address) > 320 or not is_mailbox_address(address):
            raise InvalidInput(
                errors=[FieldError(field="value", code="email_address", reason=REASON_EMAIL)]
            )
        return address
    return e164_field(value, "value", default_region)


async def _lock_contacts(
    session: AsyncSession, contact_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    """The contacts locked for this transaction, in the order of their ids (so two requests
    locking the same two never wait for each other), read afresh; ContactNotFound for one
    that does not exist."""
    found = {
        contact.id: contact
        for contact in await session.scalars(
            select(Contact)
            .where(Contact.id.in_(contact_ids))
            .order_by(Contact.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for contact_id in contact_ids:
        if contact_id not in found:
            raise ContactNotFound(contact_id=str(contact_id))
    return found


def _refuse_merged(contact: Contact) -> None:
    if contact.merged_into_id is not None:
        raise ContactMerged(contact_id=str(contact.id), merged_into_id=str(contact.merged_into_id))


async def add_identity(
    session: AsyncSession, contact_id: uuid.UUID, *, kind: IdentityKind, value: str
) -> tuple[Contact, bool]:
    """Give the contact this (normalized) identity; returns (contact, added). IdentityTaken
    when another contact holds it, ContactMerged for a merged contact."""
    contact = (await _lock_contacts(session, [contact_id]))[contact_id]
    _refuse_merged(contact)
    claim = _CLAIM_IDENTITY[session.get_bind().dialect.name]
    now = utc_now()
    identity = {"id": uuid.uuid4(), "contact_id": contact_id, "kind": kind, "value": value}
    added = (await session.execute(claim, {**identity, "created_at": now})).first() is not None
    if not added:
        owner = await session.scalar(_IDENTITY_OWNER, {"kind": kind, "value": value})
        if owner != contact_id:
            error = IdentityTaken(value=value, other_contact_id=str(owner))
            error.extensions["contact_id"] = str(owner)
            raise error
    else:
        contact.updated_at = now
    await session.flush()
    return await get_contact(session, contact_id), added


async def merge(
    session: AsyncSession,
    contact_id: uuid.UUID,
    other_id: uuid.UUID,
    *,
    actor: Actor,
    now: datetime,
) -> Contact:
    """Move the other contact's identities and conversations to this one, record it on each
    conversation moved, and mark the other merged into this one."""
    if other_id == contact_id:
        raise InvalidInput(
            errors=[FieldError(field="contact_id", code="same_contact", reason=REASON_SAME_CONTACT)]
        )
    if session.get_bind().dialect.name == "postgresql":
        # An email from one of the other's addresses reads who holds it, then writes under that
        # contact: it takes its sender's turn first (ingest), so take each moved address's turn
        # before the rows, in one order. It then either comes before the merge (its conversation
        # is moved) or after (it finds this contact). SQLite's writers already take turns.
        addresses = await session.scalars(
            select(ContactIdentity.value).where(
                ContactIdentity.contact_id == other_id, ContactIdentity.kind == "email"
            )
        )
        await take_senders_turns(session, addresses)
    contacts = await _lock_contacts(session, [contact_id, other_id])
    kept, other = contacts[contact_id], contacts[other_id]
    _refuse_merged(kept)
    _refuse_merged(other)
    await session.execute(
        update(ContactIdentity)
        .where(ContactIdentity.contact_id == other_id)
        .values(contact_id=contact_id)
    )
    moved = await session.scalars(
        select(Conversation)
        .where(Conversation.contact_id == other_id)
        .order_by(Conversation.created_at, Conversation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for conversation in moved:
        conversation.contact_id = contact_id
        record(
            session,
            conversation,
            actor,
            "contact_merged",
            {"from_contact_id": str(other_id), "to_contact_id": str(contact_id)},
            now=now,
        )
    if person_name(kept.display_name) is None and person_name(other.display_name):
        kept.display_name = other.display_name
    if kept.language is None and other.language:
        kept.language = other.language
    kept.updated_at = other.updated_at = now
    other.merged_into_id = contact_id
    await session.flush()
    return await get_contact(session, contact_id)
