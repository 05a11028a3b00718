"""Where a post leads: the offers for its trade, and the bot's deep link counting interest.

``campaign.offers_url`` may be a template (``{trade}``, ``{trade_slug}``, ``{centre}``,
each URL-encoded) and ``campaign.trade_offers`` names a page per trade, which wins. Trades
are matched by their slug, so « Pâtissière » and « patissiere » find the same page.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.campaign.captions import template_fields
from bot.config import Settings
from bot.site.pages import slugify

OFFERS_FIELDS = frozenset({"trade", "trade_slug", "centre"})
INTEREST_PREFIX = "post-"
"""A post's deep link is ``?start=post-<entry>``; no centre code may look like one."""
_INTEREST = re.compile(rf"^{INTEREST_PREFIX}(\d{{1,12}})$")


def offers_url(settings: Settings, trade: str | None, centre: str | None = None) -> str | None:
    """The offers page for ``trade`` (the general one filled in for it); None when the
    campaign has none."""
    campaign = settings.campaign
    if trade:
        wanted = slugify(trade)
        for name, url in campaign.trade_offers.items():
            if slugify(name) == wanted:
                return url
    if not campaign.offers_url or (not trade and template_fields(campaign.offers_url)):
        return None
    values = {
        "trade": quote(trade or "", safe=""),
        "trade_slug": slugify(trade) if trade else "",
        "centre": quote(centre or "", safe=""),
    }
    return campaign.offers_url.format_map(values)


def interest_link(bot_username: str, entry_id: int) -> str:
    """The « ce métier m'intéresse » button's link: it opens the bot on this post."""
    return f"https://t.me/{bot_username}?start={INTEREST_PREFIX}{entry_id}"


def interest_post(payload: str) -> int | None:
    """The entry a ``/start`` payload names, when it is a post's deep link."""
    match = _INTEREST.match(payload)
    return int(match.group(1)) if match else None
