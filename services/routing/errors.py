"""Routing's error codes; the French texts are in ``locales/fr/LC_MESSAGES/messages.po``."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.i18n import Plural, Term

#: The word for a task, offer or agent state where it differs from its code; the catalog
#: translates it.
STATE_WORDS = {"rejected": "declined", "wrap_up": "in wrap-up"}


def state_term(state: str) -> Term:
    """A task's, offer's or agent's state as a word a sentence can hold ("declined",
    « refusée »; "in wrap-up", « en cours de clôture »)."""
    return Term(STATE_WORDS.get(state, state))


class AgentNotFound(NotFound):
    code = "agent.not_found"
    title = "Agent not found"
    detail_template = "No agent has the id {agent_id}."


class AgentEmailTaken(Conflict):
    code = "agent.email_taken"
    title = "Email address already used"
    detail_template = "Another agent already has the email address {email}."


class NotOwnAgent(Forbidden):
    code = "agent.not_own"
    title = "Not your agent"
    detail_template = "An agent's token may act only on its own agent, offers and stream."


class TaskNotHeld(NotOwnAgent):
    title = "Not your task"
    detail_template = "Only the agent the task is assigned to may complete it."


class QueueNotFound(NotFound):
    code = "queue.not_found"
    title = "Queue not found"
    detail_template = "No queue has the id {queue_id}."


class QueueNameTaken(Conflict):
    code = "queue.name_taken"
    title = "Queue name already used"
    detail_template = "Another queue is already named {name}."


class QueueInUse(Conflict):
    code = "queue.in_use"
    title = "Queue in use"
    detail_template = Plural(
        "The queue still holds {count} open task; move or finish it first.",
        "The queue still holds {count} open tasks; move or finish them first.",
    )


class QueueWorkNotServed(Conflict):
    code = "queue.work_not_served"
    title = "Change refused: the queue holds work"
    detail_template = Plural(
        "{count} task waiting or offered in the queue is on a channel or in a language it "
        "would no longer take; move it to another queue or wait until the queue is empty.",
        "{count} tasks waiting or offered in the queue are on a channel or in a language it "
        "would no longer take; move them to another queue or wait until the queue is empty.",
    )


class InvalidQueue(InvalidInput):
    code = "queue.invalid"
    title = "Invalid queue configuration"
    detail_template = "The queue's configuration is not consistent: {reason}"


class TaskNotFound(NotFound):
    code = "task.not_found"
    title = "Task not found"
    detail_template = "No task has the id {task_id}."


class TaskNotAssigned(Conflict):
    code = "task.not_assigned"
    title = "Task not assigned"
    detail_template = "Only an assigned task can be completed; this one is {state}."


class OfferNotFound(NotFound):
    code = "offer.not_found"
    title = "Offer not found"
    detail_template = "No offer has the id {offer_id}."


class OfferClosed(Conflict):
    code = "offer.closed"
    title = "Offer no longer open"
    detail_template = "This offer can no longer be answered: it is {state}."


class CallbackNotFound(NotFound):
    code = "callback.not_found"
    title = "Callback not found"
    detail_template = "No callback has the id {callback_id}."


class CallbackConversationNotFound(InvalidInput):
    code = "callback.conversation_not_found"
    title = "Conversation not found"
    detail_template = (
        "The inbox has no conversation {conversation_id} to call back for; nothing was scheduled."
    )


class AgentHoldsTasks(Conflict):
    code = "agent.holds_tasks"
    title = "Agent holds tasks"
    detail_template = Plural(
        "The agent still holds {count} offered or assigned task.",
        "The agent still holds {count} offered or assigned tasks.",
    )
