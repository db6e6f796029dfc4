"""Dependencies of the translation service's routes, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.translation.mt.provider import TranslationProvider
from services.translation.settings import TranslationSettings
from shared.auth import Principal, Role
from shared.i18n import negotiate_locale
from shared.web import ReadSessionDep, SessionDep, require_roles, service_context

__all__ = [
    "EditorDep",
    "LanguageDep",
    "ProviderDep",
    "ReadSessionDep",
    "ReaderDep",
    "SessionDep",
    "SessionsDep",
    "SettingsDep",
    "TranslatorDep",
]

PROVIDER_EXTRA = "mt_provider"


async def get_settings(request: Request) -> TranslationSettings:
    settings = service_context(request).settings
    assert isinstance(settings, TranslationSettings)
    return settings


async def get_language(request: Request) -> str:
    """The language the caller reads (``Accept-Language``), for texts inside responses."""
    default = service_context(request).settings.default_locale
    return negotiate_locale(request.headers.get("accept-language"), default)


async def get_provider(request: Request) -> TranslationProvider | None:
    """The configured machine-translation provider, or None when it is off."""
    provider: TranslationProvider | None = service_context(request).extras.get(PROVIDER_EXTRA)
    return provider


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that must not hold a transaction open across a slow call."""
    return service_context(request).require_sessions()


SettingsDep = Annotated[TranslationSettings, Depends(get_settings)]
LanguageDep = Annotated[str, Depends(get_language)]
ProviderDep = Annotated[TranslationProvider | None, Depends(get_provider)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
ReaderDep = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE))
]
EditorDep = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
TranslatorDep = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE))
]
