"""Persistence: typed SQLAlchemy models, engine/session factories, migrations, transitions.

No Telegram imports here (see DESIGN.md). Status changes live in :mod:`models.submissions`.
"""

from models.base import Base, UTCDateTime, utcnow
from models.db import (
    alembic_config,
    current_revision,
    dialect_name,
    downgrade,
    make_engine,
    make_sessionmaker,
    upgrade,
)
from models.entities import (
    AgeBand,
    Apprentice,
    AuditAction,
    ModerationAudit,
    Removal,
    Setting,
    Submission,
    SubmissionStatus,
    dhash_from_db,
    dhash_to_db,
)

__all__ = [
    "AgeBand",
    "Apprentice",
    "AuditAction",
    "Base",
    "ModerationAudit",
    "Removal",
    "Setting",
    "Submission",
    "SubmissionStatus",
    "UTCDateTime",
    "alembic_config",
    "current_revision",
    "dhash_from_db",
    "dhash_to_db",
    "dialect_name",
    "downgrade",
    "make_engine",
    "make_sessionmaker",
    "upgrade",
    "utcnow",
]
