"""Remove what nothing used: the ``withdrawn`` status and the columns that went with it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

An apprentice's ``/supprimer`` deletes their rows (and owes the removal of their Telegram
messages), so no code ever moved an entry to ``withdrawn``:

- rows found in ``withdrawn`` anyway become ``refused`` with the reason ``withdrawn``: out
  of both queues for good, never published again, and their apprentice still sees them in
  ``/statut``;
- ``submissions.withdrawn_at`` and ``apprentices.ban_reason`` (never set to anything but
  NULL, never read) are dropped.

The downgrade restores the columns empty and the status as allowed, not the rows' old
status: which refused rows were withdrawn is kept only in their reason.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AFTER = (
    "draft",
    "pending",
    "approved",
    "refused",
    "publishing",
    "published",
    "needs_check",
    "held",
)
BEFORE = (*AFTER[:6], "withdrawn", *AFTER[6:])


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN ({})".format(", ".join(f"'{s}'" for s in statuses))


def upgrade() -> None:
    op.execute(
        "UPDATE submissions SET status = 'refused', refusal_reason = 'withdrawn',"
        " approved_at = NULL, publishing_started_at = NULL, held_reason = NULL"
        " WHERE status = 'withdrawn'"
    )
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f("ck_submissions_status"), type_="check")
        batch.create_check_constraint("status", _status_check(AFTER))
        batch.drop_column("withdrawn_at")
    with op.batch_alter_table("apprentices") as batch:
        batch.drop_column("ban_reason")


def downgrade() -> None:
    with op.batch_alter_table("apprentices") as batch:
        batch.add_column(sa.Column("ban_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_submissions_status"), type_="check")
        batch.create_check_constraint("status", _status_check(BEFORE))
