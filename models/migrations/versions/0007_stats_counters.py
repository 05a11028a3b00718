"""Counters for /stats, kept up to date by the database itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

- ``submission_counts(dimension, value, status, entries)``: how many entries have each
  status, by trade and by centre name;
- ``decision_time_counts(bucket, decided)``: how many decision times fall in each bucket
  (10 minutes for the first day, an hour up to 30 days, then a day), so the median's index
  walk starts at the right bucket instead of the smallest time;
- both back-filled here from the existing rows, then kept exact by triggers on
  ``submissions``: after every INSERT, DELETE (foreign-key cascades included) and every
  UPDATE that changes ``status``, ``trade``, ``centre_name`` or ``decision_seconds``, in
  the same transaction.

Triggers rather than updates written in each transition: entries change status in
``models/lifecycle.py``, but are also created and edited as drafts, deleted by
``/supprimer``, by the FK cascade of an apprentice's deletion and by three retention rules,
some in bulk statements; a trigger cannot be forgotten by a code path written later.

On PostgreSQL the triggers are per statement, with transition tables: a statement's
changes are summed per counter row and applied in key order, each row once, so a bulk
DELETE (a purge) does not update the same counter 50,000 times in one transaction, and two
statements never lock counter rows in opposite orders. On SQLite (per-row triggers only)
writers are serialised anyway.

A later migration that rebuilds ``submissions`` on SQLite (batch mode with ``recreate``)
drops these triggers with the old table and must create them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_CHANGED = (
    "OLD.status IS NOT NEW.status OR OLD.trade IS NOT NEW.trade"
    " OR OLD.centre_name IS NOT NEW.centre_name"
    " OR OLD.decision_seconds IS NOT NEW.decision_seconds"
)
TRIGGERS = {
    "INSERT": "submission_counts_on_insert",
    "DELETE": "submission_counts_on_delete",
    "UPDATE": "submission_counts_on_update",
}


def _bucket(seconds: str, dialect: str) -> str:
    """The bucket of a decision time: by 10 minutes for a day, by hour for 30 days, then
    by day (a copy of models.stats.decision_bucket, in SQL); negative times go to 0, the
    longest stop at 100 years."""
    if dialect == "sqlite":
        floor, low, high = "CAST(({}) AS INTEGER)", f"max({seconds}, 0)", f"min({seconds}, 3e9)"
    else:
        floor = "floor({})::int"
        low, high = f"greatest({seconds}, 0)", f"least({seconds}, 3e9)"
    return (
        f"CASE WHEN {seconds} < 86400 THEN {floor.format(f'{low} / 600')}"
        f" WHEN {seconds} < 2592000 THEN 120 + {floor.format(f'{seconds} / 3600')}"
        f" ELSE 810 + {floor.format(f'{high} / 86400')} END"
    )


def _sqlite_statements(row: str, sign: str) -> list[str]:
    """The upserts one row's arrival (sign "") or departure ("-") makes."""
    seconds = f"{row}.decision_seconds"
    return [
        "INSERT INTO submission_counts (dimension, value, status, entries)"
        f" VALUES ('trade', {row}.trade, {row}.status, {sign}1),"
        f" ('centre', {row}.centre_name, {row}.status, {sign}1)"
        " ON CONFLICT (dimension, value, status) DO UPDATE SET"
        " entries = entries + excluded.entries;",
        "INSERT INTO decision_time_counts (bucket, decided)"
        f" SELECT {_bucket(seconds, 'sqlite')}, {sign}1 WHERE {seconds} IS NOT NULL"
        " ON CONFLICT (bucket) DO UPDATE SET decided = decided + excluded.decided;",
    ]


def _create_sqlite_triggers() -> None:
    removed, added = _sqlite_statements("OLD", "-"), _sqlite_statements("NEW", "")
    bodies = {
        "INSERT": ("AFTER INSERT", added),
        "DELETE": ("AFTER DELETE", removed),
        "UPDATE": (
            "AFTER UPDATE OF status, trade, centre_name, decision_seconds",
            removed + added,
        ),
    }
    for event, (timing, statements) in bodies.items():
        when = f" WHEN {SQLITE_CHANGED}" if event == "UPDATE" else ""
        op.execute(
            f"CREATE TRIGGER {TRIGGERS[event]} {timing} ON submissions"
            f" FOR EACH ROW{when} BEGIN {' '.join(statements)} END"
        )


