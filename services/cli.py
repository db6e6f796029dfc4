"""The ``inbox`` command: serve the services, migrate the database, manage API tokens."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp

from services import migrate, sqlite_guard
from services.inbox.auth import service as token_service
from services.inbox.ingest.parsing import with_parser_workers
from services.inbox.settings import InboxSettings
from services.routing.settings import RoutingSettings
from services.translation.settings import TranslationSettings
from shared.auth import TOKEN_ROLES, Role
from shared.clients.base import ConfigurationError
from shared.db import create_engine, create_sessionmaker, ping, session_scope
from shared.errors import AppError
from shared.logging import configure_logging, get_logger
from shared.settings import UNPREFIXED_FIELDS, CommonSettings, unknown_variables

SETTINGS: dict[str, type[CommonSettings]] = {
    "inbox": InboxSettings,
    "routing": RoutingSettings,
    "translation": TranslationSettings,
}
DEFAULT_PORTS = {"all": 8000, "inbox": 8001, "routing": 8002, "translation": 8003}
PEERS = {"inbox": ("routing", "translation"), "routing": ("inbox",), "translation": ("inbox",)}


log = get_logger(__name__)


class StartupError(Exception):
    """A configuration or environment problem, reported as one line."""


def _load(kind: type[CommonSettings]) -> CommonSettings:
    try:
        return kind()
    except ValidationError as exc:
        first = exc.errors()[0]
        prefix = str(kind.model_config.get("env_prefix", ""))
        field = ".".join(str(part) for part in first["loc"])
        name = f"{prefix}{field.upper()}"
        if field in UNPREFIXED_FIELDS:
            name += f" (or {field.upper()})"
        raise StartupError(f"invalid setting {name}: {first['msg']}") from exc


def _warn_unknown_variables() -> None:
    """A variable with a service's prefix that is no setting is ignored: say so at start-up,
    with the setting it probably meant."""
    for name, meant in unknown_variables(SETTINGS.values(), os.environ):
        log.warning("settings.unknown_variable", variable=name, did_you_mean=meant)


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _check_database(settings: CommonSettings) -> None:
    async def probe() -> None:
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            await asyncio.wait_for(ping(engine), timeout=10)
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure to connect is reported as one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StartupError(
            f"cannot reach the database {_describe(settings.database_url)}: {reason}"
        ) from exc


def _check_peers(name: str, settings: CommonSettings) -> None:
    prefix = str(settings.model_config.get("env_prefix", ""))
    for peer in PEERS[name]:
        if not getattr(settings, f"{peer}_url"):
            raise StartupError(
                f"{prefix}{peer.upper()}_URL is not set: the {name} service needs the {peer} "
                "service's base URL when it runs alone"
            )
    if settings.service_token is None:
        raise StartupError(
            f"{prefix}SERVICE_TOKEN (or SERVICE_TOKEN) is not set: the services need a shared "
            "secret to call each other when they run apart"
        )


def _claim(service: str, settings: CommonSettings) -> None:
    try:
        sqlite_guard.claim(settings.database_url, [service])
    except sqlite_guard.ServedElsewhere as exc:
        raise StartupError(str(exc)) from exc


def serve(service: str, host: str, port: int | None, migrate_first: bool) -> None:
    """Start one service, or all three in one process."""
    if service == "all":
        from services.all_in_one import create_all_in_one

        inbox, routing, translation = (_load(kind) for kind in SETTINGS.values())
        configure_logging(inbox.log_level, json=inbox.log_json)
        _warn_unknown_variables()
        _check_database(inbox)
        for name, each in zip(SETTINGS, (inbox, routing, translation), strict=True):
            _claim(name, each)
        if migrate_first:
            migrate.upgrade(inbox.database_url)
        assert isinstance(inbox, InboxSettings)
        assert isinstance(routing, RoutingSettings)
        assert isinstance(translation, TranslationSettings)
        app = create_all_in_one(inbox, routing, translation)
        level = inbox.log_level
    else:
        settings = _load(SETTINGS[service])
        configure_logging(settings.log_level, json=settings.log_json)
        _warn_unknown_variables()
        _check_peers(service, settings)
        _check_database(settings)
        _claim(service, settings)
        if migrate_first:
            migrate.upgrade(settings.database_url)
        app = _service_app(service, settings)
        level = settings.log_level
    if service in ("all", "inbox"):
        app = with_parser_workers(app)
    uvicorn.run(
        app,
        host=host,
        port=port or DEFAULT_PORTS[service],
        log_config=None,
        log_level=level,
        proxy_headers=True,
    )


def _service_app(service: str, settings: CommonSettings) -> ASGIApp:
    if service == "inbox":
        from services.inbox.app import create_app as create_inbox

        assert isinstance(settings, InboxSettings)
        return create_inbox(settings)
    if service == "routing":
        from services.routing.app import create_app as create_routing

        assert isinstance(settings, RoutingSettings)
        return create_routing(settings)
    from services.translation.app import create_app as create_translation

    assert isinstance(settings, TranslationSettings)
    return create_translation(settings)


async def _create_token(
    settings: CommonSettings, role: Role, name: str, agent_id: uuid.UUID | None
) -> str:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            _, secret = await token_service.create_token(
                session, role=role, name=name, agent_id=agent_id
            )
    finally:
        await engine.dispose()
    return secret


async def _revoke_token(settings: CommonSettings, token_id: uuid.UUID) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            await token_service.revoke_token(session, token_id)
    finally:
        await engine.dispose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inbox", description="Bilingual omnichannel inbox: services, database and tokens."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run all services in one process, or one")
    serve_cmd.add_argument("service", nargs="?", default="all", choices=[*SETTINGS, "all"])
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=None)
    serve_cmd.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply migrations at start (the all-in-one applies them by default)",
    )
    serve_cmd.add_argument(
        "--migrate", action="store_true", help="apply migrations before starting one service"
    )

    db_cmd = commands.add_parser("db", help="database migrations")
    db_actions = db_cmd.add_subparsers(dest="action", required=True)
    upgrade_cmd = db_actions.add_parser("upgrade", help="apply migrations")
    upgrade_cmd.add_argument("revision", nargs="?", default="head")
    downgrade_cmd = db_actions.add_parser("downgrade", help="revert migrations")
    downgrade_cmd.add_argument("revision", nargs="?", default="base")
    db_actions.add_parser("check", help="fail if models and migrations differ")

    token_cmd = commands.add_parser("token", help="API tokens")
    token_actions = token_cmd.add_subparsers(dest="action", required=True)
    create_cmd = token_actions.add_parser("create", help="create a token and print it")
    create_cmd.add_argument("--role", required=True, choices=[role.value for role in TOKEN_ROLES])
    create_cmd.add_argument("--agent-id", type=uuid.UUID, default=None)
    create_cmd.add_argument("--name", default=None)
    revoke_cmd = token_actions.add_parser("revoke", help="revoke a token by id")
    revoke_cmd.add_argument("token_id", type=uuid.UUID)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        migrate_first = not args.no_migrate if args.service == "all" else args.migrate
        serve(args.service, args.host, args.port, migrate_first)
        return 0
    settings = _load(InboxSettings)
    if args.command == "db":
        _check_database(settings)
        if args.action == "upgrade":
            migrate.upgrade(settings.database_url, args.revision)
        elif args.action == "downgrade":
            migrate.downgrade(settings.database_url, args.revision)
        else:
            migrate.check(settings.database_url)
        return 0
    if args.action == "create":
        role = Role(args.role)
        if (role is Role.AGENT) != (args.agent_id is not None):
            raise StartupError("--agent-id is required for --role agent and refused otherwise")
        name = args.name or f"{role.value} token"
        print(asyncio.run(_create_token(settings, role, name, args.agent_id)))
        return 0
    asyncio.run(_revoke_token(settings, args.token_id))
    return 0


def main() -> None:
    """Console entry point: one clear line on stderr for configuration problems."""
    try:
        sys.exit(run())
    except (StartupError, ConfigurationError, AppError) as exc:
        print(f"inbox: {exc}", file=sys.stderr)
        sys.exit(2)
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        print(
            f"inbox: database error ({reason}); is it migrated? run 'inbox db upgrade'",
            file=sys.stderr,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
