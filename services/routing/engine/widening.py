"""Which widening steps of a queue apply after a task has waited a given time."""

from __future__ import annotations

from datetime import timedelta

from services.routing.engine.model import Channel, QueueConfig, WideningStep


def _waited_seconds(waited: timedelta) -> float:
    # Clocks of different replicas can put arrival slightly in the future: that is no wait yet.
    return max(waited.total_seconds(), 0.0)


def active_steps(queue: QueueConfig, channel: Channel, waited: timedelta) -> list[WideningStep]:
    """The queue's steps in force for ``channel`` after ``waited``, earliest first."""
    seconds = _waited_seconds(waited)
    return [
        step
        for step in queue.widening
        if step.applies_to(channel) and step.after_seconds <= seconds
    ]


def next_step_due(queue: QueueConfig, channel: Channel, waited: timedelta) -> timedelta | None:
    """Time left until the next step for ``channel`` applies, or None when none is left."""
    seconds = _waited_seconds(waited)
    pending = [
        step.after_seconds
        for step in queue.widening
        if step.applies_to(channel) and step.after_seconds > seconds
    ]
    if not pending:
        return None
    return timedelta(seconds=min(pending)) - max(waited, timedelta(0))
