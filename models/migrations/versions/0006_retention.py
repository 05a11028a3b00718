"""Personal data lifecycle: consent text versions, and entries purged by retention.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

- ``consent_texts``: each wording of the consent, by version (a hash of the text), so the
  consent register shows what an apprentice agreed to, and whether it named the public
  site (entries agreed to without it stay off the site);
- ``submissions.consent_version``: the version agreed to (NULL for earlier entries);
- ``submissions.purged_at``: when retention removed the entry's photo and texts;
- on SQLite, ``submissions`` gets AUTOINCREMENT: an erased entry's number (kept by the
  audit, the removals and the consent register) is never given to a new entry.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _autoincrement(on: bool) -> dict[str, Any]:
    """SQLite rebuilds the table with (or without) AUTOINCREMENT; PostgreSQL's sequences
    never reuse a number anyway."""
    if op.get_bind().dialect.name != "sqlite":
        return {}
    return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": on}}


def upgrade() -> None:
    op.create_table(
        "consent_texts",
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("names_site", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_consent_texts")),
    )
    with op.batch_alter_table("submissions", **_autoincrement(True)) as batch:
        batch.add_column(sa.Column("consent_version", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", **_autoincrement(False)) as batch:
        batch.drop_column("purged_at")
        batch.drop_column("consent_version")
    op.drop_table("consent_texts")
