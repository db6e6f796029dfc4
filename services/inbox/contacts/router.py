"""HTTP endpoints for reading contacts."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.inbox.contacts import service
from services.inbox.contacts.schemas import ContactRead
from services.inbox.deps import ReaderDep, ReadSessionDep
from shared.schemas import problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["contacts"])


@router.get(
    "/contacts/{contact_id}",
    summary="Read a contact with its identities",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def read_contact(contact_id: UUID, session: ReadSessionDep, _: ReaderDep) -> ContactRead:
    return ContactRead.model_validate(await service.get_contact(session, contact_id))
