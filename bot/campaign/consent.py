"""What an apprentice agrees to: the consent text in their language, and its version.

The version is a hash of the very text shown (campaign name and retention periods
included), so any change of wording or of a period is a new version by itself; each
version's text is kept in the database for the consent register.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import LANGUAGES, t, tn
from models.consent import remember_consent_text


def retention_text(language: str, settings: Settings) -> str:
    """How long what the apprentice sends is kept, as the consent's details tell it."""
    retention = settings.retention
    months = tn(language, "duration.months", retention.months_after_campaign)
    ends = settings.campaign.ends
    after = (
        t(language, "retention.after_end", months=months, date=ends.strftime("%d/%m/%Y"))
        if ends
        else t(language, "retention.after_end_undated", months=months)
    )
    return t(
        language,
        "consent.retention",
        drafts=tn(language, "duration.hours", retention.draft_hours),
        refused=tn(language, "duration.days", retention.refused_days),
        after=after,
    )


def consent_details(language: str, settings: Settings) -> str:
    details = t(language, "consent.details")
    return f"{details}\n{retention_text(language, settings)}"


def consent_pitch(language: str, settings: Settings) -> str:
    """The question itself: where the selfie will be shown, and how to take it back."""
    gallery = settings.gallery
    where = (
        t(language, "consent.where_site", url=gallery.base_url)
        if gallery.enabled
        else t(language, "consent.where_channel")
    )
    return t(language, "consent.pitch", campaign=settings.campaign.name, where=where)


def consent_text(language: str, settings: Settings) -> str:
    """Everything the apprentice may read before agreeing: the pitch and its details."""
    pitch = consent_pitch(language, settings)
    return f"{pitch}\n\n{consent_details(language, settings)}"


def consent_version(language: str, settings: Settings) -> str:
    text = consent_text(language, settings)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def record_consent_texts(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Keep the current wording of each language (at start, before anyone can agree)."""
    async with sessions() as session, session.begin():
        for language in LANGUAGES:
            await remember_consent_text(
                session,
                consent_version(language, settings),
                language,
                consent_text(language, settings),
                names_site=settings.gallery.enabled,
            )
