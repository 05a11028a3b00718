"""Interest in the trades: visits through the « ce métier m'intéresse » link under a post.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

- ``interest_posts``: visits and visitors per post (no foreign key: the figures outlive an
  erased entry);
- ``interest_days``: the same per trade and per day;
- ``interest_visitors``: today's visitors as salted digests, to count each once a day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interest_posts",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("trade", sa.String(length=60), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_interest_posts")),
    )
    op.create_index("ix_interest_posts_visits", "interest_posts", ["visits", "submission_id"])
    op.create_table(
        "interest_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("trade", sa.String(length=60), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "trade", name=op.f("pk_interest_days")),
    )
    op.create_index("ix_interest_days_trade_visits", "interest_days", ["trade", "visits"])
    op.create_table(
        "interest_visitors",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "submission_id", "digest", name=op.f("pk_interest_visitors")
        ),
    )


def downgrade() -> None:
    op.drop_table("interest_visitors")
    op.drop_index("ix_interest_days_trade_visits", table_name="interest_days")
    op.drop_table("interest_days")
    op.drop_index("ix_interest_posts_visits", table_name="interest_posts")
    op.drop_table("interest_posts")
