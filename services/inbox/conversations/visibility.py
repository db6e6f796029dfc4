"""Who sees which conversation: agents their own and those waiting in the queues they serve."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.conversations.service import (
    OPEN_STATUSES,
    AgentView,
    is_visible,
    visible_to_agent,
    waits_in_queue,
)
from services.inbox.errors import ContactNotFound, ConversationNotFound
from services.inbox.models import Conversation
from shared.auth import Principal, Role
from shared.clients.base import PeerRejected
from shared.clients.routing import RoutingClient
from shared.contracts.routing import ServedQueue
from shared.errors import Unavailable
from shared.logging import get_logger

log = get_logger(__name__)

#: While routing cannot be reached, an agent's last known queues stand for this long.
STALE_SECONDS = 300.0
MAX_AGENTS = 10_000


class AgentQueuesCache:
    """The queues each agent serves, and their name, as routing last said, kept ``ttl`` seconds
    per agent.

    A change to an agent's skills or to a queue shows in the inbox within ``ttl``.
    """

    def __init__(
        self,
        *,
        ttl: float,
        stale_ttl: float = STALE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._stale_ttl = stale_ttl
        self._clock = clock
        self._answers: OrderedDict[uuid.UUID, tuple[float, AgentFacts]] = OrderedDict()

    async def served(self, routing: RoutingClient, agent_id: uuid.UUID) -> tuple[ServedQueue, ...]:
        """The agent's queues (none when routing knows no such agent).

        Raises Unavailable or PeerRejected when routing fails and no recent answer is known.
        """
        return (await self.facts(routing, agent_id)).queues

    async def facts(self, routing: RoutingClient, agent_id: uuid.UUID) -> AgentFacts:
        """The agent's queues and name; raises as ``served`` does."""
        now = self._clock()
        cached = self._answers.get(agent_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            answer = await routing.agent_queues(agent_id)
        except (Unavailable, PeerRejected) as error:
            if cached is not None and now - cached[0] < self._stale_ttl:
                log.warning("visibility.queues_stale", agent_id=str(agent_id), error=error.code)
                return cached[1]
            raise
        facts = (
            AgentFacts(queues=tuple(answer.queues), name=answer.agent_name)
            if answer is not None
            else AgentFacts(queues=(), name=None)
        )
        self._answers[agent_id] = (now, facts)
        self._answers.move_to_end(agent_id)
        while len(self._answers) > MAX_AGENTS:
            self._answers.popitem(last=False)
        return facts


@dataclass(frozen=True)
class AgentFacts:
    """What the inbox keeps of routing's answer about an agent."""

    queues: tuple[ServedQueue, ...]
    #: The agent's name in routing; None for an agent routing does not know.
    name: str | None


class Visibility:
    """Applies the rule to one request's caller: admins, supervisors and services see all.

    Routing's answer is kept for the request, so that a check made again on a locked row
    never waits on routing.
    """

    def __init__(self, *, cache: AgentQueuesCache, routing: RoutingClient) -> None:
        self._cache = cache
        self._routing = routing
        self._served: dict[uuid.UUID, AgentFacts] = {}

    async def served(self, agent_id: uuid.UUID) -> tuple[ServedQueue, ...]:
        """The queues the agent serves; raises Unavailable or PeerRejected."""
        return (await self._facts(agent_id)).queues

    async def agent_name(self, agent_id: uuid.UUID) -> str | None:
        """The agent's name in routing (None when it knows no such agent); raises as
        ``served`` does. Kept with the queues: one answer of routing gives both."""
        return (await self._facts(agent_id)).name

    async def _facts(self, agent_id: uuid.UUID) -> AgentFacts:
        if agent_id not in self._served:
            self._served[agent_id] = await self._cache.facts(self._routing, agent_id)
        return self._served[agent_id]

    def restricts(self, principal: Principal) -> bool:
        """True when the caller sees only some conversations (agents)."""
        return principal.role is Role.AGENT

    async def view_for_listing(self, principal: Principal) -> AgentView | None:
        """What a list shows the caller (None: everything).

        An agent's list never fails because routing does: without an answer from it, the
        agent sees the conversations assigned to it.
        """
        if not self.restricts(principal):
            return None
        if principal.agent_id is None:
            # An agent token bound to no agent: nothing is assigned to the nil id.
            return AgentView(agent_id=uuid.UUID(int=0))
        try:
            queues = await self.served(principal.agent_id)
        except (Unavailable, PeerRejected) as error:
            log.warning(
                "visibility.queues_unknown", agent_id=str(principal.agent_id), error=error.code
            )
            queues = ()
        return AgentView(agent_id=principal.agent_id, queues=queues)

    async def ensure_visible(self, principal: Principal, conversation: Conversation) -> None:
        """Raise ConversationNotFound when the caller may not see the conversation.

        Existence does not leak: what an agent may not see is answered as if it did not exist.
        Routing is asked only about a conversation waiting unassigned in a queue, and while
        it cannot answer that is Unavailable (503), not a misleading 404.
        """
        if not self.restricts(principal):
            return
        agent_id = principal.agent_id
        if agent_id is not None and conversation.assignee_agent_id == agent_id:
            return
        if agent_id is None or not waits_in_queue(conversation):
            raise ConversationNotFound(conversation_id=str(conversation.id))
        queues = await self.served(agent_id)
        if not is_visible(conversation, AgentView(agent_id=agent_id, queues=queues)):
            raise ConversationNotFound(conversation_id=str(conversation.id))

    async def ensure_sees_contact(
        self, principal: Principal, session: AsyncSession, contact_id: uuid.UUID
    ) -> None:
        """Raise ContactNotFound unless the caller sees one of the contact's conversations.

        The rule of ``ensure_visible``, for any of the contact's conversations: what an agent
        may not see is answered as if the contact did not exist. Routing is asked only when
        none is assigned to the agent and one waits unassigned in a queue; while it cannot
        answer that is Unavailable (503).
        """
        if not self.restricts(principal):
            return
        agent_id = principal.agent_id
        if agent_id is None:
            raise ContactNotFound(contact_id=str(contact_id))
        of_contact = Conversation.contact_id == contact_id
        waiting = and_(
            of_contact,
            Conversation.assignee_agent_id.is_(None),
            Conversation.routing_status == "queued",
            Conversation.status.in_(OPEN_STATUSES),
            Conversation.queue_id.is_not(None),
        )
        mine, waits = (
            await session.execute(
                select(
                    exists().where(of_contact, Conversation.assignee_agent_id == agent_id),
                    exists().where(waiting),
                )
            )
        ).one()
        if mine:
            return
        if waits:
            view = AgentView(agent_id=agent_id, queues=await self.served(agent_id))
            if view.queues and await session.scalar(
                select(exists().where(of_contact, visible_to_agent(view)))
            ):
                return
        raise ContactNotFound(contact_id=str(contact_id))
