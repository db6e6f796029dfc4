"""Applies, reverts and checks the database migrations programmatically (one alembic history)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[1]


def alembic_config(database_url: str) -> Config:
    """An alembic configuration bound to the URL, found beside the package or in the cwd."""
    for base in (ROOT, Path.cwd()):
        ini = base / "alembic.ini"
        if ini.exists() and (base / "migrations").is_dir():
            config = Config(str(ini))
            config.set_main_option("script_location", str(base / "migrations"))
            config.attributes["database_url"] = database_url
            config.attributes["configure_logger"] = False
            return config
    raise FileNotFoundError("alembic.ini and migrations/ not found beside the package or in cwd")


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrated schema differ."""
    command.check(alembic_config(database_url))
