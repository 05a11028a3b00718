"""A draft's photo, from the downloaded bytes to its row: the pipeline has made the image
(:mod:`bot.photos.pipeline`, in a worker); here it goes into the store and onto the draft
(created with the answers so far), and the photo it replaces leaves the disk.

No Telegram here: the handler downloads, and hands over who sent it and their answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.photos.encode import Thumbnail
from bot.photos.pipeline import ProcessedImage
from bot.photos.store import PhotoStore
from models import AgeBand, dhash_to_db
from models.apprentices import upsert_apprentice
from models.submissions import create_draft, get_draft


@dataclass(frozen=True)
class Sender:
    """Who sent the photo, as their Telegram account says."""

    user_id: int
    first_name: str
    username: str | None
    language: str


async def keep_photo(
    sessions: async_sessionmaker[AsyncSession],
    store: PhotoStore,
    sender: Sender,
    answers: dict[str, Any],
    source_id: str,
    processed: ProcessedImage,
    searched: bool,
) -> int:
    """Store the photo and put it on the draft (``answers["draft_id"]``, else a new one);
    returns the draft's id. A failure leaves neither a file without a row nor the reverse.
    ``searched``: faces were searched (``[coach]`` on), so none found means none seen."""
    path = await asyncio.to_thread(store.save, processed.jpeg, processed.thumbnail)
    try:
        draft_id, old_path = await _put_on_draft(
            sessions, sender, answers, path, source_id, processed, searched
        )
    except BaseException:
        await asyncio.to_thread(store.delete, path)  # no row, no file
        raise
    await asyncio.to_thread(store.delete, old_path)
    return draft_id


async def _put_on_draft(
    sessions: async_sessionmaker[AsyncSession],
    sender: Sender,
    answers: dict[str, Any],
    path: str,
    source_id: str,
    processed: ProcessedImage,
    searched: bool,
) -> tuple[int, str | None]:
    """The draft row gets the new photo; returns its id and the path of the photo it
    replaces, if any."""
    fields: dict[str, Any] = {
        "photo_path": path,
        "source_file_unique_id": source_id,
        "width": processed.width,
        "height": processed.height,
        "dhash": dhash_to_db(processed.dhash),
        "sharpness": processed.sharpness,
        **measure_fields(processed, searched),
        "photo_file_id": None,
    }
    async with sessions() as session, session.begin():
        draft = None
        if answers.get("draft_id") is not None:
            draft = await get_draft(session, answers["draft_id"], sender.user_id)
        if draft is not None:
            old_path = draft.photo_path
            for key, value in fields.items():
                setattr(draft, key, value)
            return draft.id, old_path
        await upsert_apprentice(
            session,
            sender.user_id,
            first_name=sender.first_name,
            username=sender.username,
            language=sender.language,
        )
        draft = await create_draft(
            session, sender.user_id, **_draft_fields(answers, sender.language), **fields
        )
        return draft.id, None


def measure_fields(processed: ProcessedImage, searched: bool) -> dict[str, Any]:
    """The coach's measures of a new photo, as the draft row keeps them; what the
    apprentice chose for other people's faces starts over with each photo."""
    faces = processed.faces
    return {
        "brightness": processed.brightness,
        "burnt": processed.burnt,
        "faces": len(faces) if searched else None,
        "face_width": faces[0].w if faces else None,
        "bystanders": len(faces) - 1 if faces else (0 if searched else None),
        "bystanders_choice": None,
    }


async def replace_photo(
    sessions: async_sessionmaker[AsyncSession],
    store: PhotoStore,
    draft_id: int,
    user_id: int,
    jpeg: bytes,
    thumbnail: Thumbnail,
    **fields: Any,
) -> bool:
    """The draft's photo replaced by an edited copy (other people's faces blurred), the
    old file deleted so only the new one is kept; False if the draft is gone."""
    path = await asyncio.to_thread(store.save, jpeg, thumbnail)
    try:
        async with sessions() as session, session.begin():
            draft = await get_draft(session, draft_id, user_id)
            old_path = draft.photo_path if draft is not None else None
            if draft is not None:
                draft.photo_path, draft.photo_file_id = path, None
                for key, value in fields.items():
                    setattr(draft, key, value)
    except BaseException:
        await asyncio.to_thread(store.delete, path)
        raise
    await asyncio.to_thread(store.delete, old_path if draft is not None else path)
    return draft is not None


def _draft_fields(answers: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        **detail_fields(answers),
        "language": language,
        "age_band": AgeBand(answers["age_band"]),
        "minor_policy": answers.get("minor_policy"),
        "consent_at": datetime.fromisoformat(answers["consent_at"]),
        "consent_version": answers.get("consent_version"),
        "guardian_confirmed_at": (
            datetime.fromisoformat(answers["guardian_confirmed_at"])
            if answers.get("guardian_confirmed_at")
            else None
        ),
    }


def detail_fields(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers the preview may still change (name, trade, centre, quote)."""
    return {
        "display_name": answers.get("display_name"),
        "trade": answers["trade"],
        "centre_code": answers.get("centre_code"),
        "centre_name": answers["centre_name"],
        "quote": answers.get("quote"),
    }
