"""Persistence: typed SQLAlchemy models, engine/session factories, migrations, queries.

No Telegram imports here. The mapped classes are in :mod:`models.tables`; the status
changes of a submission in :mod:`models.lifecycle`; the other queries in one module per
concern (:mod:`models.apprentices`, :mod:`models.submissions`, :mod:`models.moderation`,
:mod:`models.publishing`, :mod:`models.audit`, :mod:`models.removals`, :mod:`models.stats`,
:mod:`models.settings`, :mod:`models.state`, :mod:`models.register`).
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
from models.dhash import dhash_from_db, dhash_to_db
from models.tables import (
    AgeBand,
    Apprentice,
    AuditAction,
    BotState,
    ConsentText,
    ModerationAudit,
    Removal,
    Setting,
    ShownPhoto,
    Submission,
    SubmissionStatus,
)

__all__ = [
    "AgeBand",
    "Apprentice",
    "AuditAction",
    "Base",
    "BotState",
    "ConsentText",
    "ModerationAudit",
    "Removal",
    "Setting",
    "ShownPhoto",
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
