"""Interest as one figure: the people interested, each counted once a day.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

A repeat visit the same day no longer counts, so a post's (or a trade's) visits and visitors
would always be the same number: ``visits`` is dropped, ``visitors`` stays as the figure
(its values kept as they are), and a trade counts a person once a day however many of its
posts they open (:mod:`models.interest`):

- ``interest_posts``, ``interest_days``: ``visits`` and its index dropped, the indexes now
  on ``visitors``;
- ``interest_trade_visitors``: who was counted for a trade today, as the same salted
  digests as ``interest_visitors``. Filled from the digests still kept (today's), and the
  trades' figures of those days recounted from them: a person who opened two posts of a
  trade that day counts once. Older days cannot be recounted (their digests are gone):
  their figure stays once per person and post.

The downgrade gives ``visits`` back equal to ``visitors`` (the repeats were never counted)
and drops the trades' digests.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAME_DAY_AND_TRADE = (
    "interest_trade_visitors.day = interest_days.day"
    " AND interest_trade_visitors.trade = interest_days.trade"
)


def upgrade() -> None:
    op.create_table(
        "interest_trade_visitors",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("trade", sa.String(length=60), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("day", "trade", "digest", name=op.f("pk_interest_trade_visitors")),
    )
    op.execute(
        "INSERT INTO interest_trade_visitors (day, trade, digest)"
        " SELECT DISTINCT interest_visitors.day, interest_posts.trade, interest_visitors.digest"
        " FROM interest_visitors JOIN interest_posts"
        " ON interest_posts.submission_id = interest_visitors.submission_id"
    )
    op.execute(
        "UPDATE interest_days SET visitors ="
        f" (SELECT count(*) FROM interest_trade_visitors WHERE {SAME_DAY_AND_TRADE})"
        f" WHERE EXISTS (SELECT 1 FROM interest_trade_visitors WHERE {SAME_DAY_AND_TRADE})"
    )
    op.drop_index("ix_interest_posts_visits", table_name="interest_posts")
    with op.batch_alter_table("interest_posts") as batch:
        batch.drop_column("visits")
    op.create_index("ix_interest_posts_visitors", "interest_posts", ["visitors", "submission_id"])
    op.drop_index("ix_interest_days_trade_visits", table_name="interest_days")
    with op.batch_alter_table("interest_days") as batch:
        batch.drop_column("visits")
    op.create_index("ix_interest_days_trade_visitors", "interest_days", ["trade", "visitors"])


def downgrade() -> None:
    for table, now, before, columns in (
        (
            "interest_days",
            "ix_interest_days_trade_visitors",
            "ix_interest_days_trade_visits",
            ["trade", "visits"],
        ),
        (
            "interest_posts",
            "ix_interest_posts_visitors",
            "ix_interest_posts_visits",
            ["visits", "submission_id"],
        ),
    ):
        op.drop_index(now, table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("visits", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET visits = visitors")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("visits", existing_type=sa.Integer(), nullable=False)
        op.create_index(before, table, columns)
    op.drop_table("interest_trade_visitors")
