"""Templates: the twin rules on every write, listing, rendering, and seeding the approved set."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.translation.errors import (
    LocaleRepeated,
    NoVersionLeft,
    RequiredLocales,
    RequiredVariables,
    TemplateExists,
    TemplateNotFound,
    TemplateRequired,
    TemplateVersionNotFound,
    TwinMissing,
    TwinVariablesDiffer,
    template_problem,
)
from services.translation.models import Template, TemplateSeed, insert_new
from services.translation.templates.errors import TemplateError
from services.translation.templates.render import (
    DEFAULT_CURRENCY,
    TEMPLATE_LOCALES,
    RenderedMessage,
    TemplateVersion,
    Variable,
    choose_version,
    in_language,
    language_of,
    render,
    render_bilingual,
    validate_key,
    validate_template,
)
from services.translation.templates.schemas import VersionWrite
from services.translation.templates.seed import (
    REQUIRED_KEYS,
    REQUIRED_VARIABLES,
    SEED_TEMPLATES,
)
from services.translation.templates.superseded import (
    SUPERSEDED_SEEDS,
    SUPERSEDED_VARIABLES,
    SupersededSeed,
    SupersededVariables,
)
from services.translation.templates.twins import TwinProblem, check_twins
from shared.logging import get_logger

log = get_logger(__name__)
_ORDER = {locale: i for i, locale in enumerate(TEMPLATE_LOCALES)}


@dataclass(frozen=True)
class TemplateRecord:
    """A template as stored: its versions in locale order and the twins to review."""

    key: str
    versions: list[Template]
    problems: list[TwinProblem]


def _variables(raw: Iterable[Mapping[str, Any]]) -> tuple[Variable, ...]:
    return tuple(
        Variable(v["name"], v.get("type", "text"), v.get("currency", DEFAULT_CURRENCY)) for v in raw
    )


def _pure(row: Template) -> TemplateVersion:
    return TemplateVersion(
        row.key,
        row.locale,
        row.subject,
        row.body,
        _variables(row.variables),
        row.single_language,
        row.updated_at,
    )


def _record(key: str, rows: Iterable[Template]) -> TemplateRecord:
    versions = sorted(rows, key=lambda row: _ORDER.get(row.locale, len(_ORDER)))
    return TemplateRecord(key, versions, check_twins(_pure(row) for row in versions))


async def _versions(session: AsyncSession, key: str, *, lock: bool = False) -> list[Template]:
    stmt = select(Template).where(Template.key == key)
    if lock:
        # Locked rows are read as they are now, not as this session first loaded them.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    rows = list(await session.scalars(stmt))
    if not rows:
        raise TemplateNotFound(key=key)
    return rows


def _checked(key: str, writes: Sequence[VersionWrite], now: datetime) -> list[TemplateVersion]:
    """The requested versions, each valid; raises the API error for the first fault found."""
    try:
        validate_key(key)
    except TemplateError as error:
        raise template_problem(error) from error
    versions: list[TemplateVersion] = []
    for index, write in enumerate(writes):
        variables = tuple(
            # only money reads a currency: any other type keeps the default, compared equal
            Variable(v.name, v.type, v.currency.upper() if v.type == "money" else DEFAULT_CURRENCY)
            for v in write.variables
        )
        version = TemplateVersion(
            key, write.locale, write.subject, write.body, variables, write.single_language, now
        )
        try:
            validate_template(version)
        except TemplateError as error:
            raise template_problem(error, at=f"versions.{index}.") from error
        versions.append(version)
    return versions


def _no_repeats(locales: Iterable[str]) -> None:
    seen: set[str] = set()
    for locale in locales:
        if locale in seen:
            raise LocaleRepeated(locale=locale)
        seen.add(locale)


def _enforce_twins(versions: Iterable[TemplateVersion]) -> None:
    """Refuse a lone language not marked single-language, and twins with other variables."""
    for problem in check_twins(versions):
        key, locale, twin = problem.key, problem.locale, problem.twin_locale
        if problem.kind == "missing_twin":
            raise TwinMissing(key=key, locale=locale, twin=twin)
        if problem.kind == "variables_differ":
            raise TwinVariablesDiffer(key=key, locale=locale, twin=twin)


def _enforce_required(key: str, versions: Collection[TemplateVersion]) -> None:
    """Refuse, for a key the inbox renders by itself, a language left without a version or
    variables other than those the inbox passes: each automatic reply would fail to render."""
    if key not in REQUIRED_KEYS:
        return
    if not {"en", "fr"} <= {language_of(version.locale) for version in versions}:
        raise RequiredLocales(key=key)
    required = REQUIRED_VARIABLES[key]
    # the declaration order does not matter to rendering; names, types and currencies do
    if any(set(version.variables) != set(required) for version in versions):
        listed = ", ".join(f"{variable.name} ({variable.type})" for variable in required)
        raise RequiredVariables(key=key, variables=listed)


def _variables_json(version: TemplateVersion) -> list[dict[str, Any]]:
    return [
        {"name": v.name, "type": v.type, "currency": v.currency}
        if v.type == "money"
        else {"name": v.name, "type": v.type}
        for v in version.variables
    ]


def _write(row: Template, version: TemplateVersion, now: datetime) -> None:
    row.subject, row.body = version.subject, version.body
    row.variables = _variables_json(version)
    row.single_language = version.single_language
    row.updated_at = now


def _new_row(version: TemplateVersion, now: datetime) -> Template:
    row = Template(id=uuid.uuid4(), key=version.key, locale=version.locale, created_at=now)
    _write(row, version, now)
    return row


async def list_templates(
    session: AsyncSession, *, after: str | None, limit: int
) -> tuple[list[TemplateRecord], str | None]:
    """Templates ordered by key after the cursor ``after``; returns a page and the next cursor."""
    keys_stmt = select(Template.key).distinct().order_by(Template.key).limit(limit + 1)
    if after is not None:
        keys_stmt = keys_stmt.where(Template.key > after)
    keys = list(await session.scalars(keys_stmt))
    page, more = keys[:limit], len(keys) > limit
    rows = await session.scalars(select(Template).where(Template.key.in_(page)))
    grouped: dict[str, list[Template]] = {key: [] for key in page}
    for row in rows:
        grouped[row.key].append(row)
    records = [_record(key, versions) for key, versions in grouped.items()]
    return records, page[-1] if more else None


async def get_template(session: AsyncSession, key: str) -> TemplateRecord:
    """The template's versions and twin problems; raises TemplateNotFound."""
    return _record(key, await _versions(session, key))


