"""Finding and creating contacts by identity, safely when several requests race."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.inbox.errors import ContactNotFound
from services.inbox.models import Contact, ContactIdentity
from shared.db import utc_now

IdentityKind = Literal["email", "phone", "fax"]
# Every inbound message looks its sender up: the statement is built once, since building one
# costs more CPU than running it.
_BY_IDENTITY = (
    select(Contact)
    .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
    .where(ContactIdentity.kind == bindparam("kind"), ContactIdentity.value == bindparam("value"))
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
    """A new contact with this identity, unless a concurrent request has just created one:
    then that one. Returns (contact, created)."""
    now = utc_now()
    contact = Contact(id=uuid.uuid4(), display_name=display_name, created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(contact)
            session.add(
                ContactIdentity(
                    id=uuid.uuid4(), contact_id=contact.id, kind=kind, value=value, created_at=now
                )
            )
    except IntegrityError:
        # Another request created this identity first; use its contact.
        winner = await find_by_identity(session, kind=kind, value=value)
        if winner is None:
            raise
        return winner, False
    return contact, True


def note_display_name(contact: Contact, display_name: str | None) -> None:
    """Give a contact known by its identity only the name it was just seen with."""
    if display_name and not contact.display_name:
        contact.display_name = display_name
        contact.updated_at = utc_now()


async def get_contact(session: AsyncSession, contact_id: uuid.UUID) -> Contact:
    """The contact with its identities; raises ContactNotFound."""
    contact = await session.scalar(
        select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.identities))
    )
    if contact is None:
        raise ContactNotFound(contact_id=str(contact_id))
    return contact
