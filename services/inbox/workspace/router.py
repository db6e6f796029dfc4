"""HTTP endpoints of the agents' workspace; each action is one request and one transaction."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import Field

from services.inbox.conversations.schemas import ConversationSummary
from services.inbox.conversations.visibility import Visibility
from services.inbox.deps import (
    IfMatch,
    ReaderDep,
    ReadSessionDep,
    RoutingDep,
    SessionDep,
    SupervisorDep,
    VisibilityDep,
    WriterDep,
    expected_version,
)
from services.inbox.errors import ConversationNotFound
from services.inbox.ingest.phone import e164_field
from services.inbox.models import Conversation
from services.inbox.settings import InboxSettings
from services.inbox.workspace import service
from services.inbox.workspace.schemas import (
    CallbackCreate,
    CallbackScheduled,
    DispositionPut,
    DispositionRead,
    DispositionSet,
    EscalationCreate,
    NoteCreate,
    NoteRead,
    Resolve,
    StatusChange,
    TagsAdd,
    TagsRead,
    TimelineRead,
    TransferCreate,
)
from shared.auth import Principal
from shared.db import utc_now
from shared.i18n import negotiate_locale
from shared.schemas import problem_responses
from shared.web import service_context

router = APIRouter(prefix="/inbox/v1", tags=["workspace"])
ACTION_ERRORS = problem_responses(401, 403, 404, 409, 422, 503)
READ_ERRORS = problem_responses(401, 403, 404, 422, 503)


def actor(principal: Principal) -> service.Actor:
    return service.Actor(
        role=principal.role.value, name=principal.name, agent_id=principal.agent_id
    )


async def load(
    session: SessionDep,
    conversation_id: UUID,
    principal: Principal,
    if_match: str | None,
    visibility: Visibility,
) -> Conversation:
    """The conversation to act on: one the caller may see, locked, version checked."""
    if visibility.restricts(principal):
        # Routing, when it must be asked, is asked before the row is locked.
        await readable(session, conversation_id, principal, visibility)
    conversation = await service.lock_conversation(session, conversation_id)
    # Checked again on the locked row; whom it is hidden from learns nothing more of it.
    await visibility.ensure_visible(principal, conversation)
    service.ensure_actionable(conversation, expected_version=expected_version(if_match))
    return conversation


async def readable(
    session: SessionDep, conversation_id: UUID, principal: Principal, visibility: Visibility
) -> Conversation:
    """The conversation; ConversationNotFound unless it exists and the caller may see it."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id=str(conversation_id))
    await visibility.ensure_visible(principal, conversation)
    return conversation


def answer(conversation: Conversation, response: Response) -> ConversationSummary:
    response.headers["ETag"] = f'"{conversation.version}"'
    return ConversationSummary.model_validate(conversation)


async def summary_of(session: SessionDep, conversation: Conversation) -> Conversation:
    await session.flush()
    await session.refresh(conversation, ["contact"])
    return conversation


@router.get(
    "/conversations/{conversation_id}/timeline",
    summary="What happened to a conversation: who did what, when",
    responses=READ_ERRORS,
)
async def read_timeline(
    conversation_id: UUID, session: ReadSessionDep, principal: ReaderDep, visibility: VisibilityDep
) -> list[TimelineRead]:
    await readable(session, conversation_id, principal, visibility)
    return [
        TimelineRead.model_validate(e) for e in await service.timeline(session, conversation_id)
    ]


@router.get(
    "/conversations/{conversation_id}/notes",
    summary="The internal notes of a conversation",
    responses=READ_ERRORS,
)
async def read_notes(
    conversation_id: UUID, session: ReadSessionDep, principal: ReaderDep, visibility: VisibilityDep
) -> list[NoteRead]:
    await readable(session, conversation_id, principal, visibility)
    return [NoteRead.model_validate(n) for n in await service.notes_of(session, conversation_id)]


