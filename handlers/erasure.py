"""/supprimer: the apprentice takes everything back, after one confirmation."""

from __future__ import annotations

from telegram import Update

from bot.i18n import plain, t, tn
from bot.telegram.callbacks import ERASE, keyboard
from bot.telegram.erasure import erase_apprentice
from handlers.common import Context, language, pressed, reply, services


async def ask_erasure(update: Update, context: Context) -> None:
    lang = language(update, context)
    await reply(
        update,
        context,
        t(lang, "erase.confirm"),
        keyboard(
            [
                [(plain(lang, "erase.yes"), ERASE.data("yes"))],
                [(plain(lang, "erase.no"), ERASE.data("no"))],
            ]
        ),
    )


async def on_erasure_choice(update: Update, context: Context) -> None:
    assert update.effective_user
    choice = ERASE.option(await pressed(update, context))
    lang = language(update, context)
    if choice == "no":
        await reply(update, context, t(lang, "erase.kept"))
        return
    user_id = update.effective_user.id
    # Dropped first: PTB would otherwise write the answers back while Telegram is called.
    context.application.drop_user_data(user_id)
    erasure = await erase_apprentice(context.bot, services(context), user_id)
    if erasure.complete:
        told = [tn(lang, "erase.done", erasure.entries)]
    else:
        told = [tn(lang, "erase.done_messages_pending", erasure.entries)]
    if erasure.photos_left:
        told.append(tn(lang, "erase.photos_left", erasure.photos_left))
    await reply(update, context, "\n\n".join(told))
