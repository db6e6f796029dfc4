"""Machine translation through the configured provider, answered from the cache when possible."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.translation.errors import SameLanguage, TranslationNotConfigured
from services.translation.models import MachineTranslation, insert_new
from services.translation.mt.provider import TranslationProvider
from services.translation.mt.schemas import MtLanguage, TranslateResult
from shared.db import session_scope


def text_digest(text: str) -> str:
    """The cache's key for a text: the SHA-256 of its UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


async def translate_text(
    sessions: async_sessionmaker[AsyncSession],
    provider: TranslationProvider | None,
    *,
    text: str,
    source: MtLanguage,
    target: MtLanguage,
    now: datetime,
) -> TranslateResult:
    """The text in ``target``, from the cache or the provider; raises 501, 422 or 503 errors.

    The cache is read and written in two short transactions with the provider's call between
    them: no transaction stays open while the provider answers (on SQLite it would hold the one
    write lock for as long as the provider's timeout).
    """
    if provider is None:
        raise TranslationNotConfigured()
    if source == target:
        raise SameLanguage(language=source)
    key = (provider.name, source, target, text_digest(text))
    async with session_scope(sessions) as session:
        cached = await session.get(MachineTranslation, key)
    if cached is not None:
        return TranslateResult(
            text=cached.translated_text,
            source=source,
            target=target,
            provider=provider.name,
            cached=True,
        )
    translated = await provider.translate(text, source=source, target=target)
    async with session_scope(sessions) as session:
        # a concurrent request may have stored the same translation meanwhile: keep the first
        await session.execute(
            insert_new(session, MachineTranslation).values(
                provider=key[0],
                source=source,
                target=target,
                text_sha256=key[3],
                translated_text=translated,
                created_at=now,
            )
        )
    return TranslateResult(
        text=translated, source=source, target=target, provider=provider.name, cached=False
    )
