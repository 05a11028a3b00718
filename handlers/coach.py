"""The photo coach at the preview: its word on a new photo, and what the apprentice
chooses for other people's faces (blurred for good, or « elles sont d'accord »).

The rules are :mod:`bot.campaign.coach`'s; the measures were taken by the image workers
with the photo. Nothing here blocks: the preview's « Envoyer » always works.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.campaign.coach import Bystanders, hint, measures_of_photo
from bot.campaign.drafts import replace_photo
from bot.i18n import plain, t, tn
from bot.photos.faces import Face
from bot.photos.pipeline import ProcessedImage
from bot.photos.refusals import ImageRejected
from bot.telegram import callbacks
from bot.telegram.callbacks import keyboard
from handlers.common import Context, answers, language, reply, services
from models.audit import record_audit
from models.submissions import get_draft, get_entry
from models.tables import AuditAction

log = logging.getLogger(__name__)

OTHERS = "others"
"""Key of the answers holding the other faces' boxes until the apprentice chooses."""


async def show_coach(update: Update, context: Context, processed: ProcessedImage) -> None:
    """Under a new photo's preview: at most one hint, and the offer for other faces."""
    lang = language(update, context)
    coach = services(context).settings.coach
    faces = processed.faces
    measures = measures_of_photo(processed, searched=coach.enabled)
    others = list(faces[1:])
    entry = answers(context)
    entry[OTHERS] = [[f.x, f.y, f.w, f.h] for f in others]
    found = hint(measures, coach)
    lines, rows = [], []
    if found is not None:
        lines.append(t(lang, f"coach.{found}"))
    if others:
        lines.append(tn(lang, "coach.bystanders", len(others)))
        rows.append([(plain(lang, "coach.blur"), callbacks.COACH.data("blur"))])
        rows.append([(plain(lang, "coach.agree"), callbacks.COACH.data("agree"))])
    if not lines:
        return
    rows.append([(plain(lang, "coach.another"), callbacks.PREVIEW.data("photo"))])
    lines.append(t(lang, "coach.can_send"))
    await reply(update, context, "\n\n".join(lines), keyboard(rows))


async def blur_bystanders(update: Update, context: Context) -> bool:
    """Hide the other faces on the draft's photo; whether the photo changed (then the
    caller shows the new preview). The unblurred file is deleted."""
    assert update.effective_user
    lang = language(update, context)
    entry = answers(context)
    faces = tuple(Face(*box) for box in entry.get(OTHERS) or ())
    svc = services(context)
    async with svc.sessions() as session:
        draft = await get_draft(session, entry.get("draft_id", -1), update.effective_user.id)
        path = draft.photo_path if draft is not None else None
    if not faces or path is None:
        await reply(update, context, t(lang, "common.answer_above"))
        return False
    try:
        jpeg = await asyncio.to_thread(svc.photos.read, path)
        edited, thumbnail = await svc.image_workers.hide_faces(jpeg, faces, svc.images.jpeg_quality)
        changed = await replace_photo(
            svc.sessions,
            svc.photos,
            entry["draft_id"],
            update.effective_user.id,
            edited,
            thumbnail,
            bystanders_choice=Bystanders.BLURRED.value,
        )
    except (ImageRejected, OSError) as error:
        log.warning("draft %s: faces not blurred: %s", entry["draft_id"], type(error).__name__)
        await reply(update, context, t(lang, "coach.blur_failed"))
        return False
    entry.pop(OTHERS, None)
    log.info("draft %s: %s other faces blurred", entry["draft_id"], len(faces))
    await reply(update, context, tn(lang, "coach.blurred", len(faces)))
    return changed


async def record_agreement(update: Update, context: Context) -> None:
    """The apprentice says the people on the photo agree: the card and the audit say so."""
    assert update.effective_user
    entry = answers(context)
    async with services(context).sessions() as session, session.begin():
        draft = await get_draft(session, entry.get("draft_id", -1), update.effective_user.id)
        if draft is not None and draft.bystanders:
            draft.bystanders_choice = Bystanders.AGREED.value
    await reply(update, context, t(language(update, context), "coach.agreed"))


async def audit_agreement(session: AsyncSession, entry_id: int, apprentice_id: int) -> None:
    """At submission, in its unit of work: an entry sent with other people's faces that
    the apprentice says agree leaves that statement in the audit."""
    entry = await get_entry(session, entry_id)
    if entry is not None and entry.bystanders_choice == Bystanders.AGREED:
        await record_audit(
            session,
            AuditAction.BYSTANDERS_AGREED,
            moderator_id=None,
            submission_id=entry_id,
            apprentice_id=apprentice_id,
            reason=f"{entry.bystanders} other faces",
        )
