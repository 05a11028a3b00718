"""Moderation cards: one message per entry in the moderators' group, re-drawn from the database.

A card is always rendered from the entry's current row, so whoever changes the entry
(a moderator, the publisher, an erasure) calls :func:`refresh_card` and every moderator
sees the same truth. Posting a card never loses an entry: when the group cannot be reached
the entry stays ``pending`` without a card and :func:`post_missing_cards` retries later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.campaign.captions import CAPTION_LIMIT, entry_caption, visible_length
from bot.campaign.coach import Bystanders, Focus, face_is_small, focus, light, measures_of
from bot.campaign.schedule import slot_for_position
from bot.config import CoachSettings
from bot.i18n import local_moment, plain, t, tn
from bot.services import Services
from bot.telegram.callbacks import Card, card_button, keyboard
from bot.telegram.delivery import maybe_delivered
from models import Apprentice, AuditAction, ModerationAudit, Submission, SubmissionStatus
from models.apprentices import get_apprentice
from models.audit import last_actions
from models.base import utcnow
from models.lifecycle import PHOTO_MISSING
from models.moderation import (
    Duplicate,
    card_lost,
    cards_behind,
    mark_card_synced,
    pending_without_card,
    possible_duplicates,
    set_moderation_card,
)
from models.publishing import queue_position
from models.submissions import get_entry, set_photo_file_id

log = logging.getLogger(__name__)

S = SubmissionStatus


UNDONE: dict[str, str] = {
    AuditAction.APPROVE: "approval",
    AuditAction.PUBLISH_NOW: "approval",
    AuditAction.REQUEUE: "approval",
    AuditAction.REFUSE: "refusal",
    AuditAction.UNPUBLISH: "removal",
}
"""What an undo took back, by the newest of these actions before it (none: « la décision »)."""


@dataclass(frozen=True)
class CardView:
    """Everything a card shows, read in one unit of work."""

    entry: Submission
    apprentice: Apprentice | None
    duplicates: list[Duplicate]
    slot: datetime | None
    undo: tuple[ModerationAudit, str] | None = None
    """On an entry pending again: the undo's audit row and what it took back (``approval``…)."""


def when(moment: datetime, language: str, services: Services) -> str:
    """``moment`` in the campaign's time zone (see :func:`bot.i18n.local_moment`)."""
    return local_moment(language, moment, services.settings.schedule.timezone)


async def load_view(services: Services, submission_id: int) -> CardView | None:
    async with services.sessions() as session:
        entry = await get_entry(session, submission_id)
        if entry is None:
            return None
        apprentice = await get_apprentice(session, entry.apprentice_id)
        duplicates = await possible_duplicates(
            session, submission_id, services.settings.moderation.duplicate_distance
        )
        position = await queue_position(session, submission_id)
        undo = None
        if entry.status == S.PENDING:
            newest = await last_actions(session, submission_id, 5)
            if newest and newest[0].action == AuditAction.UNDO:
                taken_back = (UNDONE[row.action] for row in newest[1:] if row.action in UNDONE)
                undo = newest[0], next(taken_back, "decision")
    slot = None
    if position is not None:
        slot = slot_for_position(services.settings.schedule, utcnow(), position)
    return CardView(entry, apprentice, duplicates, slot, undo)


def _who(apprentice: Apprentice | None, language: str) -> str:
    if apprentice is None or not apprentice.first_name:
        return t(language, "card.who_erased")
    username = f" · @{apprentice.username}" if apprentice.username else ""
    return t(language, "card.who", name=apprentice.first_name, username=username, id=apprentice.id)


