"""Where a post leads: the offers for its trade (the bot's deep link counting interest is
:func:`bot.campaign.links.interest_link`).

``campaign.offers_url`` may be a template (``{trade}``, ``{trade_slug}``, ``{centre}``,
each URL-encoded) and ``campaign.trade_offers`` names a page per trade, which wins. Trades
are matched by their slug, so « Pâtissière » and « patissiere » find the same page.
"""

from __future__ import annotations

from urllib.parse import quote

from bot.campaign.links import slugify
from bot.config import Settings, template_fields

OFFERS_FIELDS = frozenset({"trade", "trade_slug", "centre"})


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
    return _filled(campaign.offers_url, trade, centre)


def general_offers_url(settings: Settings, centre: str | None = None) -> str | None:
    """The offers of every trade (``campaign.offers_url`` with no trade filled in, so a
    search page lists them all), of ``centre`` when the template takes one."""
    template = settings.campaign.offers_url
    return _filled(template, None, centre) if template else None


def _filled(template: str, trade: str | None, centre: str | None) -> str:
    values = {
        "trade": quote(trade or "", safe=""),
        "trade_slug": slugify(trade) if trade else "",
        "centre": quote(centre or "", safe=""),
    }
    return template.format_map(values)
