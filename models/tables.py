"""Every mapped class: apprentices, their submissions, the moderation audit trail, the
removals owed, settings and the bot's conversation state.

Only the tables live here; their queries are in the modules named after each concern.
Status changes of a submission are NOT made here: they all live in
:mod:`models.lifecycle`, one conditional UPDATE each.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, StrEnumType, utcnow


class SubmissionStatus(enum.StrEnum):
    """Lifecycle of a submission; the allowed moves are :data:`models.lifecycle.ALLOWED_FROM`.

    An apprentice's ``/supprimer`` has no status: it deletes the rows
    (:func:`models.apprentices.delete_apprentice_data`).
    """

    DRAFT = "draft"  # being built in the conversation, not yet confirmed
    PENDING = "pending"  # confirmed by the apprentice, waiting for a moderator
    APPROVED = "approved"  # in the publishing queue
    REFUSED = "refused"
    PUBLISHING = "publishing"  # claimed by the publisher, being sent to the channel
    PUBLISHED = "published"
    NEEDS_CHECK = "needs_check"  # the send's outcome is unknown: was it posted or not?
    HELD = "held"  # Telegram refused this entry's post (or its photo is gone): not posted


class AgeBand(enum.StrEnum):
    """Self-declared age band; minors need the minor policy recorded on the submission."""

    ADULT = "adult"
    MINOR = "minor"


class AuditAction(enum.StrEnum):
    """Usual values of :attr:`ModerationAudit.action` (the column itself accepts any string)."""

    APPROVE = "approve"
    REFUSE = "refuse"
    BAN = "ban"
    UNBAN = "unban"
    UNDO = "undo"
    PUBLISH_NOW = "publish_now"
    UNPUBLISH = "unpublish"
    PAUSE = "pause"
    RESUME = "resume"
    NEEDS_CHECK = "needs_check"
    REQUEUE = "requeue"
    REMOVAL_DONE = "removal_done"
    ERASED = "erased"
    """An apprentice erased an entry that was public: the consent register's last trace."""
    BYSTANDERS_AGREED = "bystanders_agreed"
    """The apprentice sent a photo with other people's faces, saying they agree."""


def _in_values(column: str, enum_class: type[enum.StrEnum]) -> str:
    """SQL for ``column IN ('a', 'b', …)`` built from an enum (values are trusted literals)."""
    values = ", ".join(f"'{member.value}'" for member in enum_class)
    return f"{column} IN ({values})"


def _decision_seconds_on_insert(context: DefaultExecutionContext) -> float | None:
    """INSERT default of ``decision_seconds``: ``decided_at - submitted_at`` when both are
    given (imports, fixtures); transitions compute it in SQL instead."""
    values = context.get_current_parameters()
    submitted, decided = values.get("submitted_at"), values.get("decided_at")
    if submitted is None or decided is None:
        return None
    return (decided - submitted).total_seconds()