def _facts(view: CardView, language: str, services: Services) -> list[str]:
    entry = view.entry
    lines = [t(language, "card.title", number=entry.id), _who(view.apprentice, language)]
    if entry.age_band == "minor":
        policy = plain(language, f"card.minor.{entry.minor_policy}")
        if entry.guardian_confirmed_at:
            policy = plain(
                language,
                "card.minor.guardian_at",
                when=when(entry.guardian_confirmed_at, language, services),
            )
        lines.append(t(language, "card.minor", policy=policy))
    else:
        lines.append(t(language, "card.adult"))
    lines.append(t(language, "card.consent", when=when(entry.consent_at, language, services)))
    lines += photo_lines(entry, language, services.settings.coach)
    if view.duplicates:
        found = ", ".join(
            plain(
                language, "card.duplicate", number=d.id, status=plain(language, f"state.{d.status}")
            )
            for d in view.duplicates
        )
        lines.append(t(language, "card.duplicates", found=found))
    return lines


def photo_lines(entry: Submission, language: str, coach: CoachSettings) -> list[str]:
    """The photo as a moderator reads it: words first (« nette · sombre · visage
    visible »), the figures and their scale on a second line; then other people's faces
    and what the apprentice chose for them."""
    measures = measures_of(entry)
    sharp = focus(measures.sharpness, coach) or Focus.SHARP
    lit = light(measures.brightness, measures.burnt, coach)
    if measures.faces is None:
        face = "unknown"
    elif measures.faces == 0:
        face = "none"
    else:
        face = "small" if face_is_small(measures, coach) else "ok"
    scale = {
        "sharpness": round(measures.sharpness or 0.0),
        "blurry": round(coach.blurry_below),
        "soft": round(coach.soft_below),
        "width": entry.width,
        "height": entry.height,
    }
    lines = [
        t(
            language,
            "card.photo",
            focus=plain(language, f"card.focus.{sharp}"),
            light=plain(language, f"card.light.{lit or 'unknown'}"),
            face=plain(language, f"card.face.{face}"),
        ),
        t(language, "card.photo_figures", brightness=round(100 * entry.brightness), **scale)
        if entry.brightness is not None
        else t(language, "card.photo_size", **scale),
    ]
    others = entry.bystanders
    if others and entry.bystanders_choice == Bystanders.BLURRED:
        lines.append(tn(language, "card.bystanders.blurred", others))
    elif others and entry.bystanders_choice == Bystanders.AGREED:
        lines.append(tn(language, "card.bystanders.agreed", others))
    elif others:
        lines.append(tn(language, "card.bystanders.open", others))
    return lines


def _outcome(view: CardView, language: str, services: Services) -> str | None:
    """The decision and what became of it; who approved stays once the entry is posted."""
    entry = view.entry
    moderator = entry.decided_by_name or "?"
    decided = when(entry.decided_at, language, services) if entry.decided_at else ""
    if entry.status == S.REFUSED and entry.refusal_reason == "unpublished":
        # Taken off the channel, not refused: the card says so, and by whom.
        return t(language, "card.unpublished", moderator=moderator, when=decided)
    if entry.status == S.REFUSED:
        reason = reason_text(entry.refusal_reason, language, services)
        return t(language, "card.refused", moderator=moderator, when=decided, reason=reason)
    if entry.status == S.APPROVED:
        slot = when(view.slot, language, services) if view.slot else plain(language, "card.no_slot")
        after = t(language, "card.planned", slot=slot)
    elif entry.status == S.PUBLISHED and entry.published_at:
        after = t(language, "card.published", when=when(entry.published_at, language, services))
    elif entry.status == S.HELD:
        reason = entry.held_reason or ""
        if reason == PHOTO_MISSING:
            reason = plain(language, "card.photo_missing")
        after = t(language, "card.held", reason=reason)
    elif entry.status in (S.PUBLISHING, S.NEEDS_CHECK):
        after = t(language, f"card.{entry.status}")
    elif view.undo:
        return _undone(*view.undo, language, services)
    else:
        return None
    approved = t(language, "card.approved_by", moderator=moderator, when=decided)
    return f"{approved}\n{after}"