async def create_template(
    session: AsyncSession, *, key: str, versions: Sequence[VersionWrite], now: datetime
) -> TemplateRecord:
    """Store a new template; raises on a bad version, a missing twin, a required template not
    whole, or an existing key."""
    _no_repeats(write.locale for write in versions)
    checked = _checked(key, versions, now)
    _enforce_required(key, checked)
    _enforce_twins(checked)
    if await session.scalar(select(Template.id).where(Template.key == key).limit(1)) is not None:
        raise TemplateExists(key=key)
    rows = [_new_row(version, now) for version in checked]
    session.add_all(rows)
    try:
        await session.flush()
    except IntegrityError as error:  # created by a concurrent request since the check above
        raise TemplateExists(key=key) from error
    return _record(key, rows)


def _same_text(old: TemplateVersion, new: TemplateVersion) -> bool:
    return (old.subject, old.body, old.variables) == (new.subject, new.body, new.variables)


async def update_template(
    session: AsyncSession,
    *,
    key: str,
    versions: Sequence[VersionWrite],
    remove_locales: Sequence[str],
    now: datetime,
) -> TemplateRecord:
    """Replace, add and remove versions; an unchanged text keeps its date, so twins stay fresh.
    A required template must keep both languages and its variables (RequiredLocales,
    RequiredVariables), checked on the whole result before anything is written."""
    _no_repeats([*(write.locale for write in versions), *remove_locales])
    # Wait for any concurrent change of this template, then read it as that change left it: a
    # version it added is only seen by a statement begun after the wait (READ COMMITTED).
    await _versions(session, key, lock=True)
    rows = {row.locale: row for row in await _versions(session, key, lock=True)}
    for locale in remove_locales:
        if locale not in rows:
            raise TemplateVersionNotFound(key=key, locale=locale)
    checked = _checked(key, versions, now)
    state = {locale: _pure(row) for locale, row in rows.items() if locale not in remove_locales}
    for version in checked:
        old = state.get(version.locale)
        if old is not None and _same_text(old, version):
            # only the single-language mark may differ: the text, so its date, stays
            version = dataclasses.replace(version, updated_at=old.updated_at)
        state[version.locale] = version
    _enforce_required(key, state.values())
    if not state:
        raise NoVersionLeft(key=key)
    _enforce_twins(state.values())
    for locale in remove_locales:
        await session.delete(rows.pop(locale))
    for version in checked:
        row = rows.get(version.locale)
        stored = state[version.locale]
        if row is None:
            rows[version.locale] = row = _new_row(stored, now)
            session.add(row)
        else:
            _write(row, stored, stored.updated_at or now)
    await session.flush()
    return _record(key, rows.values())


