"""The apprentice's commands outside the conversation: /statut, /langue, /aide."""

from __future__ import annotations

from telegram import Update

from bot.i18n import local_moment, plain, t
from handlers.common import Context, language, reply, services
from models.apprentices import set_language
from models.submissions import entries_of


async def show_status(update: Update, context: Context) -> None:
    assert update.effective_user
    lang, timezone = language(update, context), services(context).settings.schedule.timezone
    async with services(context).sessions() as session:
        entries = await entries_of(session, update.effective_user.id)
    if not entries:
        await reply(update, context, t(lang, "status.none"))
        return
    lines = [
        t(
            lang,
            "status.line",
            number=entry.id,
            trade=entry.trade,
            date=local_moment(lang, entry.submitted_at, timezone, with_time=False)
            if entry.submitted_at
            else "",
            status=plain(lang, f"status.{entry.status.value}"),
        )
        for entry in entries
    ]
    await reply(update, context, "\n".join([t(lang, "status.title"), *lines]))


async def switch_language(update: Update, context: Context) -> None:
    assert update.effective_user and context.user_data is not None
    new = "en" if language(update, context) == "fr" else "fr"
    context.user_data["lang"] = new
    async with services(context).sessions() as session, session.begin():
        await set_language(session, update.effective_user.id, new)
    await reply(update, context, t(new, "language.switched"))


async def show_help(update: Update, context: Context) -> None:
    await reply(update, context, t(language(update, context), "help.apprentice"))


async def nothing_to_cancel(update: Update, context: Context) -> None:
    await reply(update, context, t(language(update, context), "cancel.nothing"))


async def on_stray_message(update: Update, context: Context) -> None:
    """A photo or text outside the conversation: show the way in."""
    await reply(update, context, t(language(update, context), "common.start_first"))
