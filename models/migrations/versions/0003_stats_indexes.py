"""Indexes for /stats and the publisher's pick at 100,000 entries; decision_seconds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

- ``(status, published_at, id)``: ``last_published_trade`` reads one index entry;
- ``(centre_name, status)``: the top centres are grouped by name, like trades;
- ``decision_seconds`` (seconds from submission to decision, set by the transitions of
  ``models/lifecycle.py``) and its index: the median time to decision is an index walk
  instead of a sort of every decided row. Back-filled here for rows already decided.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_submissions_status_published_at_id", ["status", "published_at", "id"]),
    ("ix_submissions_centre_name_status", ["centre_name", "status"]),
    ("ix_submissions_decision_seconds", ["decision_seconds"]),
)

# Frozen copies of models.lifecycle.seconds_since for each backend. SQLite stores
# timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" UTC text; julianday reads it (to the ms).
SECONDS = {
    "sqlite": "(julianday(decided_at) - julianday(submitted_at)) * 86400.0",
    "postgresql": "EXTRACT(EPOCH FROM (decided_at - submitted_at))",
}


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("decision_seconds", sa.Float(), nullable=True))
        for name, columns in INDEXES:
            batch.create_index(name, columns)
    op.execute(
        f"UPDATE submissions SET decision_seconds = {SECONDS[op.get_context().dialect.name]}"
        " WHERE decided_at IS NOT NULL AND submitted_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        for name, _columns in INDEXES:
            batch.drop_index(name)
        batch.drop_column("decision_seconds")
