"""Finding and creating contacts by identity, safely when several requests race."""

from __future__ import annotations

import re
import uuid
from typing import Literal, cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.inbox.errors import ContactNotFound
from services.inbox.models import Contact, ContactIdentity
from shared.db import utc_now

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
