"""Queries of the consent texts (:class:`ConsentText`). Nothing here commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import ConsentText


async def remember_consent_text(
    session: AsyncSession, version: str, language: str, text: str, *, names_site: bool
) -> None:
    """Store a wording the first time it is shown; a known version is left as it was."""
    if await session.get(ConsentText, version) is None:
        session.add(
            ConsentText(version=version, language=language, text=text, names_site=names_site)
        )


async def consent_texts(session: AsyncSession) -> list[ConsentText]:
    """Every wording ever shown, oldest first."""
    statement = select(ConsentText).order_by(ConsentText.first_shown_at, ConsentText.version)
    return list(await session.scalars(statement))
