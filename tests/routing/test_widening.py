"""Widening steps: which apply after a wait, on which channel, and when the next one falls due."""

import uuid
from datetime import timedelta

import pytest

from services.routing.engine.model import Channel, QueueConfig, WideningKind, WideningStep
from services.routing.engine.widening import active_steps, next_step_due

BILINGUAL_AT_60 = WideningStep(after_seconds=60, kind=WideningKind.BILINGUAL, min_level=3)
TRANSLATE_AT_600 = WideningStep(after_seconds=600, kind=WideningKind.OTHER_LANGUAGE)
DROP_BILLING_AT_300 = WideningStep(
    after_seconds=300,
    kind=WideningKind.DROP_SKILL,
    skill="billing",
    channels=frozenset({Channel.EMAIL}),
)


def queue(*steps: WideningStep) -> QueueConfig:
    return QueueConfig(
        id=uuid.UUID(int=1),
        name="Service FR",
        language="fr",
        channels=frozenset(Channel),
        widening=steps,
    )


FRENCH = queue(TRANSLATE_AT_600, DROP_BILLING_AT_300, BILINGUAL_AT_60)


def test_no_step_applies_before_the_first_is_due() -> None:
    assert active_steps(FRENCH, Channel.EMAIL, timedelta(seconds=59)) == []


def test_a_step_applies_from_the_exact_second_it_is_due() -> None:
    assert active_steps(FRENCH, Channel.EMAIL, timedelta(seconds=60)) == [BILINGUAL_AT_60]


def test_steps_accumulate_earliest_first() -> None:
    assert active_steps(FRENCH, Channel.EMAIL, timedelta(minutes=15)) == [
        BILINGUAL_AT_60,
        DROP_BILLING_AT_300,
        TRANSLATE_AT_600,
    ]


def test_other_language_never_applies_to_calls() -> None:
    assert active_steps(FRENCH, Channel.PHONE, timedelta(hours=3)) == [BILINGUAL_AT_60]


def test_other_language_applies_to_fax() -> None:
    assert TRANSLATE_AT_600 in active_steps(FRENCH, Channel.FAX, timedelta(minutes=10))


def test_a_step_limited_to_some_channels_skips_the_others() -> None:
    assert DROP_BILLING_AT_300 in active_steps(FRENCH, Channel.EMAIL, timedelta(minutes=5))
    assert DROP_BILLING_AT_300 not in active_steps(FRENCH, Channel.FAX, timedelta(minutes=5))


def test_a_negative_wait_counts_as_no_wait() -> None:
    immediate = WideningStep(after_seconds=0, kind=WideningKind.BILINGUAL, min_level=2)
    assert active_steps(queue(immediate), Channel.PHONE, timedelta(seconds=-5)) == [immediate]
    assert next_step_due(FRENCH, Channel.EMAIL, timedelta(seconds=-5)) == timedelta(seconds=60)


def test_next_step_due_is_the_time_left_until_it_applies() -> None:
    assert next_step_due(FRENCH, Channel.EMAIL, timedelta(seconds=45)) == timedelta(seconds=15)
    assert next_step_due(FRENCH, Channel.EMAIL, timedelta(seconds=60)) == timedelta(seconds=240)
    assert next_step_due(FRENCH, Channel.FAX, timedelta(seconds=60)) == timedelta(seconds=540)


def test_next_step_due_ignores_steps_that_never_apply_to_the_channel() -> None:
    assert next_step_due(FRENCH, Channel.PHONE, timedelta(seconds=61)) is None


def test_next_step_due_is_none_once_every_step_applies() -> None:
    assert next_step_due(FRENCH, Channel.EMAIL, timedelta(minutes=10)) is None
    assert next_step_due(queue(), Channel.EMAIL, timedelta(0)) is None


def test_queue_keeps_its_steps_sorted_by_wait() -> None:
    assert [s.after_seconds for s in FRENCH.widening] == [60, 300, 600]


def test_other_language_step_naming_phone_is_refused() -> None:
    with pytest.raises(ValueError, match="never applies to calls"):
        WideningStep(
            after_seconds=600, kind=WideningKind.OTHER_LANGUAGE, channels=frozenset({Channel.PHONE})
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "bilingual"}, "min_level must be an integer from 1 to 5"),
        ({"kind": "bilingual", "min_level": 6}, "min_level must be an integer from 1 to 5"),
        ({"kind": "lower_skill_level"}, "min_level must be an integer from 1 to 5"),
        ({"kind": "drop_skill"}, "must name the skill"),
        ({"kind": "drop_skill", "skill": "billing", "min_level": 2}, "takes no min_level"),
        ({"kind": "other_language", "skill": "billing"}, "takes no skill"),
        ({"kind": "bilingual", "min_level": 3, "after_seconds": -1}, "must not be negative"),
        ({"kind": "shout_louder"}, "shout_louder"),
    ],
)
def test_malformed_steps_are_refused(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"after_seconds": 60, **fields}
    with pytest.raises(ValueError, match=message):
        WideningStep(**arguments)  # type: ignore[arg-type]