def _undone(undo: ModerationAudit, taken_back: str, language: str, services: Services) -> str:
    """A pending card after an undo: who took what back, and that it awaits a decision again."""
    what = plain(language, f"card.undone.{taken_back}")
    return t(
        language,
        "card.undone",
        moderator=undo.moderator_name or "?",
        what=what,
        when=when(undo.created_at, language, services),
    )


def reason_text(code: str | None, language: str, services: Services) -> str:
    """A refusal reason in ``language``: listed codes are translated, typed ones kept as is."""
    if not code:
        return ""
    for reason in services.settings.moderation.refusal_reasons:
        if reason == code:
            return plain(language, f"reason.{code}")
        if not isinstance(reason, str) and reason.code == code:
            return reason.fr if language == "fr" else reason.en
    if code in ("banned", "unpublished"):
        return plain(language, f"reason.{code}")
    return code


def card_text(view: CardView, services: Services) -> str:
    """Facts, outcome, then the channel caption, shortened only if the card would not fit."""
    language = services.settings.moderation.language
    parts = ["\n".join(_facts(view, language, services))]
    outcome = _outcome(view, language, services)
    if outcome:
        parts.append(outcome)
    head = "\n\n".join([*parts, t(language, "card.caption_title")])
    room = CAPTION_LIMIT - visible_length(head) - 1
    return head + "\n" + entry_caption(view.entry, services.settings, limit=room)


def _buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return keyboard(rows) if rows else None


def card_keyboard(view: CardView, services: Services) -> InlineKeyboardMarkup | None:
    """The buttons that make sense in the entry's current state."""
    language = services.settings.moderation.language
    entry, number = view.entry, view.entry.id
    if entry.status == S.PENDING:
        return _buttons(
            [
                [
                    (plain(language, "card.approve"), card_button(Card.APPROVE, number)),
                    (plain(language, "card.refuse"), card_button(Card.REFUSE, number)),
                ],
                [(plain(language, "card.ban"), card_button(Card.BAN, number))],
            ]
        )
    can_undo = entry.decided_at is not None and utcnow() - entry.decided_at < timedelta(
        minutes=services.settings.moderation.undo_minutes
    )
    undo = [(plain(language, "card.undo"), card_button(Card.UNDO, number))] if can_undo else []
    # An approved or held entry can be taken back from the queue at any time.
    pull_back = [(plain(language, "card.pull_back"), card_button(Card.UNDO, number))]
    if entry.status == S.APPROVED:
        return _buttons(
            [
                [(plain(language, "card.publish_now"), card_button(Card.PUBLISH_NOW, number))],
                pull_back,
            ]
        )
    if entry.status == S.REFUSED:
        return _buttons([undo])
    if entry.status == S.PUBLISHED:
        return _buttons(
            [[(plain(language, "card.unpublish"), card_button(Card.UNPUBLISH, number))]]
        )
    if entry.status == S.NEEDS_CHECK:
        return _buttons([[(plain(language, "card.not_posted"), card_button(Card.REQUEUE, number))]])
    if entry.status == S.HELD:
        return _buttons(
            [[(plain(language, "card.try_again"), card_button(Card.REQUEUE, number))], pull_back]
        )
    return None


def reasons_keyboard(submission_id: int, services: Services) -> InlineKeyboardMarkup | None:
    language = services.settings.moderation.language
    codes = services.settings.moderation.reason_codes()
    rows = [
        [(reason_text(code, language, services), card_button(Card.REASON, submission_id, code))]
        for code in codes
    ]
    rows.append(
        [(plain(language, "card.other_reason"), card_button(Card.OTHER_REASON, submission_id))]
    )
    rows.append([(plain(language, "card.back"), card_button(Card.BACK, submission_id))])
    return _buttons(rows)


def ban_keyboard(submission_id: int, services: Services) -> InlineKeyboardMarkup | None:
    language = services.settings.moderation.language
    return _buttons(
        [
            [(plain(language, "card.confirm_ban"), card_button(Card.CONFIRM_BAN, submission_id))],
            [(plain(language, "card.back"), card_button(Card.BACK, submission_id))],
        ]
    )


