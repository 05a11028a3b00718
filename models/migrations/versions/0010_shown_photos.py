"""The bot's messages that show an apprentice their photo, to delete them at /supprimer.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

- ``shown_photos``: the apprentice's id, the message's id in their private chat and when it
  was sent (Telegram lets a bot delete its messages for 48 hours).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shown_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("apprentice_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shown_photos")),
    )
    op.create_index("ix_shown_photos_apprentice_id", "shown_photos", ["apprentice_id"])


def downgrade() -> None:
    op.drop_index("ix_shown_photos_apprentice_id", table_name="shown_photos")
    op.drop_table("shown_photos")
