"""The caption of a channel post, shared by the preview, the cards and the publisher.

Built from a template (``campaign.caption`` or the catalog's default) with the fields
{name}, {trade}, {centre}, {quote} and {hashtags}. A template line whose fields are all
empty is dropped (no quote, no quote line). Values are HTML-escaped, and the caption is
fitted to Telegram's 1024 visible characters by shortening the quote at a word boundary,
so no word and no HTML entity is ever cut.
"""

from __future__ import annotations

import html
import re

from bot.config import Settings, template_fields
from bot.i18n import DEFAULT_LANGUAGE, t
from models import Submission

CHANNEL_LANGUAGE = DEFAULT_LANGUAGE
CAPTION_LIMIT = 1024
_TAG = re.compile(r"<[^>]*>")


def visible_text(caption: str) -> str:
    """The text Telegram shows (and gives back in ``Message.caption``) for an HTML caption."""
    return html.unescape(_TAG.sub("", caption))


def visible_length(caption: str) -> int:
    """Length as Telegram counts it: after parsing the HTML (tags out, entities as one),
    in UTF-16 code units (an emoji counts two)."""
    return len(visible_text(caption).encode("utf-16-le")) // 2


def _render(template: str, values: dict[str, str]) -> str:
    lines = []
    for line in template.split("\n"):
        used = template_fields(line)
        if used and not any(values[name] for name in used):
            continue
        escaped = {k: html.escape(v, quote=False) for k, v in values.items() if k in used}
        lines.append(line.format(**escaped))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _shorten(text: str, by: int) -> str:
    """``text`` shorter by at least ``by`` characters, cut between words, with an ellipsis."""
    keep = len(text) - by - 1
    if keep <= 0:
        return ""
    cut = text[:keep].rsplit(" ", 1)[0] if " " in text[:keep] else text[:keep]
    return cut.rstrip(" ,;:.!?-") + "…"


def build_caption(
    *,
    display_name: str | None,
    trade: str,
    centre_name: str,
    quote: str | None,
    hashtags: list[str],
    template: str | None = None,
    limit: int = CAPTION_LIMIT,
) -> str:
    values = {
        "name": display_name or t(CHANNEL_LANGUAGE, "caption.anonymous_name"),
        "trade": trade,
        "centre": centre_name,
        "quote": quote or "",
        "hashtags": " ".join(hashtags),
    }
    template = template or t(CHANNEL_LANGUAGE, "caption.template")
    caption = _render(template, values)
    while (overflow := visible_length(caption) - limit) > 0:
        for field in ("quote", "hashtags", "centre", "trade", "name"):
            if values[field]:
                values[field] = _shorten(values[field], overflow)
                break
        caption = _render(template, values)
    return caption


def entry_caption(entry: Submission, settings: Settings, limit: int = CAPTION_LIMIT) -> str:
    """The exact caption the channel shows for this entry (fitted to ``limit``)."""
    return build_caption(
        display_name=entry.display_name,
        trade=entry.trade,
        centre_name=entry.centre_name,
        quote=entry.quote,
        hashtags=settings.campaign.hashtags,
        template=settings.campaign.caption,
        limit=limit,
    )
