"""Eligibility: language before skill, capacity per channel, presence, widening and the why."""

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from services.routing.engine.eligibility import Reason, Refusal, eligible, eligible_agents
from services.routing.engine.model import (
    AgentSnapshot,
    AgentStatus,
    Channel,
    QueueConfig,
    QueueLanguage,
    TaskLanguage,
    TaskSnapshot,
    WideningKind,
    WideningStep,
)

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
NAIVE = NOW.replace(tzinfo=None)
NO_WAIT = timedelta(0)
BILINGUAL_AT_60 = WideningStep(after_seconds=60, kind=WideningKind.BILINGUAL, min_level=3)
TRANSLATE_AT_600 = WideningStep(after_seconds=600, kind=WideningKind.OTHER_LANGUAGE)


def agent(
    *,
    number: int = 1,
    languages: Mapping[str, int] | None = None,
    skills: Mapping[str, int] | None = None,
    status: AgentStatus = AgentStatus.AVAILABLE,
    load: Mapping[Channel, int] | None = None,
    capacity: Mapping[Channel, int] | None = None,
    stream_connected: bool = True,
    tier: int = 1,
) -> AgentSnapshot:
    return AgentSnapshot(
        id=uuid.UUID(int=number),
        languages={"fr": 5} if languages is None else languages,
        skills={"billing": 3} if skills is None else skills,
        status=status,
        idle_since=NOW - timedelta(minutes=5),
        stream_connected=stream_connected,
        load=load or {},
        capacity=capacity or {},
        tier=tier,
    )


def task(
    *,
    channel: Channel = Channel.EMAIL,
    language: TaskLanguage = "fr",
    skills: Mapping[str, int] | None = None,
    declined: frozenset[uuid.UUID] = frozenset(),
) -> TaskSnapshot:
    return TaskSnapshot(
        id=uuid.UUID(int=100),
        channel=channel,
        language=language,
        arrived_at=NOW,
        skills=skills or {},
        declined_agent_ids=declined,
    )


def queue(
    *,
    language: QueueLanguage = "fr",
    channels: frozenset[Channel] = frozenset(Channel),
    required_skills: Mapping[str, int] | None = None,
    widening: tuple[WideningStep, ...] = (BILINGUAL_AT_60, TRANSLATE_AT_600),
    written_during_calls: bool = False,
    tiers: frozenset[int] = frozenset(),
) -> QueueConfig:
    return QueueConfig(
        id=uuid.UUID(int=200),
        name="Facturation",
        language=language,
        channels=channels,
        required_skills={"billing": 2} if required_skills is None else required_skills,
        widening=widening,
        written_during_calls=written_during_calls,
        tiers=tiers,
    )


def codes(reasons: tuple[Reason, ...]) -> set[Refusal]:
    return {reason.code for reason in reasons}


def test_french_agent_with_the_skill_takes_a_french_email() -> None:
    result = eligible(agent(), task(), queue(), waited=NO_WAIT)
    assert result.eligible
    assert result.reasons == ()
    assert dict(result.languages) == {"fr": 5}
    assert result.language_step is None
    assert not result.needs_translation
    assert [(m.skill, m.required, m.held) for m in result.skills] == [("billing", 2, 3)]
    assert (result.capacity, result.load) == (3, 0)


def test_agent_without_the_language_never_gets_it_however_skilled() -> None:
    expert = agent(languages={"en": 5}, skills={"billing": 5})
    result = eligible(expert, task(), queue(), waited=timedelta(seconds=59))
    assert not result.eligible
    assert result.reasons == (Reason(Refusal.LANGUAGE, "fr"),)


def test_language_below_the_queue_level_waits_for_the_bilingual_step() -> None:
    bilingual = agent(languages={"en": 5, "fr": 3})
    before = eligible(bilingual, task(), queue(), waited=timedelta(seconds=59))
    after = eligible(bilingual, task(), queue(), waited=timedelta(seconds=60))
    assert codes(before.reasons) == {Refusal.LANGUAGE}
    assert after.eligible
    assert after.language_step == BILINGUAL_AT_60
    assert dict(after.languages) == {"en": 5, "fr": 3}
    assert after.steps == (BILINGUAL_AT_60,)


def test_bilingual_step_needs_the_other_language_too() -> None:
    weak_french_only = agent(languages={"fr": 3})
    result = eligible(weak_french_only, task(), queue(), waited=timedelta(minutes=5))
    assert codes(result.reasons) == {Refusal.LANGUAGE}


def test_bilingual_step_does_not_go_below_its_level() -> None:
    beginner = agent(languages={"en": 5, "fr": 2})
    result = eligible(beginner, task(), queue(), waited=timedelta(minutes=5))
    assert codes(result.reasons) == {Refusal.LANGUAGE}