def _postgresql_deltas(table: str, sign: str) -> tuple[str, str]:
    """Each row of a transition table once as a trade and once as a centre; its decision
    time's bucket."""
    bucket = _bucket("decision_seconds", "postgresql")
    return (
        f"SELECT 'trade', trade, status, {sign}1 FROM {table}"
        f" UNION ALL SELECT 'centre', centre_name, status, {sign}1 FROM {table}",
        f"SELECT {bucket}, {sign}1 FROM {table} WHERE decision_seconds IS NOT NULL",
    )


def _postgresql_function(name: str, counts: str, buckets: str) -> str:
    """A statement's deltas summed per counter (rows whose status, trade, centre and
    decision time did not change cancel out), then applied in key order, each counter
    row once."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO submission_counts AS c (dimension, value, status, entries)
    SELECT d.dimension, d.value, d.status, sum(d.entries)
    FROM ({counts}) AS d (dimension, value, status, entries)
    GROUP BY d.dimension, d.value, d.status
    HAVING sum(d.entries) <> 0
    ORDER BY d.dimension, d.value, d.status
    ON CONFLICT (dimension, value, status) DO UPDATE SET entries = c.entries + excluded.entries;
    INSERT INTO decision_time_counts AS c (bucket, decided)
    SELECT d.bucket, sum(d.decided)
    FROM ({buckets}) AS d (bucket, decided)
    GROUP BY d.bucket
    HAVING sum(d.decided) <> 0
    ORDER BY d.bucket
    ON CONFLICT (bucket) DO UPDATE SET decided = c.decided + excluded.decided;
    RETURN NULL;
END
$$
"""


def _create_postgresql_triggers() -> None:
    """Statement-level triggers with transition tables: a bulk statement (a purge, an
    import) updates each counter row once, not once per entry. PostgreSQL allows no
    column list on such an UPDATE trigger, so every UPDATE of ``submissions`` runs it;
    the sum over its one or few rows is then empty."""
    (gone_counts, gone_buckets) = _postgresql_deltas("gone", "-")
    (came_counts, came_buckets) = _postgresql_deltas("came", "")
    events = {
        "INSERT": ("NEW TABLE AS came", came_counts, came_buckets),
        "DELETE": ("OLD TABLE AS gone", gone_counts, gone_buckets),
        "UPDATE": (
            "OLD TABLE AS gone NEW TABLE AS came",
            f"{gone_counts} UNION ALL {came_counts}",
            f"{gone_buckets} UNION ALL {came_buckets}",
        ),
    }
    for event, (tables, counts, buckets) in events.items():
        name = TRIGGERS[event]
        op.execute(_postgresql_function(name, counts, buckets))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON submissions REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def _backfill() -> None:
    for dimension, column in (("trade", "trade"), ("centre", "centre_name")):
        op.execute(
            "INSERT INTO submission_counts (dimension, value, status, entries)"
            f" SELECT '{dimension}', {column}, status, count(*)"
            f" FROM submissions GROUP BY {column}, status"
        )
    bucket = _bucket("decision_seconds", op.get_context().dialect.name)
    op.execute(
        "INSERT INTO decision_time_counts (bucket, decided)"
        f" SELECT b, count(*) FROM (SELECT {bucket} AS b FROM submissions"
        " WHERE decision_seconds IS NOT NULL) AS decided GROUP BY b"
    )


def upgrade() -> None:
    op.create_table(
        "submission_counts",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "dimension IN ('trade', 'centre')", name=op.f("ck_submission_counts_dimension")
        ),
        sa.PrimaryKeyConstraint("dimension", "value", "status", name=op.f("pk_submission_counts")),
    )
    op.create_table(
        "decision_time_counts",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_decision_time_counts")),
    )
    # Triggers and back-fill in one go: an entry written between the two would be counted
    # twice or never, so PostgreSQL's writers wait for this migration's commit (SQLite's
    # migration already holds the whole database).
    if _postgresql():
        op.execute("LOCK TABLE submissions IN SHARE ROW EXCLUSIVE MODE")
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()
    _backfill()


def downgrade() -> None:
    for name in TRIGGERS.values():
        if _postgresql():
            op.execute(f"DROP TRIGGER {name} ON submissions")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("decision_time_counts")
    op.drop_table("submission_counts")


def _postgresql() -> bool:
    return bool(op.get_context().dialect.name == "postgresql")
