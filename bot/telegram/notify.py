"""Messages to an apprentice outside their conversation (decisions, publication)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.i18n import DEFAULT_LANGUAGE, t
from bot.services import Services
from models.apprentices import get_apprentice

log = logging.getLogger(__name__)


async def tell_apprentice(
    bot: Bot,
    services: Services,
    apprentice_id: int,
    key: str,
    **values: object | Callable[[str], object],
) -> bool:
    """Send ``key`` in the apprentice's language; a blocked bot or an error is only logged.

    A value may be a function of the language (a refusal reason, a date), called with the
    apprentice's own.
    """
    async with services.sessions() as session:
        apprentice = await get_apprentice(session, apprentice_id)
    language = apprentice.language if apprentice else DEFAULT_LANGUAGE
    filled = {name: v(language) if callable(v) else v for name, v in values.items()}
    try:
        await bot.send_message(apprentice_id, t(language, key, **filled))
    except Forbidden:
        log.info("apprentice %s blocked the bot: %s not delivered", apprentice_id, key)
        return False
    except TelegramError as error:
        log.warning("could not tell apprentice %s (%s): %s", apprentice_id, key, error)
        return False
    return True
