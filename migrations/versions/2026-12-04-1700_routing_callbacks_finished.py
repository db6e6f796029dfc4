"""routing: callbacks whose call ended say so

Revision ID: a1c0de00000e
Revises: a1c0de00000d
Create Date: 2026-12-04 17:00:00

A callback now follows its call to the end (``completed`` once its task was taken and ended,
``canceled`` when its task was canceled). Callbacks released before this revision stayed
``queued`` whatever became of their task; this gives them the state their task says. One whose
task was handed on (transferred, escalated) is left ``queued``: it follows its new task from
the next time that task changes. The downgrade makes them ``queued`` again, the only state of
an ended callback the code before it knows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de00000e"
down_revision: str | None = "a1c0de00000d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CALLBACK = sa.table(
    "routing_callback",
    sa.column("id", sa.Uuid()),
    sa.column("state", sa.String(20)),
    sa.column("task_id", sa.Uuid()),
)
_TASK = sa.table(
    "routing_task",
    sa.column("id", sa.Uuid()),
    sa.column("state", sa.String(20)),
    sa.column("end_reason", sa.String(100)),
)


def _follow(outcome: str, tasks: sa.ColumnElement[bool]) -> None:
    ended = sa.select(_TASK.c.id).where(tasks)
    op.execute(
        _CALLBACK.update()
        .where(_CALLBACK.c.state == "queued", _CALLBACK.c.task_id.in_(ended))
        .values(state=outcome)
    )


def upgrade() -> None:
    _follow("completed", _TASK.c.state.in_(("wrap_up", "completed")))
    handed_on = sa.func.coalesce(_TASK.c.end_reason, "").in_(("transferred", "escalated"))
    _follow("canceled", sa.and_(_TASK.c.state == "canceled", sa.not_(handed_on)))


def downgrade() -> None:
    op.execute(
        _CALLBACK.update()
        .where(_CALLBACK.c.state.in_(("completed", "canceled")))
        .values(state="queued")
    )