class Apprentice(Base):
    """A Telegram user who talked to the bot. Deleting one deletes their submissions."""

    __tablename__ = "apprentices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Telegram user id (can exceed 32 bits)."""
    first_name: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="fr")
    """Interface language, "fr" or "en" (no CHECK: adding a language needs no migration)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    banned_at: Mapped[datetime | None]
    banned_by: Mapped[int | None] = mapped_column(BigInteger)
    """Telegram user id of the moderator who banned."""

    # The publisher skips banned apprentices' entries: the few banned rows, read by index.
    __table_args__ = (Index("ix_apprentices_banned_at", "banned_at"),)


class Submission(Base):
    """One selfie entry, from draft to publication (or refusal).

    An apprentice's ``/supprimer`` deletes the row with everything else of theirs; what it
    left on Telegram is then a :class:`Removal`.
    """

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("apprentices.id", ondelete="CASCADE")
    )
    status: Mapped[SubmissionStatus] = mapped_column(
        StrEnumType(SubmissionStatus, 16), default=SubmissionStatus.DRAFT
    )

    # What gets published.
    display_name: Mapped[str | None] = mapped_column(Text)
    """Name shown in the caption; None = anonymous."""
    trade: Mapped[str] = mapped_column(Text)
    centre_code: Mapped[str | None] = mapped_column(String(64))
    """Code of a configured training centre (deep-link payload); None = typed by hand."""
    centre_name: Mapped[str] = mapped_column(Text)
    quote: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))

    # Consent and age.
    age_band: Mapped[AgeBand] = mapped_column(StrEnumType(AgeBand, 8))
    minor_policy: Mapped[str | None] = mapped_column(String(32))
    """Policy applied to a minor ("guardian_confirmation", "allow", …); None for adults."""
    consent_at: Mapped[datetime]
    consent_version: Mapped[str | None] = mapped_column(String(16))
    """Which consent text was agreed to (:class:`ConsentText`); None before it was recorded."""
    guardian_confirmed_at: Mapped[datetime | None]

    # The photo.
    photo_path: Mapped[str | None] = mapped_column(Text)
    """Processed JPEG on disk (relative to the storage path)."""
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    """Telegram file_id of the processed photo once uploaded (reusable for re-sending)."""
    source_file_unique_id: Mapped[str | None] = mapped_column(String(64))
    """Telegram file_unique_id of the original upload, for exact-duplicate detection."""
    width: Mapped[int | None]
    height: Mapped[int | None]
    dhash: Mapped[int | None] = mapped_column(BigInteger)
    """64-bit difference hash stored signed: see :mod:`models.dhash`."""
    sharpness: Mapped[float | None] = mapped_column(Float)
    brightness: Mapped[float | None] = mapped_column(Float)
    """Mean lightness of the photo, 0 to 1 (:mod:`bot.photos.exposure`)."""
    burnt: Mapped[float | None] = mapped_column(Float)
    """Share of burnt-out pixels, 0 to 1."""
    faces: Mapped[int | None]
    """Faces found, the apprentice's included; None when no face search ran."""
    face_width: Mapped[int | None]
    """Width of the apprentice's face (the largest or most central), in pixels."""
    bystanders: Mapped[int | None]
    """Other people's faces found on the photo as sent (still counted once blurred)."""
    bystanders_choice: Mapped[str | None] = mapped_column(String(16))
    """What the apprentice chose for them (:class:`bot.campaign.coach.Bystanders` values)."""

    # Lifecycle timestamps and who decided.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decision_seconds: Mapped[float | None] = mapped_column(
        Float, default=_decision_seconds_on_insert
    )
    """Seconds from ``submitted_at`` to ``decided_at`` (None while undecided), for the
    median time to decision. Set with ``decided_at`` by the transitions of
    :mod:`models.lifecycle`, in the same UPDATE; computed on INSERT when both are given."""
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_name: Mapped[str | None] = mapped_column(Text)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None]
    publishing_started_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    held_reason: Mapped[str | None] = mapped_column(Text)
    """Why Telegram would not take the post (its own description, or ``photo_missing``);
    never personal data. Set with the ``held`` status."""
    card_synced_at: Mapped[datetime | None]
    """``updated_at`` of the row as the moderation card last showed it: a card is behind
    while this is older, and the retry job re-draws it (Telegram may refuse an edit)."""
    card_lost: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A card was sent but its answer lost: a copy the bot knows nothing of may be in the
    group (adopted or removed when a moderator presses it; asked for on erasure)."""
    purged_at: Mapped[datetime | None]
    """When retention removed the photo and the texts (:mod:`models.retention`); what is
    left is the consent register's part of the row."""

    # Where the entry lives on Telegram.
    channel_message_id: Mapped[int | None] = mapped_column(BigInteger)
    moderation_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    moderation_message_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint(_in_values("status", SubmissionStatus), name="status"),
        CheckConstraint(_in_values("age_band", AgeBand), name="age_band"),
        CheckConstraint("age_band = 'adult' OR minor_policy IS NOT NULL", name="minor_policy"),
        # Publishing queue: "oldest approved first".
        Index("ix_submissions_status_approved_at_id", "status", "approved_at", "id"),
        # Moderation queue: pending by submission time.
        Index("ix_submissions_status_submitted_at", "status", "submitted_at"),
        # Publisher: "trade of the entry published last" reads one index entry.
        Index("ix_submissions_status_published_at_id", "status", "published_at", "id"),
        # /stats: top trades and centres (grouped by name), median time to decision.
        Index("ix_submissions_trade_status", "trade", "status"),
        Index("ix_submissions_centre_code_status", "centre_code", "status"),
        Index("ix_submissions_centre_name_status", "centre_name", "status"),
        Index("ix_submissions_decided_at", "decided_at"),
        Index("ix_submissions_decision_seconds", "decision_seconds"),
        # "Does this apprentice already have an entry in progress?" (also serves the FK).
        Index("ix_submissions_apprentice_id_status", "apprentice_id", "status"),
        # Duplicate detection.
        Index("ix_submissions_source_file_unique_id", "source_file_unique_id"),
        Index("ix_submissions_dhash", "dhash"),
        # The audit, the removals and the consent register name entries by number after
        # they are erased: SQLite must never give a number out twice.
        {"sqlite_autoincrement": True},
    )


