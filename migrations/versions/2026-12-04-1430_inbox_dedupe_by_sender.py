"""inbox: an email's Message-ID dedupe key names its sender too

Revision ID: a1c0de00000d
Revises: a1c0de00000c
Create Date: 2026-12-04 14:30:00

Some mailers and web forms give every email one Message-ID: a second customer's email with the
first one's Message-ID was answered as a re-post of it, and lost. The key of an email stored by
its Message-ID, ``mid:<inbox address>:<Message-ID>``, becomes
``mid:<inbox address>:<sender>:<Message-ID>`` (cut to 700 characters, as before), so that a
gateway re-posting an email stored before this revision is still told it is a duplicate.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de00000d"
down_revision: str | None = "a1c0de00000c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGES = sa.table(
    "inbox_message",
    sa.column("id", sa.Uuid()),
    sa.column("dedupe_key", sa.String(700)),
    sa.column("from_address", sa.String(320)),
)
BATCH = 1000


def _rewrite(new_key: Callable[[str, str], str | None]) -> None:
    """Give every Message-ID key the key ``new_key(key, sender)`` makes (None: kept as it is),
    a batch of rows at a time; a key another row holds already is kept as it is."""
    bind = op.get_bind()
    update = (
        sa.update(MESSAGES)
        .where(MESSAGES.c.id == sa.bindparam("row_id"))
        .values(dedupe_key=sa.bindparam("key"))
    )
    after = None
    while True:
        batch = sa.select(MESSAGES.c.id, MESSAGES.c.dedupe_key, MESSAGES.c.from_address).where(
            MESSAGES.c.dedupe_key.like("mid:%")
        )
        if after is not None:
            batch = batch.where(MESSAGES.c.id > after)
        rows = bind.execute(batch.order_by(MESSAGES.c.id).limit(BATCH)).all()
        if not rows:
            return
        after = rows[-1].id
        keys = {row.id: new_key(row.dedupe_key, (row.from_address or "").lower()) for row in rows}
        wanted = {key for key in keys.values() if key is not None}
        taken = set(
            bind.scalars(sa.select(MESSAGES.c.dedupe_key).where(MESSAGES.c.dedupe_key.in_(wanted)))
        )
        changes = []
        for row_id, key in keys.items():
            if key is not None and key not in taken:
                taken.add(key)
                changes.append({"row_id": row_id, "key": key})
        if changes:
            bind.execute(update, changes)


def _with_sender(key: str, sender: str) -> str:
    inbox, _, message_id = key.removeprefix("mid:").partition(":")
    return f"mid:{inbox}:{sender}:{message_id}"[:700]


def _without_sender(key: str, sender: str) -> str | None:
    inbox, _, rest = key.removeprefix("mid:").partition(":")
    if not rest.startswith(f"{sender}:"):
        return None
    return f"mid:{inbox}:{rest.removeprefix(f'{sender}:')}"


def upgrade() -> None:
    _rewrite(_with_sender)


def downgrade() -> None:
    # Two senders' emails of one Message-ID cannot both take the old key: the later keeps its own.
    _rewrite(_without_sender)
