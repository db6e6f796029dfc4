"""HTTP endpoints for queues: CRUD with rules, hours and widening steps, and live figures."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.routing.deps import (
    ManagerDep,
    ManagerOrServiceDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    TranslationDep,
)
from services.routing.queues import service
from services.routing.queues.schemas import QueueCreate, QueueRead, QueueStats, QueueUpdate
from shared.db import utc_now
from shared.schemas import problem_responses

router = APIRouter(
    prefix="/routing/v1", tags=["queues"], responses=problem_responses(401, 403, 503)
)


@router.post(
    "/queues",
    status_code=201,
    summary="Create a queue with its rules, hours and widening steps (admin, supervisor)",
    responses=problem_responses(409, 422),
)
async def create_queue(body: QueueCreate, session: SessionDep, _: ManagerDep) -> QueueRead:
    now = utc_now()
    queue = await service.create_queue(session, data=body, now=now)
    return service.read_queue(await service.get_queue(session, queue.id), now)


@router.get("/queues", summary="List queues with their rules (admin, supervisor)")
async def list_queues(session: ReadSessionDep, _: ManagerDep) -> list[QueueRead]:
    now = utc_now()
    return [service.read_queue(queue, now) for queue in await service.list_queues(session)]


@router.get(
    "/queues/{queue_id}",
    summary="Read a queue (admin, supervisor)",
    responses=problem_responses(404, 422),
)
async def read_queue(queue_id: UUID, session: ReadSessionDep, _: ManagerOrServiceDep) -> QueueRead:
    return service.read_queue(await service.get_queue(session, queue_id), utc_now())


@router.patch(
    "/queues/{queue_id}",
    summary="Change a queue; rules, hours and widening given replace the stored ones",
    responses=problem_responses(404, 409, 422),
)
async def update_queue(
    queue_id: UUID, body: QueueUpdate, session: SessionDep, _: ManagerDep
) -> QueueRead:
    now = utc_now()
    await service.update_queue(session, queue_id=queue_id, data=body, now=now)
    return service.read_queue(await service.get_queue(session, queue_id), now)


@router.delete(
    "/queues/{queue_id}",
    status_code=204,
    summary="Delete a queue that holds no open task (admin, supervisor)",
    responses=problem_responses(404, 409, 422),
)
async def delete_queue(queue_id: UUID, session: SessionDep, _: ManagerDep) -> Response:
    await service.delete_queue(session, queue_id=queue_id)
    return Response(status_code=204)


@router.get(
    "/queues/{queue_id}/stats",
    summary="Live figures: waiting, longest wait, agents by presence, today's offers and SL",
    description="`agents` counts the agents who serve the queue in at least one language it "
    "takes, by the engine's own rule: for a bilingual queue, one who speaks only French counts "
    "(before, only agents fluent in both languages did), and `agents.available_by_language` "
    "says how many available agents can take its work in each language (`und`: a contact "
    "whose language could not be told, for agents fluent in both). `agents.offerable` (and "
    "per channel and language) count the available agents the routing engine would offer "
    "this queue's work right now: for a queue serving phone, `offerable_by_channel.phone` is "
    "how many can take a call now. `translation_held_back` is true while the queue's "
    "`other_language` step is not applied because machine translation is off (or the "
    "translation service cannot be reached).",
    responses=problem_responses(404, 422),
)
async def queue_stats(
    queue_id: UUID,
    session: ReadSessionDep,
    settings: SettingsDep,
    translation: TranslationDep,
    _: ManagerDep,
) -> QueueStats:
    # Asked before the first read: no transaction stays open while translation answers.
    machine_translation = await translation.available()
    return await service.queue_stats(
        session,
        queue_id=queue_id,
        now=utc_now(),
        stale_after=settings.stream_stale_after,
        machine_translation=machine_translation,
    )
