"""The photo coach: a photo's measures in words for moderators, and other people's faces.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

On ``submissions``, all nullable (older rows were never measured):

- ``brightness`` and ``burnt``: mean lightness and share of burnt-out pixels (0 to 1);
- ``faces``: faces found, the apprentice's included; ``face_width``: the apprentice's, in px;
- ``bystanders``: other people's faces found on the photo as sent;
- ``bystanders_choice``: what the apprentice chose for them (``blurred`` or ``agreed``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("brightness", sa.Float()),
    ("burnt", sa.Float()),
    ("faces", sa.Integer()),
    ("face_width", sa.Integer()),
    ("bystanders", sa.Integer()),
    ("bystanders_choice", sa.String(length=16)),
)


# Plain ALTER TABLE, not a batch: SQLite's batch mode rebuilds the table for a drop, and
# the rebuild would lose 0007's triggers (SQLite drops columns itself since 3.35).


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("submissions", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("submissions", name)