def unpublish_keyboard(submission_id: int, services: Services) -> InlineKeyboardMarkup | None:
    language = services.settings.moderation.language
    return _buttons(
        [
            [
                (
                    plain(language, "card.confirm_unpublish"),
                    card_button(Card.CONFIRM_UNPUBLISH, submission_id),
                )
            ],
            [(plain(language, "card.back"), card_button(Card.BACK, submission_id))],
        ]
    )


async def post_card(bot: Bot, services: Services, submission_id: int) -> bool:
    """Send the card of a pending entry; False (entry kept, logged once) if the group fails
    (True also when the card cannot be made: a photo lost from the disk)."""
    async with services.cards.lock:
        return await _post_card(bot, services, submission_id)


async def _post_card(bot: Bot, services: Services, submission_id: int) -> bool:
    view = await load_view(services, submission_id)
    if view is None or view.entry.moderation_message_id is not None:
        return view is not None
    chat_id = services.settings.moderation.chat_id
    try:
        photo = await services.photos.sendable(view.entry.photo_file_id, view.entry.photo_path)
    except OSError:  # the entry's fault, not the group's: the other cards still go
        log.error("entry %s: processed photo missing, no card posted", submission_id)
        return True
    try:
        message = await bot.send_photo(
            chat_id,
            photo,
            caption=card_text(view, services),
            reply_markup=card_keyboard(view, services),
        )
    except TelegramError as error:
        if maybe_delivered(error):  # the card may be there: see handlers.decisions
            async with services.sessions() as session, session.begin():
                await card_lost(session, submission_id)
        if not services.cards.unreachable:
            log.warning(
                "moderation group %s unreachable (%s): entries stay pending, cards retried",
                chat_id,
                error,
            )
        services.cards.unreachable = True
        return False
    if services.cards.unreachable:
        log.info("moderation group %s reachable again", chat_id)
    services.cards.unreachable = False
    async with services.sessions() as session, session.begin():
        await set_moderation_card(
            session, submission_id, chat_id, message.message_id, view.entry.updated_at
        )
        if view.entry.photo_file_id is None and message.photo:
            await set_photo_file_id(session, submission_id, message.photo[-1].file_id)
    return True


async def post_missing_cards(bot: Bot, services: Services) -> int:
    """Cards of pending entries that have none (group unreachable earlier); returns posted."""
    async with services.sessions() as session:
        missing = await pending_without_card(session)
    posted = 0
    for submission_id in missing:
        if not await post_card(bot, services, submission_id):
            break
        posted += 1
    return posted


async def refresh_card(bot: Bot, services: Services, submission_id: int) -> bool:
    """Re-draw the card from the database; False if Telegram did not take the edit.

    The change is already committed when this runs. A card Telegram did not update stays
    "behind" (``card_synced_at``) and the retry job draws it again; one that is gone
    (deleted by someone) is left gone.
    """
    view = await load_view(services, submission_id)
    if view is None or view.entry.moderation_message_id is None:
        return True
    try:
        await bot.edit_message_caption(
            chat_id=view.entry.moderation_chat_id,
            message_id=view.entry.moderation_message_id,
            caption=card_text(view, services),
            reply_markup=card_keyboard(view, services),
        )
    except BadRequest as error:
        description = error.message.lower()
        if "not modified" not in description and "not found" not in description:
            log.warning("card of entry %s not updated: %s", submission_id, error.message)
            return False
    except TelegramError as error:
        log.warning("card of entry %s not updated yet: %s", submission_id, error.message)
        return False
    async with services.sessions() as session, session.begin():
        await mark_card_synced(session, submission_id, view.entry.updated_at)
    return True


async def redraw_cards_behind(bot: Bot, services: Services) -> None:
    """The retry job's part: cards whose last edit Telegram did not take."""
    async with services.sessions() as session:
        behind = await cards_behind(session)
    for submission_id in behind:
        if not await refresh_card(bot, services, submission_id):
            break
