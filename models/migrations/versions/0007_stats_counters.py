"""Counters for /stats, kept up to date by the database itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

- ``submission_counts(dimension, value, status, entries, decided)``: how many entries
  have each status, by trade and by centre name, and how many of them have a decision
  time; back-filled here from the existing rows;
- triggers on ``submissions`` keep it exact: after every INSERT, DELETE (foreign-key
  cascades included) and every UPDATE that changes ``status``, ``trade``,
  ``centre_name`` or whether ``decision_seconds`` is set, in the same transaction.

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
    " OR (OLD.decision_seconds IS NULL) <> (NEW.decision_seconds IS NULL)"
)
TRIGGERS = {
    "INSERT": "submission_counts_on_insert",
    "DELETE": "submission_counts_on_delete",
    "UPDATE": "submission_counts_on_update",
}


def _sqlite_deltas(row: str, sign: str) -> str:
    decided = f"{sign}({row}.decision_seconds IS NOT NULL)"
    return (
        f"('trade', {row}.trade, {row}.status, {sign}1, {decided}),"
        f" ('centre', {row}.centre_name, {row}.status, {sign}1, {decided})"
    )


def _sqlite_upsert(values: str) -> str:
    return (
        "INSERT INTO submission_counts (dimension, value, status, entries, decided)"
        f" VALUES {values}"
        " ON CONFLICT (dimension, value, status) DO UPDATE SET"
        " entries = entries + excluded.entries, decided = decided + excluded.decided;"
    )


def _create_sqlite_triggers() -> None:
    removed, added = _sqlite_deltas("OLD", "-"), _sqlite_deltas("NEW", "")
    bodies = {
        "INSERT": ("AFTER INSERT", _sqlite_upsert(added)),
        "DELETE": ("AFTER DELETE", _sqlite_upsert(removed)),
        "UPDATE": (
            "AFTER UPDATE OF status, trade, centre_name, decision_seconds",
            _sqlite_upsert(f"{removed}, {added}"),
        ),
    }
    for event, (timing, body) in bodies.items():
        when = f" WHEN {SQLITE_CHANGED}" if event == "UPDATE" else ""
        op.execute(
            f"CREATE TRIGGER {TRIGGERS[event]} {timing} ON submissions"
            f" FOR EACH ROW{when} BEGIN {body} END"
        )


def _postgresql_deltas(table: str, sign: str) -> str:
    """Each row of a transition table, once as a trade and once as a centre."""
    decided = f"{sign}(decision_seconds IS NOT NULL)::int"
    return (
        f"SELECT 'trade', trade, status, {sign}1, {decided} FROM {table}"
        f" UNION ALL SELECT 'centre', centre_name, status, {sign}1, {decided} FROM {table}"
    )


def _postgresql_function(name: str, deltas: str) -> str:
    """A statement's deltas summed per counter (rows whose status, trade and centre did
    not change cancel out), then applied in key order, each counter row once."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO submission_counts AS c (dimension, value, status, entries, decided)
    SELECT d.dimension, d.value, d.status, sum(d.entries), sum(d.decided)
    FROM ({deltas}) AS d (dimension, value, status, entries, decided)
    GROUP BY d.dimension, d.value, d.status
    HAVING sum(d.entries) <> 0 OR sum(d.decided) <> 0
    ORDER BY d.dimension, d.value, d.status
    ON CONFLICT (dimension, value, status) DO UPDATE SET
        entries = c.entries + excluded.entries, decided = c.decided + excluded.decided;
    RETURN NULL;
END
$$
"""


def _create_postgresql_triggers() -> None:
    """Statement-level triggers with transition tables: a bulk statement (a purge, an
    import) updates each counter row once, not once per entry. PostgreSQL allows no
    column list on such an UPDATE trigger, so every UPDATE of ``submissions`` runs it;
    the sum over its one or few rows is then empty."""
    removed, added = _postgresql_deltas("gone", "-"), _postgresql_deltas("came", "")
    events = {
        "INSERT": ("NEW TABLE AS came", added),
        "DELETE": ("OLD TABLE AS gone", removed),
        "UPDATE": ("OLD TABLE AS gone NEW TABLE AS came", f"{removed} UNION ALL {added}"),
    }
    for event, (tables, deltas) in events.items():
        name = TRIGGERS[event]
        op.execute(_postgresql_function(name, deltas))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON submissions REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def _backfill() -> None:
    for dimension, column in (("trade", "trade"), ("centre", "centre_name")):
        op.execute(
            "INSERT INTO submission_counts (dimension, value, status, entries, decided)"
            f" SELECT '{dimension}', {column}, status, count(*), count(decision_seconds)"
            f" FROM submissions GROUP BY {column}, status"
        )


def upgrade() -> None:
    op.create_table(
        "submission_counts",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "dimension IN ('trade', 'centre')", name=op.f("ck_submission_counts_dimension")
        ),
        sa.PrimaryKeyConstraint("dimension", "value", "status", name=op.f("pk_submission_counts")),
    )
    # Counted and watched in one go: on PostgreSQL, rows written between the two would be
    # missed, so no one writes meanwhile (SQLite's migration already holds the database).
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
    op.drop_table("submission_counts")


def _postgresql() -> bool:
    return bool(op.get_context().dialect.name == "postgresql")
