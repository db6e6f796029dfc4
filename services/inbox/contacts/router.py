"""HTTP endpoints for reading contacts."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.inbox.contacts import service
from services.inbox.contacts.schemas import ContactRead
from services.inbox.deps import ReaderDep, ReadSessionDep, VisibilityDep
from shared.schemas import problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["contacts"])


@router.get(
    "/contacts/{contact_id}",
    summary="Read a contact with its identities",
    description="An agent reads the contact of a conversation it may read (one assigned to "
    "it, or waiting in a queue it serves); any other contact is 404, as if it did not exist. "
    "While routing cannot say which queues the agent serves, a contact it could see only "
    "through a conversation waiting in a queue is 503. "
    "Supervisors, admins and services read every contact.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def read_contact(
    contact_id: UUID, session: ReadSessionDep, principal: ReaderDep, visibility: VisibilityDep
) -> ContactRead:
    contact = await service.get_contact(session, contact_id)
    await visibility.ensure_sees_contact(principal, session, contact_id)
    return ContactRead.model_validate(contact)