async def delete_template(session: AsyncSession, key: str) -> None:
    """Delete every version of the template; raises TemplateRequired, TemplateNotFound."""
    if key in REQUIRED_KEYS:
        raise TemplateRequired(key=key)
    for row in await _versions(session, key, lock=True):
        await session.delete(row)
    await session.flush()


async def render_template(
    session: AsyncSession,
    *,
    key: str,
    locale: str,
    variables: Mapping[str, object],
    time_zone: str | None,
    first: Literal["fr", "en"],
    default_territory: str | None,
    language_variables: Mapping[str, Mapping[str, object]] | None = None,
) -> RenderedMessage:
    """The template rendered for ``locale``, or both languages for ``und``; raises AppErrors.
    ``language_variables``: values written in each language, laid over ``variables``."""
    versions = [_pure(row) for row in await _versions(session, key)]
    options: dict[str, Any] = {"time_zone": time_zone, "default_territory": default_territory}
    try:
        if locale.strip().lower() != "und":
            version = choose_version(versions, _regional(locale, default_territory))
            own = in_language(variables, language_variables, language_of(version.locale))
            return render(version, own, locale=locale, **options)
        by_language = {
            language: choose_version(versions, _regional(language, default_territory))
            for language in ("fr", "en")
            if any(language_of(v.locale) == language for v in versions)
        }
        if len(by_language) == 1:  # a single-language template has only one to give
            (only,) = by_language.values()
            own = in_language(variables, language_variables, language_of(only.locale))
            return render(only, own, locale=only.locale, **options)
        french, english = by_language["fr"], by_language["en"]
        return render_bilingual(
            french,
            english,
            variables,
            french_locale=french.locale,
            english_locale=english.locale,
            first=first,
            language_variables=language_variables,
            **options,
        )
    except TemplateError as error:
        raise template_problem(error) from error


def _regional(locale: str, territory: str | None) -> str:
    """A bare language with the configured territory, so ``fr`` prefers a ``fr-CA`` version."""
    bare = "-" not in locale and "_" not in locale and language_of(locale) in ("en", "fr")
    return f"{locale}-{territory}" if bare and territory else locale


async def seed_templates(
    session: AsyncSession,
    *,
    now: datetime,
    templates: Iterable[TemplateVersion] = SEED_TEMPLATES,
    required: frozenset[str] = REQUIRED_KEYS,
) -> int:
    """Add each seeded version never offered before, and every version of a ``required`` key
    with none left (safe with replicas); returns how many versions were added."""
    templates = tuple(templates)
    added = 0
    for version in templates:
        marker = insert_new(session, TemplateSeed).values(
            key=version.key, locale=version.locale, seeded_at=now
        )
        if await session.scalar(marker.returning(TemplateSeed.key)) is None:
            continue  # offered before: kept, edited or deliberately deleted since
        added += await _insert_seed(session, version, now)
    # A required key with no version left (deleted before deletion was refused, or by hand)
    # would fail every automatic reply: it comes back whole. One with any version left was
    # edited on purpose and stays as it is.
    present = set(await session.scalars(select(Template.key).where(Template.key.in_(required))))
    for key in sorted(required - present):
        restored = 0
        for version in (version for version in templates if version.key == key):
            restored += await _insert_seed(session, version, now)
        if restored:
            log.warning("templates.required_restored", key=key, versions=restored)
        added += restored
    return added