def test_other_language_agent_gets_written_work_with_translation_after_ten_minutes() -> None:
    english = agent(languages={"en": 5})
    before = eligible(english, task(), queue(), waited=timedelta(seconds=599))
    after = eligible(english, task(channel=Channel.FAX), queue(), waited=timedelta(minutes=10))
    assert not before.eligible
    assert after.eligible
    assert after.needs_translation
    assert after.language_step == TRANSLATE_AT_600
    assert dict(after.languages) == {"en": 5}


def test_other_language_agent_never_gets_a_call() -> None:
    english = agent(languages={"en": 5})
    result = eligible(english, task(channel=Channel.PHONE), queue(), waited=timedelta(hours=2))
    assert codes(result.reasons) == {Refusal.LANGUAGE}
    assert not result.needs_translation


def test_undetermined_language_needs_an_agent_fluent_in_both() -> None:
    und = task(language="und")
    both = eligible(
        agent(languages={"en": 5, "fr": 4}), und, queue(language="bilingual"), waited=NO_WAIT
    )
    english_only = eligible(
        agent(languages={"en": 5}), und, queue(language="bilingual"), waited=NO_WAIT
    )
    assert both.eligible
    assert dict(both.languages) == {"en": 5, "fr": 4}
    assert codes(english_only.reasons) == {Refusal.LANGUAGE}


def test_undetermined_language_widens_to_a_weaker_second_language() -> None:
    und = task(language="und")
    partly = agent(languages={"en": 5, "fr": 3})
    before = eligible(partly, und, queue(language="bilingual"), waited=timedelta(seconds=30))
    after = eligible(partly, und, queue(language="bilingual"), waited=timedelta(seconds=60))
    assert not before.eligible
    assert after.eligible
    assert after.language_step == BILINGUAL_AT_60


def test_undetermined_language_reaches_one_language_agents_through_translation() -> None:
    english = agent(languages={"en": 5})
    email = eligible(
        english, task(language="und"), queue(language="bilingual"), waited=timedelta(minutes=10)
    )
    call = eligible(
        english,
        task(language="und", channel=Channel.PHONE),
        queue(language="bilingual"),
        waited=timedelta(minutes=10),
    )
    assert email.eligible
    assert email.needs_translation
    assert codes(call.reasons) == {Refusal.LANGUAGE}


def test_the_mildest_due_bilingual_step_is_recorded() -> None:
    strict = WideningStep(after_seconds=60, kind=WideningKind.BILINGUAL, min_level=4)
    loose = WideningStep(after_seconds=120, kind=WideningKind.BILINGUAL, min_level=2)
    demanding = QueueConfig(
        id=uuid.UUID(int=200),
        name="Juridique",
        language="fr",
        channels=frozenset(Channel),
        min_language_level=5,
        widening=(strict, loose),
    )
    fair = agent(languages={"en": 5, "fr": 4}, skills={})
    weak = agent(languages={"en": 5, "fr": 2}, skills={})
    assert eligible(fair, task(), demanding, waited=timedelta(minutes=3)).language_step == strict
    assert eligible(weak, task(), demanding, waited=timedelta(minutes=3)).language_step == loose
    assert not eligible(weak, task(), demanding, waited=timedelta(seconds=90)).eligible


def test_undetermined_language_is_not_served_by_a_single_language_queue() -> None:
    result = eligible(
        agent(languages={"en": 5, "fr": 5}), task(language="und"), queue(), waited=NO_WAIT
    )
    assert codes(result.reasons) == {Refusal.LANGUAGE_NOT_SERVED}


@pytest.mark.parametrize(
    "status", [AgentStatus.OFFLINE, AgentStatus.AWAY, AgentStatus.BUSY, AgentStatus.WRAP_UP]
)
def test_agents_not_available_are_never_eligible(status: AgentStatus) -> None:
    result = eligible(agent(status=status), task(), queue(), waited=NO_WAIT)
    assert result.reasons == (Reason(Refusal.NOT_AVAILABLE, str(status)),)


def test_a_call_fills_the_phone_capacity() -> None:
    on_call = agent(load={Channel.PHONE: 1})
    result = eligible(on_call, task(channel=Channel.PHONE), queue(), waited=NO_WAIT)
    assert Reason(Refusal.NO_CAPACITY, "phone") in result.reasons
    assert (result.capacity, result.load) == (1, 1)


def test_a_call_takes_the_whole_agent_unless_the_queue_allows_written_work() -> None:
    on_call = agent(load={Channel.PHONE: 1})
    strict = eligible(on_call, task(), queue(), waited=NO_WAIT)
    relaxed = eligible(on_call, task(), queue(written_during_calls=True), waited=NO_WAIT)
    assert strict.reasons == (Reason(Refusal.ON_CALL),)
    assert relaxed.eligible


