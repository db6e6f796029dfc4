"""HTTP endpoints for reading contacts, adding identities to one and merging two."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.inbox.contacts import service
from services.inbox.contacts.schemas import ContactMerge, ContactRead, IdentityAdd
from services.inbox.deps import (
    ReaderDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    SupervisorDep,
    VisibilityDep,
)
from services.inbox.workspace.service import Actor
from shared.db import utc_now
from shared.schemas import problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["contacts"])


@router.get(
    "/contacts/{contact_id}",
    summary="Read a contact with its identities",
    description="An agent reads the contact of a conversation it may read (one assigned to "
    "it, or waiting in a queue it serves); any other contact is 404, as if it did not exist. "
    "While routing cannot say which queues the agent serves, a contact it could see only "
    "through a conversation waiting in a queue is 503. "
    "Supervisors, admins and services read every contact. A contact merged into another "
    "reads 200 with no identity and `merged_into_id` naming the contact to read instead.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def read_contact(
    contact_id: UUID, session: ReadSessionDep, principal: ReaderDep, visibility: VisibilityDep
) -> ContactRead:
    contact = await service.get_contact(session, contact_id)
    await visibility.ensure_sees_contact(principal, session, contact_id)
    return ContactRead.model_validate(contact)


@router.post(
    "/contacts/{contact_id}/identities",
    status_code=201,
    summary="Add an email address, phone or fax number to a contact",
    description="Supervisors and admins link a customer's other address or number, so that "
    "what arrives from it joins the contact's conversations (agents: 403, since whoever "
    "writes from the address then sees the customer's history). The value is stored as "
    "ingest stores it: an address lower-cased, a number in E.164 (the default region for a "
    "national number). 201 with the contact; 200 and no change when the contact already has "
    "it. 409 `contact.identity_taken` when another contact holds it, naming that contact "
    "(`contact_id`) to merge; 409 `contact.merged` for a merged contact; 422 naming `value` "
    "when it is no email address or phone number. A refusal changes nothing.",
    responses={
        200: {"description": "The contact already had it; nothing changed.", "model": ContactRead},
        **problem_responses(401, 403, 404, 409, 422, 503),
    },
)
async def add_identity(
    contact_id: UUID,
    body: IdentityAdd,
    session: SessionDep,
    principal: SupervisorDep,
    settings: SettingsDep,
    response: Response,
) -> ContactRead:
    value = service.normalize_identity(body.kind, body.value, settings.default_region)
    contact, added = await service.add_identity(session, contact_id, kind=body.kind, value=value)
    if not added:
        response.status_code = 200
    return ContactRead.model_validate(contact)


@router.post(
    "/contacts/{contact_id}/merge",
    summary="Merge another contact into this one",
    description="Supervisors and admins join two contacts that are one customer: the other "
    "contact's identities and conversations move to this one (each conversation's timeline "
    "records `contact_merged`), its name and language fill this contact's where it has none, "
    "and it is left with no identity and `merged_into_id` set. The next email, call or fax "
    "from any of the addresses or numbers joins this contact. 404 for an unknown contact, "
    "422 `contact_id` for the contact itself, 409 `contact.merged` when either was already "
    "merged. A refusal changes nothing.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def merge_contact(
    contact_id: UUID, body: ContactMerge, session: SessionDep, principal: SupervisorDep
) -> ContactRead:
    actor = Actor(role=principal.role.value, name=principal.name, agent_id=principal.agent_id)
    contact = await service.merge(session, contact_id, body.contact_id, actor=actor, now=utc_now())
    return ContactRead.model_validate(contact)