class ModerationAudit(Base):
    """Who did what, when and why. Never cascaded away: it must outlive erased entries."""

    __tablename__ = "moderation_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(Integer)
    """Plain integer, deliberately not a foreign key (the submission may be erased)."""
    apprentice_id: Mapped[int | None] = mapped_column(BigInteger)
    """Subject of ban/unban (Telegram user id), also not a foreign key."""
    moderator_id: Mapped[int | None] = mapped_column(BigInteger)
    """Telegram user id of the moderator; None when the bot itself acted."""
    moderator_name: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    """See :class:`AuditAction` for the usual values."""
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_moderation_audit_submission_id", "submission_id"),
        Index("ix_moderation_audit_apprentice_id", "apprentice_id"),
        Index("ix_moderation_audit_created_at", "created_at"),
    )


class Removal(Base):
    """A Telegram message that must go and has not yet: a channel post or a moderation card
    of an erased or unpublished entry. No personal data: where the message is, and why.

    Kept until the message is really gone (deleted by the bot, or by a moderator and
    confirmed), so a refused ``deleteMessage`` is never forgotten.
    """

    __tablename__ = "removals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat: Mapped[str] = mapped_column(String(64))
    """The chat as Telegram's ``chat_id`` takes it: ``@channel`` or a numeric id."""
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    """None: a post may exist but its id was lost (a send whose answer never came)."""
    kind: Mapped[str] = mapped_column(String(8))
    """``post`` (the channel) or ``card`` (the moderation group)."""
    submission_id: Mapped[int | None] = mapped_column(Integer)
    """The entry's number, for the moderators; not a foreign key (the entry is gone)."""
    cause: Mapped[str] = mapped_column(String(16))
    """``erased`` (the apprentice's /supprimer) or ``unpublished`` (a moderator)."""
    photo_hidden: Mapped[bool] = mapped_column(default=False)
    """The picture and caption were replaced by neutral ones: nothing personal shows."""
    by_hand: Mapped[bool] = mapped_column(default=False)
    """Telegram refused to delete it: the moderators are asked (and the bot keeps trying)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    """Telegram's description of the last refusal (never personal data)."""
    sent_at: Mapped[datetime | None]
    """For a post whose id was lost: when it was sent, to help the moderators find it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    told_message_id: Mapped[int | None] = mapped_column(BigInteger)
    """The message asking the moderators to remove it by hand, once sent."""

    __table_args__ = (
        CheckConstraint("kind IN ('post', 'card')", name="kind"),
        Index("ix_removals_submission_id", "submission_id"),
    )


class ShownPhoto(Base):
    """A message of the bot that shows an apprentice their photo in their own chat (the
    preview, /mesdonnees): deleted at their /supprimer while Telegram allows it (48 hours).
    Ids only."""

    __tablename__ = "shown_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(BigInteger)
    """The apprentice, whose private chat has the same id; not a foreign key (kept until the
    erasure has used it, after the apprentice's row is gone)."""
    message_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_shown_photos_apprentice_id", "apprentice_id"),)


class ConsentText(Base):
    """Each wording of the consent an apprentice agreed to, by version, so the consent
    register can show exactly what a version said."""

    __tablename__ = "consent_texts"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    """First hex digits of the text's SHA-256: a new wording is a new version by itself."""
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    first_shown_at: Mapped[datetime] = mapped_column(default=utcnow)
    names_site: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The wording tells that published selfies also go on the public site
    (:mod:`bot.site.gallery`): only entries agreed to under such a version are shown there."""


class InterestPost(Base):
    """Interest in a post through its « ce métier m'intéresse » link: counts only, nobody's
    Telegram id (queries in :mod:`models.interest`)."""

    __tablename__ = "interest_posts"

    submission_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """The post's entry; no foreign key: the figures outlive an erased entry."""
    trade: Mapped[str] = mapped_column(String(60))
    visitors: Mapped[int] = mapped_column(Integer, default=0)
    """The people interested: each person counted once a day for this post, the days
    added up (a repeat the same day counts nothing)."""

    __table_args__ = (Index("ix_interest_posts_visitors", "visitors", "submission_id"),)


class InterestDay(Base):
    """Interest per trade and per day (the campaign's time zone), for /stats, the weekly
    digest and the chart."""

    __tablename__ = "interest_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    trade: Mapped[str] = mapped_column(String(60), primary_key=True)
    visitors: Mapped[int] = mapped_column(Integer, default=0)
    """The people interested in the trade that day, each counted once however many of its
    posts they opened."""

    __table_args__ = (Index("ix_interest_days_trade_visitors", "trade", "visitors"),)


class InterestVisitor(Base):
    """Who already visited a post today, as a digest salted with a key that lives in the
    bot's memory for that day only: enough to count each person once, never to find them
    again. Rows of past days are deleted."""

    __tablename__ = "interest_visitors"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    submission_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(32), primary_key=True)