def test_no_call_while_holding_written_work_unless_the_queue_allows_it() -> None:
    writing = agent(load={Channel.EMAIL: 1})
    call = task(channel=Channel.PHONE)
    strict = eligible(writing, call, queue(), waited=NO_WAIT)
    relaxed = eligible(writing, call, queue(written_during_calls=True), waited=NO_WAIT)
    assert strict.reasons == (Reason(Refusal.HOLDING_WRITTEN),)
    assert relaxed.eligible


def test_free_agent_takes_a_call() -> None:
    assert eligible(agent(), task(channel=Channel.PHONE), queue(), waited=NO_WAIT).eligible


def test_email_capacity_defaults_to_three() -> None:
    assert eligible(agent(load={Channel.EMAIL: 2}), task(), queue(), waited=NO_WAIT).eligible
    full = eligible(agent(load={Channel.EMAIL: 3}), task(), queue(), waited=NO_WAIT)
    assert full.reasons == (Reason(Refusal.NO_CAPACITY, "email"),)


def test_fax_capacity_defaults_to_two_and_each_channel_counts_alone() -> None:
    busy_with_email = agent(load={Channel.EMAIL: 3, Channel.FAX: 1})
    full_fax = agent(load={Channel.FAX: 2})
    fax = task(channel=Channel.FAX)
    assert eligible(busy_with_email, fax, queue(), waited=NO_WAIT).eligible
    assert codes(eligible(full_fax, fax, queue(), waited=NO_WAIT).reasons) == {Refusal.NO_CAPACITY}


def test_zero_capacity_means_never_on_that_channel() -> None:
    no_fax = agent(capacity={Channel.FAX: 0})
    result = eligible(no_fax, task(channel=Channel.FAX), queue(), waited=NO_WAIT)
    assert result.reasons == (Reason(Refusal.NO_CAPACITY, "fax"),)


def test_disconnected_stream_blocks_calls_but_not_email() -> None:
    offline_screen = agent(stream_connected=False)
    call = eligible(offline_screen, task(channel=Channel.PHONE), queue(), waited=NO_WAIT)
    assert call.reasons == (Reason(Refusal.STREAM_DISCONNECTED),)
    assert eligible(offline_screen, task(), queue(), waited=NO_WAIT).eligible


def test_missing_skill_and_low_skill_are_told_apart() -> None:
    missing = eligible(agent(skills={}), task(), queue(), waited=NO_WAIT)
    low = eligible(agent(skills={"billing": 1}), task(), queue(), waited=NO_WAIT)
    assert missing.reasons == (Reason(Refusal.SKILL_MISSING, "billing"),)
    assert low.reasons == (Reason(Refusal.SKILL_LEVEL, "billing"),)


def test_task_skills_add_to_the_queue_requirements() -> None:
    needs_more = task(skills={"billing": 4, "collections": 1})
    result = eligible(agent(skills={"billing": 3}), needs_more, queue(), waited=NO_WAIT)
    assert codes(result.reasons) == {Refusal.SKILL_LEVEL, Refusal.SKILL_MISSING}
    assert [(m.skill, m.required) for m in result.skills] == [("billing", 4), ("collections", 1)]


def test_drop_skill_step_records_the_dropped_requirement() -> None:
    drop = WideningStep(after_seconds=120, kind=WideningKind.DROP_SKILL, skill="billing")
    no_billing = agent(skills={})
    before = eligible(no_billing, task(), queue(widening=(drop,)), waited=timedelta(seconds=119))
    after = eligible(no_billing, task(), queue(widening=(drop,)), waited=timedelta(seconds=120))
    assert codes(before.reasons) == {Refusal.SKILL_MISSING}
    assert after.eligible
    assert [m.skill for m in after.dropped] == ["billing"]
    assert after.why()["dropped"] == ["billing"]
    assert after.steps == (drop,)


def test_requirement_the_agent_meets_is_not_recorded_as_dropped() -> None:
    drop = WideningStep(after_seconds=120, kind=WideningKind.DROP_SKILL, skill="billing")
    result = eligible(agent(), task(), queue(widening=(drop,)), waited=timedelta(minutes=5))
    assert result.dropped == ()
    assert result.steps == ()


def test_lower_skill_level_step_records_the_lowered_requirement() -> None:
    lower = WideningStep(after_seconds=30, kind=WideningKind.LOWER_SKILL_LEVEL, min_level=1)
    novice = agent(skills={"billing": 1})
    result = eligible(novice, task(), queue(widening=(lower,)), waited=timedelta(seconds=30))
    assert result.eligible
    assert result.why()["lowered"] == [{"skill": "billing", "from": 2, "to": 1}]
    assert result.dropped == ()


