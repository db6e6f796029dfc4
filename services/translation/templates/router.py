"""HTTP endpoints for bilingual templates: list, read, create, change, delete and render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.translation.deps import (
    EditorDep,
    LanguageDep,
    ReaderDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from services.translation.templates import service
from services.translation.templates.schemas import (
    RenderedRead,
    RenderRequest,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
    TwinProblemRead,
    VersionRead,
)
from services.translation.templates.seed import REQUIRED_KEYS
from shared.db import utc_now
from shared.schemas import Page, problem_responses

router = APIRouter(
    prefix="/translation/v1/templates",
    tags=["templates"],
    responses=problem_responses(401, 403, 422, 503),
)
KeyPath = Annotated[str, Path(max_length=100, examples=["conversation.closing"])]
# The render examples fill in the callback confirmation's variables.
RenderKeyPath = Annotated[str, Path(max_length=100, examples=["callback.confirmation"])]
_REQUIRED = ", ".join(f"`{key}`" for key in sorted(REQUIRED_KEYS))


def _read(record: service.TemplateRecord, language: str) -> TemplateRead:
    return TemplateRead(
        key=record.key,
        versions=[VersionRead.model_validate(row) for row in record.versions],
        problems=[
            TwinProblemRead(
                kind=problem.kind,
                locale=problem.locale,
                twin_locale=problem.twin_locale,
                detail=problem.detail(language),
            )
            for problem in record.problems
        ],
    )


@router.get("", summary="List templates with their versions and the twins to review")
async def list_templates(
    session: ReadSessionDep,
    _: ReaderDep,
    language: LanguageDep,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TemplateRead]:
    records, next_cursor = await service.list_templates(session, after=cursor, limit=limit)
    return Page(items=[_read(record, language) for record in records], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a template in both languages (admin, supervisor)",
    description="Each version needs its other-language twin (en↔fr, en-CA↔fr-CA) in the same "
    "request, unless marked `single_language`; twins declare the same variables. An existing "
    f"key is 409 `template.exists`. A template the inbox sends by itself ({_REQUIRED}) found "
    "absent is created only whole, as for PATCH: 409 `template.required_locales` or "
    "`template.required_variables`.",
    responses=problem_responses(409),
)
async def create_template(
    body: TemplateCreate, session: SessionDep, _: EditorDep, language: LanguageDep
) -> TemplateRead:
    record = await service.create_template(
        session, key=body.key, versions=body.versions, now=utc_now()
    )
    return _read(record, language)


@router.get("/{key}", summary="Read a template", responses=problem_responses(404))
async def read_template(
    key: KeyPath, session: ReadSessionDep, _: ReaderDep, language: LanguageDep
) -> TemplateRead:
    return _read(await service.get_template(session, key), language)


@router.patch(
    "/{key}",
    summary="Change, add or remove versions of a template (admin, supervisor)",
    description="Versions not named stay as they are. Changing one language alone is allowed "
    "when its twin exists: the twin is then reported stale in `problems` until it is revised. "
    "A version sent unchanged keeps its date. The templates the inbox sends by itself "
    f"({_REQUIRED}) must keep an English and a French version (409 "
    "`template.required_locales`) and declare exactly the variables the inbox supplies, their "
    "seeded ones (409 `template.required_variables`); their subjects and bodies may change. "
    "A refused change changes nothing.",
    responses=problem_responses(404, 409),
)
async def update_template(
    key: KeyPath, body: TemplateUpdate, session: SessionDep, _: EditorDep, language: LanguageDep
) -> TemplateRead:
    record = await service.update_template(
        session,
        key=key,
        versions=body.versions,
        remove_locales=body.remove_locales,
        now=utc_now(),
    )
    return _read(record, language)


@router.delete(
    "/{key}",
    status_code=204,
    summary="Delete a template and all its versions (admin, supervisor)",
    description="A deleted seeded template is not seeded again. The templates the inbox sends "
    f"by itself ({_REQUIRED}) cannot be deleted: 409 `template.required`; change their text "
    "with PATCH instead. One found absent at start-up is seeded again.",
    responses=problem_responses(404, 409),
)
async def delete_template(key: KeyPath, session: SessionDep, _: EditorDep) -> Response:
    await service.delete_template(session, key)
    return Response(status_code=204)


@router.post(
    "/{key}/render",
    summary="Render a template for a locale, or in both languages with `und`",
    description="Dates, times, numbers, money and durations are formatted by Babel for the "
    "locale; phone numbers as people write them in the locale's country (« 514 555-0177 », "
    "514-555-0177, another country's in international form). French text gets French "
    "typography. A bare `en` or `fr` formats for the "
    "configured territory. With `und` both languages come in one message, French first unless "
    "`first` or the configuration says otherwise. A number, amount or duration beyond "
    "±10^15 is 422 `template.variable_invalid` whose `limit` member gives that bound.",
    responses=problem_responses(404),
)
async def render_template(
    key: RenderKeyPath,
    body: RenderRequest,
    session: ReadSessionDep,
    _: ReaderDep,
    settings: SettingsDep,
) -> RenderedRead:
    message = await service.render_template(
        session,
        key=key,
        locale=body.locale,
        variables=body.variables,
        language_variables={
            language: dict(values) for language, values in body.language_variables.items()
        },
        time_zone=body.time_zone or settings.template_time_zone,
        first=body.first or settings.bilingual_first,
        default_territory=settings.template_default_territory,
    )
    return RenderedRead(key=key, locale=message.locale, subject=message.subject, body=message.body)