class InterestTradeVisitor(Base):
    """Who was already counted for a trade today: the same digests as
    :class:`InterestVisitor` (so nothing more is known about anyone), keyed by trade, so
    that a person opening two posts of one trade counts once for it. Rows of past days
    are deleted."""

    __tablename__ = "interest_trade_visitors"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    trade: Mapped[str] = mapped_column(String(60), primary_key=True)
    digest: Mapped[str] = mapped_column(String(32), primary_key=True)


class Setting(Base):
    """Small key/value store for state that must survive restarts (e.g. publishing paused)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BotState(Base):
    """Conversation states and ``user_data`` of the bot, so a restart (even ``kill -9``)
    resumes every apprentice at their step; queries in :mod:`models.state`."""

    __tablename__ = "bot_state"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    """``user`` for user_data, ``conversation:<name>`` for a conversation's states."""
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubmissionCount(Base):
    """How many entries have each status, by trade and by centre: what /stats reads
    (:mod:`models.stats`) instead of counting 100,000 rows.

    Written ONLY by the database's triggers on ``submissions`` (migration 0007), for every
    insert, delete and change of status, trade or centre, whatever code made it; never by
    the application. Rows may fall to zero and stay.
    """

    __tablename__ = "submission_counts"

    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``trade`` (``value`` is the trade) or ``centre`` (``value`` is the centre's name);
    each entry is counted once in each."""
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    entries: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("dimension IN ('trade', 'centre')", name="dimension"),)


class DecisionTimeCount(Base):
    """How many ``decision_seconds`` fall in each bucket (:func:`models.stats.decision_bucket`):
    the median's walk starts at the bucket holding the middle. Kept by the same triggers
    as :class:`SubmissionCount`, never written by the application."""

    __tablename__ = "decision_time_counts"

    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    decided: Mapped[int] = mapped_column(Integer)