def test_lowered_level_still_refuses_an_agent_without_the_skill() -> None:
    lower = WideningStep(after_seconds=30, kind=WideningKind.LOWER_SKILL_LEVEL, min_level=1)
    result = eligible(agent(skills={}), task(), queue(widening=(lower,)), waited=timedelta(hours=1))
    assert result.reasons == (Reason(Refusal.SKILL_MISSING, "billing"),)


def test_agent_who_declined_the_task_is_not_offered_it_again() -> None:
    declined = task(declined=frozenset({uuid.UUID(int=1)}))
    assert eligible(agent(), declined, queue(), waited=NO_WAIT).reasons == (
        Reason(Refusal.DECLINED),
    )


def test_queue_limited_to_tier_two_refuses_tier_one() -> None:
    tier_two_queue = queue(tiers=frozenset({2}))
    assert eligible(agent(tier=2), task(), tier_two_queue, waited=NO_WAIT).eligible
    assert eligible(agent(tier=1), task(), tier_two_queue, waited=NO_WAIT).reasons == (
        Reason(Refusal.TIER, "1"),
    )


def test_channel_the_queue_does_not_serve_is_refused() -> None:
    email_only = queue(channels=frozenset({Channel.EMAIL}))
    result = eligible(agent(), task(channel=Channel.FAX), email_only, waited=NO_WAIT)
    assert result.reasons == (Reason(Refusal.CHANNEL_NOT_SERVED, "fax"),)


def test_every_reason_is_listed_at_once() -> None:
    hopeless = agent(
        languages={"en": 2}, skills={}, status=AgentStatus.AWAY, load={Channel.EMAIL: 3}
    )
    result = eligible(hopeless, task(), queue(), waited=NO_WAIT)
    assert codes(result.reasons) == {
        Refusal.NOT_AVAILABLE,
        Refusal.NO_CAPACITY,
        Refusal.LANGUAGE,
        Refusal.SKILL_MISSING,
    }


def test_eligible_agents_keeps_only_eligible_ones_in_input_order() -> None:
    agents = [
        agent(number=3),
        agent(number=1, languages={"en": 5}),
        agent(number=2, status=AgentStatus.OFFLINE),
        agent(number=4),
    ]
    result = eligible_agents(agents, task(), queue(), waited=NO_WAIT)
    assert [c.agent.id.int for c in result] == [3, 4]
    assert all(c.eligibility.agent_id == c.agent.id for c in result)


def test_why_is_json_ready_and_names_queue_step_and_capacity() -> None:
    bilingual = agent(languages={"en": 5, "fr": 3}, load={Channel.EMAIL: 1})
    why = eligible(bilingual, task(), queue(), waited=timedelta(seconds=90)).why()
    assert json.loads(json.dumps(why)) == why
    assert why["queue_id"] == str(uuid.UUID(int=200))
    assert why["language_step"] == {
        "after_seconds": 60,
        "kind": "bilingual",
        "min_level": 3,
        "skill": None,
        "channels": [],
    }
    assert (why["capacity"], why["load"]) == (3, 1)
    assert why["waited_seconds"] == 90.0
    assert why["eligible"] is True


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"languages": {"fr": 6}}, "language 'fr' level must be an integer from 1 to 5"),
        ({"skills": {"billing": 0}}, "skill 'billing' level must be an integer from 1 to 5"),
        ({"capacity": {Channel.EMAIL: -1}}, "capacity for .* must be an integer ≥ 0"),
        ({"load": {"telex": 1}}, "'telex' is not a valid Channel"),
        ({"idle_since": NAIVE}, "idle_since must be timezone-aware"),
        ({"tier": 0}, "tier must be a positive integer"),
    ],
)
def test_malformed_agent_snapshots_are_refused(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "id": uuid.UUID(int=1),
        "languages": {"fr": 5},
        "skills": {},
        "status": AgentStatus.AVAILABLE,
        "idle_since": NOW,
        "stream_connected": True,
        **fields,
    }
    with pytest.raises(ValueError, match=message):
        AgentSnapshot(**arguments)  # type: ignore[arg-type]


def test_malformed_task_and_queue_are_refused() -> None:
    with pytest.raises(ValueError, match="task language must be 'en', 'fr' or 'und'"):
        TaskSnapshot(
            id=uuid.UUID(int=1),
            channel=Channel.EMAIL,
            language="es",  # type: ignore[arg-type]
            arrived_at=NOW,
        )
    with pytest.raises(ValueError, match="arrived_at must be timezone-aware"):
        TaskSnapshot(
            id=uuid.UUID(int=1),
            channel=Channel.EMAIL,
            language="fr",
            arrived_at=NAIVE,
        )
    with pytest.raises(ValueError, match="queue language must be"):
        queue(language="de")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one channel"):
        queue(channels=frozenset())


def test_snapshots_cannot_be_changed_after_the_fact() -> None:
    snapshot = agent()
    with pytest.raises(TypeError):
        snapshot.languages["fr"] = 1  # type: ignore[index]
