"""Ranking: policies, sticky routing, widened agents last, task order and queue selection."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from services.routing.engine.eligibility import Candidate, eligible
from services.routing.engine.model import (
    AgentSnapshot,
    AgentStatus,
    Channel,
    QueueConfig,
    QueueLanguage,
    QueueRule,
    RoutingPolicy,
    TaskLanguage,
    TaskSnapshot,
    WideningKind,
    WideningStep,
)
from services.routing.engine.ranking import order_tasks, rank_agents, select_queue

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
QUEUE_ID = uuid.UUID(int=200)


def agent(
    number: int,
    *,
    idle_minutes: int | None = 5,
    last_assigned_minutes: int | None = None,
    languages: Mapping[str, int] | None = None,
    skills: Mapping[str, int] | None = None,
    status: AgentStatus = AgentStatus.AVAILABLE,
) -> AgentSnapshot:
    return AgentSnapshot(
        id=uuid.UUID(int=number),
        languages={"fr": 5} if languages is None else languages,
        skills={"billing": 3} if skills is None else skills,
        status=status,
        idle_since=None if idle_minutes is None else NOW - timedelta(minutes=idle_minutes),
        last_assigned_at=(
            None
            if last_assigned_minutes is None
            else NOW - timedelta(minutes=last_assigned_minutes)
        ),
        stream_connected=True,
    )


def task(
    number: int = 100,
    *,
    channel: Channel = Channel.EMAIL,
    language: TaskLanguage = "fr",
    priority: int = 0,
    waited_minutes: int = 0,
    preferred: int | None = None,
    queue_id: uuid.UUID | None = None,
    skills: Mapping[str, int] | None = None,
    attributes: Mapping[str, str] | None = None,
) -> TaskSnapshot:
    return TaskSnapshot(
        id=uuid.UUID(int=number),
        channel=channel,
        language=language,
        priority=priority,
        arrived_at=NOW - timedelta(minutes=waited_minutes),
        preferred_agent_id=None if preferred is None else uuid.UUID(int=preferred),
        queue_id=queue_id,
        skills=skills or {},
        attributes=attributes or {},
    )


def queue(
    policy: RoutingPolicy = RoutingPolicy.LONGEST_IDLE,
    *,
    number: int = 200,
    language: QueueLanguage = "fr",
    channels: frozenset[Channel] = frozenset(Channel),
    priority: int = 0,
) -> QueueConfig:
    return QueueConfig(
        id=uuid.UUID(int=number),
        name=f"queue {number}",
        language=language,
        channels=channels,
        required_skills={"billing": 1},
        priority=priority,
        policy=policy,
        widening=(
            WideningStep(after_seconds=60, kind=WideningKind.BILINGUAL, min_level=3),
            WideningStep(after_seconds=600, kind=WideningKind.OTHER_LANGUAGE),
        ),
    )


def ranked_ids(
    agents: list[AgentSnapshot],
    the_task: TaskSnapshot,
    the_queue: QueueConfig,
    *,
    waited: timedelta = timedelta(0),
) -> list[int]:
    candidates = [Candidate(a, eligible(a, the_task, the_queue, waited=waited)) for a in agents]
    return [c.agent.id.int for c in rank_agents(candidates, the_task, the_queue, now=NOW)]


def test_longest_idle_puts_the_earliest_idle_agent_first() -> None:
    agents = [agent(1, idle_minutes=2), agent(2, idle_minutes=30), agent(3, idle_minutes=10)]
    assert ranked_ids(agents, task(), queue()) == [2, 3, 1]


def test_agent_without_idle_since_goes_after_the_others() -> None:
    agents = [agent(1, idle_minutes=None), agent(2, idle_minutes=1)]
    assert ranked_ids(agents, task(), queue()) == [2, 1]


def test_idle_since_in_the_future_counts_as_idle_from_now() -> None:
    # Both clocks run ahead: both count as idle from now, so the lower id wins.
    agents = [agent(2, idle_minutes=-1), agent(1, idle_minutes=-5)]
    assert ranked_ids(agents, task(), queue()) == [1, 2]


def test_most_skilled_prefers_skill_then_language_then_idle_time() -> None:
    agents = [
        agent(1, skills={"billing": 2}, idle_minutes=60),
        agent(2, skills={"billing": 5}, languages={"fr": 4}, idle_minutes=1),
        agent(3, skills={"billing": 5}, languages={"fr": 5}, idle_minutes=1),
        agent(4, skills={"billing": 5}, languages={"fr": 5}, idle_minutes=20),
    ]
    assert ranked_ids(agents, task(), queue(RoutingPolicy.MOST_SKILLED)) == [4, 3, 2, 1]


def test_most_skilled_counts_only_the_required_skills() -> None:
    agents = [
        agent(1, skills={"billing": 3, "shipping": 5, "payments": 5}),
        agent(2, skills={"billing": 4}),
    ]
    assert ranked_ids(agents, task(), queue(RoutingPolicy.MOST_SKILLED)) == [2, 1]


def test_round_robin_gives_the_turn_to_the_least_recently_assigned() -> None:
    agents = [
        agent(1, last_assigned_minutes=1),
        agent(2, last_assigned_minutes=40),
        agent(3, last_assigned_minutes=None),
        agent(4, last_assigned_minutes=10),
    ]
    assert ranked_ids(agents, task(), queue(RoutingPolicy.ROUND_ROBIN)) == [3, 2, 4, 1]


@pytest.mark.parametrize("policy", list(RoutingPolicy))
def test_ties_are_broken_by_agent_id_whatever_the_input_order(policy: RoutingPolicy) -> None:
    agents = [agent(n, idle_minutes=5, last_assigned_minutes=5) for n in (7, 3, 9, 1)]
    assert ranked_ids(agents, task(), queue(policy)) == [1, 3, 7, 9]
    assert ranked_ids(agents[::-1], task(), queue(policy)) == [1, 3, 7, 9]


@pytest.mark.parametrize("policy", list(RoutingPolicy))
def test_sticky_agent_comes_first_when_eligible(policy: RoutingPolicy) -> None:
    agents = [
        agent(1, idle_minutes=60, skills={"billing": 5}),
        agent(2, idle_minutes=1, last_assigned_minutes=1),
    ]
    assert ranked_ids(agents, task(preferred=2), queue(policy)) == [2, 1]


def test_sticky_agent_that_is_not_eligible_is_skipped() -> None:
    agents = [agent(1, idle_minutes=10), agent(2, status=AgentStatus.AWAY), agent(3)]
    assert ranked_ids(agents, task(preferred=2), queue()) == [1, 3]


def test_ineligible_candidates_are_left_out() -> None:
    agents = [agent(1, languages={"en": 5}), agent(2)]
    assert ranked_ids(agents, task(), queue()) == [2]


def test_agent_fitting_the_task_as_it_arrived_beats_a_widened_one() -> None:
    native = agent(1, idle_minutes=1)
    bilingual = agent(2, idle_minutes=50, languages={"en": 5, "fr": 3})
    translated = agent(3, idle_minutes=90, languages={"en": 5})
    waited = timedelta(minutes=15)
    assert ranked_ids([translated, bilingual, native], task(), queue(), waited=waited) == [1, 2, 3]
    assert ranked_ids([translated, bilingual], task(), queue(), waited=waited) == [2, 3]


def test_candidates_assessed_for_another_task_are_refused() -> None:
    other_task = task(101)
    candidate = Candidate(agent(1), eligible(agent(1), other_task, queue(), waited=timedelta(0)))
    with pytest.raises(ValueError, match="was assessed for task"):
        rank_agents([candidate], task(), queue(), now=NOW)


def test_ranking_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        rank_agents([], task(), queue(), now=NOW.replace(tzinfo=None))


def test_tasks_go_by_priority_then_by_longest_wait() -> None:
    tasks = [
        task(1, priority=0, waited_minutes=30),
        task(2, priority=5, waited_minutes=1),
        task(3, priority=0, waited_minutes=45),
        task(4, priority=5, waited_minutes=3),
    ]
    assert [t.id.int for t in order_tasks(tasks, now=NOW)] == [4, 2, 3, 1]


def test_task_ties_are_broken_by_id() -> None:
    tasks = [task(9, waited_minutes=2), task(4, waited_minutes=2)]
    assert [t.id.int for t in order_tasks(tasks, now=NOW)] == [4, 9]


def test_tasks_arriving_in_the_future_count_as_just_arrived() -> None:
    tasks = [task(9, waited_minutes=-1), task(4, waited_minutes=-2), task(7, waited_minutes=0)]
    assert [t.id.int for t in order_tasks(tasks, now=NOW)] == [4, 7, 9]
    assert order_tasks([*tasks, task(1, waited_minutes=1)], now=NOW)[0].id.int == 1


def test_queue_priority_comes_before_task_priority_when_queues_are_given() -> None:
    urgent, routine = queue(number=201, priority=10), queue(number=202, priority=1)
    tasks = [
        task(1, priority=9, waited_minutes=30, queue_id=routine.id),
        task(2, priority=0, waited_minutes=1, queue_id=urgent.id),
    ]
    by_queue = order_tasks(tasks, now=NOW, queues={q.id: q for q in (urgent, routine)})
    assert [t.id.int for t in by_queue] == [2, 1]
    assert [t.id.int for t in order_tasks(tasks, now=NOW)] == [1, 2]


def test_ordering_tasks_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        order_tasks([task()], now=NOW.replace(tzinfo=None))


FRENCH = queue(number=301, language="fr")
ENGLISH = queue(number=302, language="en")
BILINGUAL = queue(number=303, language="bilingual")
VIP = queue(number=304, language="fr", channels=frozenset({Channel.PHONE}))
QUEUES = {q.id: q for q in (FRENCH, ENGLISH, BILINGUAL, VIP)}
RULES = [
    QueueRule(queue_id=ENGLISH.id, order=30, languages=frozenset({"en", "und"})),
    QueueRule(queue_id=FRENCH.id, order=20, languages=frozenset({"fr"})),
    QueueRule(queue_id=VIP.id, order=10, attributes={"segment": "vip"}),
    QueueRule(queue_id=BILINGUAL.id, order=40),
]


def test_first_matching_rule_by_order_picks_the_queue() -> None:
    assert select_queue(task(language="fr"), RULES, QUEUES) == FRENCH
    assert select_queue(task(language="en"), RULES, QUEUES) == ENGLISH


def test_rule_on_contact_attributes_wins_when_it_comes_first() -> None:
    vip_call = task(channel=Channel.PHONE, attributes={"segment": "vip"})
    assert select_queue(vip_call, RULES, QUEUES) == VIP


def test_rule_whose_queue_does_not_serve_the_channel_is_passed_over() -> None:
    vip_email = task(channel=Channel.EMAIL, attributes={"segment": "vip"})
    assert select_queue(vip_email, RULES, QUEUES) == FRENCH


def test_undetermined_language_only_enters_a_bilingual_queue() -> None:
    assert select_queue(task(language="und"), RULES, QUEUES) == BILINGUAL


def test_rule_on_skills_needs_the_task_to_require_them() -> None:
    collections = queue(number=305, language="fr")
    rules = [
        QueueRule(queue_id=collections.id, order=1, skills=frozenset({"collections"})),
        *RULES,
    ]
    queues = {**QUEUES, collections.id: collections}
    assert select_queue(task(skills={"collections": 2}), rules, queues) == collections
    assert select_queue(task(skills={"billing": 2}), rules, queues) == FRENCH


def test_no_matching_rule_gives_no_queue() -> None:
    assert select_queue(task(language="und"), RULES[:3], QUEUES) is None
    assert select_queue(task(), [QueueRule(queue_id=uuid.UUID(int=999))], QUEUES) is None


def test_rule_with_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="rule languages must be among"):
        QueueRule(queue_id=FRENCH.id, languages=frozenset({"de"}))
