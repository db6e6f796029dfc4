"""The default setup: an English and a French queue per channel, and a bilingual one for ``und``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import Queue
from services.routing.queues import service
from services.routing.queues.schemas import HoursDoc, QueueCreate, QueueRuleDoc, WideningStepDoc

#: Names in each queue's own language; the rule order keeps the specific queues first.
DEFAULT_NAMES = {
    ("en", "phone"): "Phone — English",
    ("en", "email"): "Email — English",
    ("en", "fax"): "Fax — English",
    ("fr", "phone"): "Téléphone — français",
    ("fr", "email"): "Courriel — français",
    ("fr", "fax"): "Télécopie — français",
}
BILINGUAL_NAME = "Bilingual — bilingue"
BILINGUAL_STEP = WideningStepDoc(after_seconds=60, kind="bilingual", min_level=3)
TRANSLATION_STEP = WideningStepDoc(after_seconds=600, kind="other_language")


def default_queues(time_zone: str) -> list[QueueCreate]:
    """The seeded queues: calls answered 80 % in 20 s, written contacts 90 % in 4 h."""
    hours = HoursDoc(time_zone=time_zone)
    queues = []
    for (language, channel), name in DEFAULT_NAMES.items():
        phone = channel == "phone"
        queues.append(
            QueueCreate(
                name=name,
                language=language,
                channels=[channel],
                priority=10 if phone else 0,
                service_level_seconds=20 if phone else 4 * 3600,
                service_level_percent=80 if phone else 90,
                wrap_up_seconds=30 if phone else 0,
                offer_timeout_seconds=20 if phone else 60,
                widening=[BILINGUAL_STEP] if phone else [BILINGUAL_STEP, TRANSLATION_STEP],
                hours=hours,
                rules=[QueueRuleDoc(order=10, channels=[channel], languages=[language])],
            )
        )
    queues.append(
        QueueCreate(
            name=BILINGUAL_NAME,
            language="bilingual",
            channels=["phone", "email", "fax"],
            service_level_seconds=60,
            wrap_up_seconds=30,
            widening=[BILINGUAL_STEP, TRANSLATION_STEP],
            hours=hours,
            rules=[QueueRuleDoc(order=100, languages=["und"])],
        )
    )
    return queues


async def seed_default_queues(session: AsyncSession, *, time_zone: str, now: datetime) -> int:
    """Create the default queues when there is no queue at all; returns how many were made."""
    if await session.scalar(select(func.count()).select_from(Queue)):
        return 0
    created = default_queues(time_zone)
    for data in created:
        await service.create_queue(session, data=data, now=now)
    return len(created)
