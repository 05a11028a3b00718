"""/mesdonnees: an apprentice's own data, as the bot holds it (issue 14).

The profile, every entry (drafts too), the answers of the entry in progress and the photos
still kept, in the apprentice's language. Read only: the conversation in progress, its
answers and its step, are left exactly as they were, so the command works in the middle of
an entry, and for a banned apprentice too (:mod:`handlers.guard`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.i18n import local_moment, plain, t, tn
from bot.services import Services
from bot.telegram import callbacks
from bot.telegram.callbacks import keyboard
from bot.telegram.cards import reason_text
from handlers.common import Context, language, reply, services
from models.apprentices import get_apprentice, note_shown_photo
from models.submissions import held_entries_of
from models.tables import Apprentice, ConsentText, Submission, SubmissionStatus

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
"""Telegram's limit on a message's text; the listing is cut into messages below it."""
VALUE_LIMIT = 900
"""Longest free text shown (far above what the conversation accepts): even escaped, one
line stays under :data:`MESSAGE_LIMIT`."""


class Listing:
    """The texts of one apprentice's data, in their language and the campaign's time zone."""

    def __init__(self, lang: str, timezone: str, services: Services) -> None:
        self.lang, self.timezone, self.services = lang, timezone, services

    def when(self, moment: datetime) -> str:
        return local_moment(self.lang, moment, self.timezone)

    def profile(self, apprentice: Apprentice) -> str:
        lang = self.lang
        lines = [t(lang, "mydata.profile")]
        if apprentice.first_name:
            lines.append(t(lang, "mydata.first_name", name=_short(apprentice.first_name)))
        if apprentice.username:
            lines.append(t(lang, "mydata.username", username=apprentice.username))
        names = {"fr": plain(lang, "mydata.language.fr"), "en": plain(lang, "mydata.language.en")}
        interface = names.get(apprentice.language, apprentice.language)
        lines.append(t(lang, "mydata.language", interface=interface))
        return "\n".join(lines)

    def entry(self, entry: Submission) -> str:
        lang = self.lang
        status = plain(lang, f"status.{entry.status.value}")
        lines = [t(lang, "mydata.entry", number=entry.id, status=status)]
        if entry.purged_at is None or entry.display_name:
            lines.append(self.name(entry.display_name))
        lines += self.details(entry.trade, entry.centre_name, entry.quote, entry.age_band)
        if entry.submitted_at is not None:
            lines.append(t(lang, "mydata.sent", when=self.when(entry.submitted_at)))
        if entry.decided_at is not None:
            lines.append(t(lang, "mydata.decided", when=self.when(entry.decided_at)))
        if entry.published_at is not None:
            lines.append(t(lang, "mydata.published", when=self.when(entry.published_at)))
        if entry.status == SubmissionStatus.REFUSED and entry.refusal_reason:
            reason = reason_text(entry.refusal_reason, lang, self.services)
            lines.append(t(lang, "mydata.reason", reason=_short(reason)))
        lines += self.consent(entry.consent_at, entry.guardian_confirmed_at)
        if entry.purged_at is not None:
            lines.append(t(lang, "mydata.purged", when=self.when(entry.purged_at)))
        return "\n".join(lines)

    def in_progress(self, answers: dict[str, Any]) -> str:
        """The answers kept in ``user_data["entry"]`` (dates as ISO strings)."""
        lines = [t(self.lang, "mydata.in_progress")]
        if "display_name" in answers:
            lines.append(self.name(answers["display_name"]))
        lines += self.details(
            answers.get("trade") or answers.get("typed_trade"),
            answers.get("centre_name") or answers.get("typed_centre"),
            answers.get("quote"),
            answers.get("age_band"),
        )
        consent_at = _moment(answers.get("consent_at"))
        if consent_at is not None:
            lines += self.consent(consent_at, _moment(answers.get("guardian_confirmed_at")))
        return "\n".join(lines)

    def name(self, display_name: str | None) -> str:
        if not display_name:
            return t(self.lang, "mydata.anonymous")
        return t(self.lang, "mydata.name", name=_short(display_name))

    def details(
        self, trade: str | None, centre: str | None, quote: str | None, age_band: str | None
    ) -> list[str]:
        lang, lines = self.lang, []
        if trade:
            lines.append(t(lang, "mydata.trade", trade=_short(trade)))
        if centre:
            lines.append(t(lang, "mydata.centre", centre=_short(centre)))
        if quote:
            lines.append(t(lang, "mydata.quote", quote=_short(quote)))
        if age_band in ("adult", "minor"):
            lines.append(t(lang, "mydata.age", age=plain(lang, f"age.{age_band}")))
        return lines

    def consent(self, consent_at: datetime, guardian_at: datetime | None) -> list[str]:
        lang, given = self.lang, self.when(consent_at)
        lines = [t(lang, "mydata.consent", when=given)]
        if guardian_at is not None:
            lines.append(t(lang, "mydata.guardian", when=self.when(guardian_at)))
        return lines


def _short(value: object) -> object:
    """A free text longer than :data:`VALUE_LIMIT` (never typed through the bot) is cut."""
    if isinstance(value, str) and len(value) > VALUE_LIMIT:
        return value[: VALUE_LIMIT - 1] + "…"
    return value


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """The blocks joined into as few messages as fit under ``limit``, a blank line between
    two blocks; a block too long for one message is cut between its lines."""
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit:
            pieces.append(block)
            continue
        current = ""
        for line in block.split("\n"):
            if current and len(current) + 1 + len(line) > limit:
                pieces.append(current)
                current = line
            else:
                current = f"{current}\n{line}" if current else line
        pieces.append(current)
    messages: list[str] = []
    for piece in pieces:
        if messages and len(messages[-1]) + 2 + len(piece) <= limit:
            messages[-1] += "\n\n" + piece
        else:
            messages.append(piece)
    return messages


def consent_buttons(
    lang: str, listing: Listing, rows: list[Submission], answers: dict[str, Any]
) -> InlineKeyboardMarkup | None:
    """One button per consent text the apprentice agreed to (the date they first did), to
    read it again: the version code itself tells them nothing."""
    agreed: dict[str, datetime] = {}
    moments: list[tuple[object, datetime | None]] = [
        (row.consent_version, row.consent_at) for row in rows
    ]
    moments.append((answers.get("consent_version"), _moment(answers.get("consent_at"))))
    for version, moment in moments:
        if isinstance(version, str) and moment is not None:
            agreed[version] = min(moment, agreed.get(version, moment))
    if not agreed:
        return None
    rows_of_buttons = [
        [
            (
                plain(lang, "mydata.consent_text", when=listing.when(moment)),
                callbacks.CONSENT_TEXT.data(version),
            )
        ]
        for version, moment in sorted(agreed.items(), key=lambda item: item[1])
    ]
    return keyboard(rows_of_buttons)


async def show_consent_text(update: Update, context: Context) -> None:
    """The consent text of a /mesdonnees button, as the apprentice read it."""
    query = update.callback_query
    chat = update.effective_chat
    assert query and query.data and chat
    await query.answer()
    lang = language(update, context)
    async with services(context).sessions() as session:
        text = await session.get(ConsentText, callbacks.CONSENT_TEXT.version(query.data))
    if text is None:
        await chat.send_message(t(lang, "mydata.consent_text_gone"))
        return
    # The stored text is the message the bot sent (HTML it wrote itself).
    title = t(lang, "mydata.consent_text_title")
    await chat.send_message(f"{title}\n\n{text.text}")


def _in_progress_answers(context: Context) -> dict[str, Any]:
    """The answers of the entry being built, read without creating them (see
    :func:`handlers.common.answers`)."""
    entry = context.user_data.get("entry") if context.user_data is not None else None
    return dict(entry) if isinstance(entry, dict) else {}


async def show_my_data(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user and chat
    svc = services(context)
    lang = language(update, context)
    listing = Listing(lang, svc.settings.schedule.timezone, svc)
    answers = _in_progress_answers(context)
    async with svc.sessions() as session:
        apprentice = await get_apprentice(session, user.id)
        rows = await held_entries_of(session, user.id)
    draft_id = answers.get("draft_id")
    draft = next((row for row in rows if row.id == draft_id), None)
    entries = [row for row in rows if row is not draft]
    has_profile = apprentice is not None and bool(apprentice.first_name or apprentice.username)
    in_progress = any(key != "draft_id" for key in answers) or draft is not None
    if not (has_profile or entries or in_progress):
        log.info("my data for user %s: nothing held", user.id)
        await reply(update, context, t(lang, "mydata.none"))
        return

    blocks = [t(lang, "mydata.title")]
    if has_profile:
        assert apprentice is not None
        blocks.append(listing.profile(apprentice))
    if in_progress:
        blocks.append(listing.in_progress(answers))
    if entries:
        blocks.append(tn(lang, "mydata.entries", len(entries)))
        blocks += [listing.entry(entry) for entry in entries]
    photos = [
        (row, _caption(lang, row, row is draft), sendable)
        for row in sorted(rows, key=lambda row: row is not draft)  # in progress first
        if (sendable := await _sendable(svc, row)) is not None
    ]
    if photos:
        blocks.append(tn(lang, "mydata.photos", len(photos)))
    messages = pack(blocks)
    texts = consent_buttons(lang, listing, rows, answers)
    for number, text in enumerate(messages, start=1):
        await reply(update, context, text, texts if number == len(messages) else None)
    for row, caption, sendable in photos:
        await _send_photo(chat, svc, row, caption, sendable)
    log.info(
        "my data for user %s: %d entries, %d messages, %d photos",
        user.id,
        len(entries),
        len(messages),
        len(photos),
    )


def _caption(lang: str, entry: Submission, in_progress: bool) -> str:
    if in_progress:
        return t(lang, "mydata.photo_in_progress")
    return t(lang, "mydata.photo_caption", number=entry.id)


async def _sendable(svc: Services, entry: Submission) -> str | bytes | None:
    """The entry's photo as Telegram keeps it, else as stored on disk; None when neither
    is left (erased by retention, or the file is missing)."""
    if entry.purged_at is not None or not (entry.photo_file_id or entry.photo_path):
        return None
    try:
        return await svc.photos.sendable(entry.photo_file_id, entry.photo_path)
    except OSError:
        log.warning("my data: photo of entry %s missing on disk", entry.id)
        return None


async def _send_photo(
    chat: Chat, svc: Services, entry: Submission, caption: str, photo: str | bytes
) -> None:
    """One message per photo, noted for /supprimer (the emulator has no ``sendMediaGroup``
    yet). A file_id Telegram no longer knows is replaced by the file on disk."""
    try:
        sent = await chat.send_photo(photo, caption=caption)
    except BadRequest as error:
        if isinstance(photo, bytes) or not entry.photo_path:
            raise
        log.info("my data: file_id of entry %s refused (%s): file sent", entry.id, error)
        try:
            data = await asyncio.to_thread(svc.photos.read, entry.photo_path)
        except OSError:
            log.warning("my data: photo of entry %s missing on disk", entry.id)
            return
        sent = await chat.send_photo(data, caption=caption)
    async with svc.sessions() as session, session.begin():
        await note_shown_photo(session, chat.id, sent.message_id)
