"""Followers arriving from a channel post's « ce métier m'intéresse » link
(``/start post-<entry>``): told about the trade, where the campaign's apprentices learn it
and where its offers are, and counted without being recorded (:mod:`bot.campaign.interest`).

Separate from the apprentice's conversation and registered before it: a follower is not
an apprentice, and an apprentice half-way through an entry keeps their place.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import filters

from bot.campaign.interest import TradeInfo, visit
from bot.campaign.links import INTEREST_PREFIX, interest_post
from bot.campaign.offers import offers_url
from bot.i18n import plain, t, tn
from handlers.common import Context, language, reply, services
from models.base import utcnow

log = logging.getLogger(__name__)

INTEREST_LINK = filters.Regex(rf"^/start(@\w+)? {INTEREST_PREFIX}\d{{1,12}}$")


async def on_interest_link(update: Update, context: Context) -> None:
    assert update.effective_user and context.args
    entry_id = interest_post(context.args[0])
    assert entry_id is not None
    lang, settings = language(update, context), services(context).settings
    async with services(context).sessions() as session, session.begin():
        info = await visit(
            session,
            settings,
            services(context).visitor_keys,
            entry_id,
            update.effective_user.id,
            utcnow(),
        )
    if info is None:
        log.info("interest link of entry %s: no longer on the channel", entry_id)
        await reply(update, context, t(lang, "interest.gone"), _offers(lang, context, None))
        return
    if info.counted:
        log.info("interest link of entry %s: visit counted", entry_id)
    else:
        log.info("interest link of entry %s: answered again, counted once today", entry_id)
    await reply(update, context, _about(lang, context, info), _offers(lang, context, info.trade))


def _about(lang: str, context: Context, info: TradeInfo) -> str:
    settings = services(context).settings
    lines = [
        t(lang, "interest.trade", trade=info.trade)
        if info.sector is None
        else t(lang, "interest.trade_in_sector", trade=info.trade, sector=info.sector),
        tn(
            lang,
            "interest.apprentices",
            info.apprentices,
            campaign=settings.campaign.name,
        ),
    ]
    if info.centres:
        lines.append(t(lang, "interest.centres", centres=", ".join(info.centres)))
    lines.append(t(lang, "interest.take_part"))
    return "\n\n".join(lines)


def _offers(lang: str, context: Context, trade: str | None) -> InlineKeyboardMarkup | None:
    url = offers_url(services(context).settings, trade)
    if not url:
        return None
    label = plain(lang, "interest.offers") if trade else plain(lang, "interest.all_offers")
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])
