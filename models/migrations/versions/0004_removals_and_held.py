"""Promises under Telegram's faults: the ``held`` status, cards kept in step, removals owed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

- ``held``: Telegram refused one entry's post (a 400 for that photo or caption, or the
  photo is missing): the entry leaves the queue and the next one is posted;
- ``held_reason``: Telegram's description, shown on the card (no personal data);
- ``card_synced_at``: the row's ``updated_at`` as its card last showed it, so a card edit
  that Telegram refused is retried instead of leaving moderators uninformed;
- ``card_lost``: a card was sent but its answer lost, so a copy may be in the group;
- ``removals``: channel posts and cards still to remove after an erasure or an unpublish
  (where, and why; nothing personal), kept until they are really gone;
- an index on ``apprentices.banned_at``: the publisher skips banned apprentices' entries.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "draft",
    "pending",
    "approved",
    "refused",
    "publishing",
    "published",
    "withdrawn",
    "needs_check",
)
AFTER = (*BEFORE, "held")


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN ({})".format(", ".join(f"'{s}'" for s in statuses))


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("held_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("card_synced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("card_lost", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.drop_constraint(op.f("ck_submissions_status"), type_="check")
        batch.create_check_constraint("status", _status_check(AFTER))
    # The cards posted so far show their entries as they are.
    op.execute(
        "UPDATE submissions SET card_synced_at = updated_at WHERE moderation_message_id IS NOT NULL"
    )
    op.create_table(
        "removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("photo_hidden", sa.Boolean(), nullable=False),
        sa.Column("by_hand", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("told_message_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("kind IN ('post', 'card')", name=op.f("ck_removals_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removals")),
    )
    op.create_index("ix_removals_submission_id", "removals", ["submission_id"])
    op.create_index("ix_apprentices_banned_at", "apprentices", ["banned_at"])


def downgrade() -> None:
    op.drop_index("ix_apprentices_banned_at", "apprentices")
    op.drop_table("removals")
    # Entries the older code cannot show go back to the moderators' queue.
    op.execute("UPDATE submissions SET status = 'pending' WHERE status = 'held'")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f("ck_submissions_status"), type_="check")
        batch.create_check_constraint("status", _status_check(BEFORE))
        batch.drop_column("card_lost")
        batch.drop_column("card_synced_at")
        batch.drop_column("held_reason")
