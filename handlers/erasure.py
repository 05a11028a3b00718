"""/supprimer: the apprentice takes everything back, after one confirmation."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import plain, t, tn
from bot.telegram.commands import DELETE
from bot.telegram.erasure import erase_apprentice
from handlers.common import Context, keyboard, language, pressed, reply, services


async def ask_erasure(update: Update, context: Context) -> None:
    lang = language(update, context)
    await reply(
        update,
        context,
        t(lang, "erase.confirm"),
        keyboard(
            [[(plain(lang, "erase.yes"), "erase:yes")], [(plain(lang, "erase.no"), "erase:no")]]
        ),
    )


async def on_erasure_choice(update: Update, context: Context) -> None:
    assert update.effective_user
    choice = await pressed(update, context)
    lang = language(update, context)
    if choice == "erase:no":
        await reply(update, context, t(lang, "erase.kept"))
        return
    user_id = update.effective_user.id
    # Dropped first: PTB would otherwise write the answers back while Telegram is called.
    context.application.drop_user_data(user_id)
    erasure = await erase_apprentice(context.bot, services(context), user_id)
    if erasure.complete:
        await reply(update, context, tn(lang, "erase.done", erasure.entries))
    else:
        await reply(update, context, tn(lang, "erase.done_messages_pending", erasure.entries))


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler(DELETE.all_names, ask_erasure, filters=private))
    application.add_handler(CallbackQueryHandler(on_erasure_choice, pattern=r"^erase:(yes|no)$"))