async def upgrade_seeds(
    session: AsyncSession,
    *,
    now: datetime,
    templates: Iterable[TemplateVersion] = SEED_TEMPLATES,
    superseded: Iterable[SupersededSeed] = SUPERSEDED_SEEDS,
    superseded_variables: Iterable[SupersededVariables] = SUPERSEDED_VARIABLES,
) -> int:
    """Give each stored version still exactly as an earlier release seeded it, never written
    since, the current seed's text, dated ``now`` as an edit is; returns how many were replaced.

    The text alone does not tell: an administrator may have saved an earlier seed's text on
    purpose (restored it), and that edit stands. A version is replaced only if it is untouched
    (``_untouched``): its date is still the one its seed marker records.

    A version declaring its key's earlier variables (``superseded_variables``), with today's
    text or an earlier one, is replaced too, but only if every version of its key can be
    (``_declarations_upgradable``): twins never end up declaring different variables.

    Its twins still holding their current seed text (unchanged between releases, or replaced
    here too) are dated ``now`` as well: the pair was revised together, so neither reads as
    stale. A twin someone edited keeps its date, and is then reported older, to review."""
    current = {(version.key, version.locale): version for version in templates}
    declared: dict[str, list[tuple[Variable, ...]]] = {}
    for declaration in superseded_variables:
        declared.setdefault(declaration.key, []).append(declaration.variables)
    # today's text declared as an earlier release did is an earlier seed as well
    earlier_seeds = [
        *superseded,
        *(SupersededSeed(v.key, v.locale, v.subject, v.body)
          for v in current.values() if v.key in declared),
    ]  # fmt: skip
    upgradable: dict[str, bool] = {}
    upgraded: set[str] = set()
    replaced = 0
    for earlier in earlier_seeds:
        seed = current.get((earlier.key, earlier.locale))
        if seed is None:
            continue
        stmt = (
            select(Template)
            .where(
                Template.key == earlier.key,
                Template.locale == earlier.locale,
                Template.subject == earlier.subject,
                Template.body == earlier.body,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = await session.scalar(stmt)
        if row is None:
            continue  # edited since, replaced by another replica, or deleted: it stands
        variables = _variables(row.variables)
        if variables != seed.variables and variables not in declared.get(earlier.key, ()):
            continue  # declared otherwise since: an administrator's
        if _same_text(_pure(row), seed):
            continue  # already today's seed
        if not await _untouched(session, row):
            continue  # an administrator's text, though the earlier seed's word for word
        if variables != seed.variables:
            if earlier.key not in upgradable:
                upgradable[earlier.key] = await _declarations_upgradable(
                    session, earlier.key, current, earlier_seeds
                )
            if not upgradable[earlier.key]:
                continue  # a twin someone wrote keeps the earlier declaration: so does this
        _write(row, seed, now)
        await _mark_seeded(session, row, now)
        upgraded.add(earlier.key)
        replaced += 1
        log.info("templates.seed_upgraded", key=earlier.key, locale=earlier.locale)
    await session.flush()
    for key in sorted(upgraded):
        for row in await _versions(session, key, lock=True):
            seed = current.get((key, row.locale))
            if seed is not None and row.updated_at != now and _same_text(_pure(row), seed):
                if await _untouched(session, row):
                    await _mark_seeded(session, row, now)  # still as seeded: upgradable later
                row.updated_at = now
    await session.flush()
    return replaced


async def _declarations_upgradable(
    session: AsyncSession,
    key: str,
    current: Mapping[tuple[str, str], TemplateVersion],
    earlier_seeds: Iterable[SupersededSeed],
) -> bool:
    """Whether every version of ``key`` can take today's seed: declared as today already, or an
    untouched seed text, today's or an earlier one, that start-up replaces."""
    seeded = {(s.locale, s.subject, s.body) for s in earlier_seeds if s.key == key}
    for row in await _versions(session, key, lock=True):
        seed = current.get((key, row.locale))
        if seed is not None and _variables(row.variables) == seed.variables:
            continue
        if seed is None or (row.locale, row.subject, row.body) not in seeded:
            return False
        if not await _untouched(session, row):
            return False
    return True


async def _untouched(session: AsyncSession, row: Template) -> bool:
    """Whether the version is as start-up last wrote it: not written since (its date is still
    the one its seed marker records) and not marked single-language, as no seed is.

    Every write dates a changed text (``update_template``), and a version deleted and written
    again is a new row with a new date, so an edit back to the seed's text is told apart. A
    write that leaves text and mark as they were stores nothing, so it cannot be."""
    seeded_at = await session.scalar(
        select(TemplateSeed.seeded_at).where(
            TemplateSeed.key == row.key, TemplateSeed.locale == row.locale
        )
    )
    return seeded_at is not None and row.updated_at == seeded_at and not row.single_language


async def _mark_seeded(session: AsyncSession, row: Template, now: datetime) -> None:
    """Record that start-up wrote the version at ``now`` (its new date), so it stays untouched."""
    await session.execute(
        update(TemplateSeed)
        .where(TemplateSeed.key == row.key, TemplateSeed.locale == row.locale)
        .values(seeded_at=now)
    )


async def _insert_seed(session: AsyncSession, version: TemplateVersion, now: datetime) -> int:
    """Insert one seeded version unless its key and locale exist; returns 1 if inserted, else 0."""
    row = {"id": uuid.uuid4(), "key": version.key, "locale": version.locale, "created_at": now}
    values = {**row, "subject": version.subject, "body": version.body,
              "variables": _variables_json(version), "single_language": False,
              "updated_at": now}  # fmt: skip
    inserted = await session.scalar(
        insert_new(session, Template).values(**values).returning(Template.id)
    )
    return 0 if inserted is None else 1