@router.post(
    "/conversations/{conversation_id}/notes",
    status_code=201,
    summary="Add an internal note (never sent to the customer)",
    responses=ACTION_ERRORS,
)
async def create_note(
    conversation_id: UUID,
    body: NoteCreate,
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> NoteRead:
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    note = await service.add_note(
        session, conversation, actor(principal), body=body.body, now=utc_now()
    )
    return NoteRead.model_validate(note)


@router.post(
    "/conversations/{conversation_id}/tags",
    summary="Tag a conversation",
    responses=ACTION_ERRORS,
)
async def add_tags(
    conversation_id: UUID,
    body: TagsAdd,
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> TagsRead:
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    tags = await service.add_tags(
        session, conversation, actor(principal), tags=body.tags, now=utc_now()
    )
    return TagsRead(tags=tags)


@router.delete(
    "/conversations/{conversation_id}/tags/{tag}",
    summary="Remove a tag from a conversation",
    responses=ACTION_ERRORS,
)
async def remove_tag(
    conversation_id: UUID,
    tag: Annotated[str, Field(max_length=64)],
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> TagsRead:
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    tags = await service.remove_tag(
        session, conversation, actor(principal), tag=tag.lower(), now=utc_now()
    )
    return TagsRead(tags=tags)


@router.put(
    "/conversations/{conversation_id}/disposition",
    summary="Set the wrap-up code of a conversation",
    responses=ACTION_ERRORS,
)
async def set_disposition(
    conversation_id: UUID,
    body: DispositionSet,
    response: Response,
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> ConversationSummary:
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    await service.set_disposition(
        session, conversation, actor(principal), code=body.code, now=utc_now()
    )
    return answer(await summary_of(session, conversation), response)


@router.post(
    "/conversations/{conversation_id}/status",
    summary="Change the status: open, pending (waiting on the customer), snoozed, resolved, closed",
    description="Resolving completes the routing task and starts the agent's wrap-up. A closed "
    "conversation is final: it cannot be reopened, any further action is 409 "
    "`conversation.closed`, and the customer's next email opens a new conversation whose "
    "`previous_conversation_id` is the closed one. `snoozed` needs a future `snoozed_until`.",
    responses=ACTION_ERRORS,
)
async def change_status(
    conversation_id: UUID,
    body: StatusChange,
    response: Response,
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> ConversationSummary:
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    await service.change_status(
        session,
        conversation,
        actor(principal),
        status=body.status,
        snoozed_until=body.snoozed_until,
        now=utc_now(),
    )
    return answer(await summary_of(session, conversation), response)


@router.post(
    "/conversations/{conversation_id}/resolve",
    summary="Resolve: optional wrap-up code and note; completes the routing task",
    description="Routing completes the task the agent holds (its capacity is freed, wrap-up "
    "starts) or cancels one still waiting, and `routing_status` becomes `none`. This holds "
    "also for a conversation already resolved that routing gave work again, such as a "
    "callback's call the agent accepted: resolving it again ends that call's task.",
    responses=ACTION_ERRORS,
)
async def resolve(
    conversation_id: UUID,
    body: Resolve,
    response: Response,
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> ConversationSummary:
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    now, who = utc_now(), actor(principal)
    if body.disposition:
        await service.set_disposition(
            session, conversation, who, code=body.disposition, now=now, field="disposition"
        )
    if body.note:
        await service.add_note(session, conversation, who, body=body.note, now=now)
    await service.change_status(
        session, conversation, who, status="resolved", snoozed_until=None, now=now
    )
    return answer(await summary_of(session, conversation), response)


@router.post(
    "/conversations/{conversation_id}/transfer",
    summary="Transfer to a queue or an agent, with a note",
    description="The conversation leaves its agent and waits for routing again, open (a "
    "snoozed one wakes, a resolved one reopens). One resolved while the transfer was under "
    "way is 409 `conversation.changed` and changes nothing: ask again to reopen it. Routing is "
    "asked first, and a transfer it could not carry out as asked is 422 and changes nothing: "
    "an agent or a queue it does not know (`transfer.agent_not_found` / "
    "`transfer.queue_not_found`), a queue that does not take the conversation's channel or "
    "language (`transfer.queue_not_suitable`), an agent "
    "who may never take it in its queue, whatever it is doing now "
    "(`transfer.agent_not_suitable`, one error per reason: `language`, `skill_missing`, "
    "`skill_level`, `tier`, `no_capacity`). An agent who is away or busy may be chosen: the "
    "conversation waits for it in the queue. Routing unreachable is 503.",
    responses=ACTION_ERRORS,
)
async def transfer(
    conversation_id: UUID,
    body: TransferCreate,
    response: Response,
    session: SessionDep,
    lookup: ReadSessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    routing: RoutingDep,
    if_match: IfMatch = None,
) -> ConversationSummary:
    # A conversation the caller may not see is 404 before anything is said about the agent.
    # Both are checked before the request's own transaction begins: on SQLite its first read
    # takes the write lock, which no call to routing may hold.
    found = await readable(lookup, conversation_id, principal, visibility)
    seen_status, seen_version = found.status, found.version
    await service.check_handover(
        routing,
        found,
        kind="transfer",
        to_agent_id=body.to_agent_id,
        to_queue_id=body.to_queue_id,
    )
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    service.ensure_not_ended_meanwhile(conversation, status=seen_status, version=seen_version)
    await service.transfer(
        session,
        conversation,
        actor(principal),
        to_queue_id=body.to_queue_id,
        to_agent_id=body.to_agent_id,
        note=body.note,
        now=utc_now(),
    )
    return answer(await summary_of(session, conversation), response)


@router.post(
    "/conversations/{conversation_id}/escalate",
    summary="Escalate to a higher tier (tier 2 by default) with a reason",
    description="The conversation leaves its agent and waits for routing again, open (a "
    "snoozed one wakes, a resolved one reopens; one resolved while the escalation was under "
    "way is 409 `conversation.changed`); the reason is kept as a note. Routing is "
    "asked first, and an escalation it could not carry out as asked changes nothing: a queue "
    "it does not know, or one that does not take the conversation's channel or language, is "
    "422 (`transfer.queue_not_found`, `transfer.queue_not_suitable`); without `to_queue_id`, "
    "no queue of the tier taking the conversation is 409 `escalation.no_tier_queue`. Routing "
    "unreachable is 503.",
    responses=ACTION_ERRORS,
)
async def escalate(
    conversation_id: UUID,
    body: EscalationCreate,
    response: Response,
    session: SessionDep,
    lookup: ReadSessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    routing: RoutingDep,
    if_match: IfMatch = None,
) -> ConversationSummary:
    # As for a transfer: checked with routing before the request's own transaction begins.
    found = await readable(lookup, conversation_id, principal, visibility)
    seen_status, seen_version = found.status, found.version
    await service.check_handover(
        routing, found, kind="escalation", to_queue_id=body.to_queue_id, tier=body.tier
    )
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    service.ensure_not_ended_meanwhile(conversation, status=seen_status, version=seen_version)
    await service.escalate(
        session,
        conversation,
        actor(principal),
        reason=body.reason,
        to_queue_id=body.to_queue_id,
        tier=body.tier,
        now=utc_now(),
    )
    return answer(await summary_of(session, conversation), response)


@router.post(
    "/conversations/{conversation_id}/callbacks",
    status_code=202,
    summary="Schedule a call back to the customer",
    description="Routing turns it into a phone task when it is due. Without `phone`, the "
    "contact's known number is used.",
    responses=ACTION_ERRORS,
)
async def schedule_callback(
    conversation_id: UUID,
    body: CallbackCreate,
    request: Request,
    session: SessionDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    if_match: IfMatch = None,
) -> CallbackScheduled:
    settings = service_context(request).settings
    assert isinstance(settings, InboxSettings)
    phone = e164_field(body.phone, "phone", settings.default_region) if body.phone else None
    conversation = await load(session, conversation_id, principal, if_match, visibility)
    scheduled = await service.schedule_callback(
        session,
        conversation,
        actor(principal),
        due_at=body.due_at,
        phone=phone,
        note=body.note,
        now=utc_now(),
    )
    return CallbackScheduled(id=scheduled.id, due_at=body.due_at, phone=scheduled.phone)


@router.get(
    "/dispositions",
    summary="The wrap-up codes agents may choose, with English and French labels",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_dispositions(
    request: Request, session: ReadSessionDep, _: ReaderDep, include_inactive: bool = False
) -> list[DispositionRead]:
    locale = negotiate_locale(request.headers.get("accept-language"))
    rows = await service.list_dispositions(session, include_inactive=include_inactive)
    return [
        DispositionRead(
            code=row.code,
            label=row.label_fr if locale == "fr" else row.label_en,
            label_en=row.label_en,
            label_fr=row.label_fr,
            active=row.active,
        )
        for row in rows
    ]


@router.put(
    "/dispositions/{code}",
    summary="Create or update a wrap-up code (admin, supervisor); deactivate instead of deleting",
    responses=problem_responses(401, 403, 422, 503),
)
async def put_disposition(
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")],
    body: DispositionPut,
    request: Request,
    session: SessionDep,
    _: SupervisorDep,
) -> DispositionRead:
    row = await service.put_disposition(
        session,
        code=code,
        label_en=body.label_en,
        label_fr=body.label_fr,
        active=body.active,
        now=utc_now(),
    )
    locale = negotiate_locale(request.headers.get("accept-language"))
    return DispositionRead(
        code=row.code,
        label=row.label_fr if locale == "fr" else row.label_en,
        label_en=row.label_en,
        label_fr=row.label_fr,
        active=row.active,
    )
