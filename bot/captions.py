"""The caption of a channel post, shared by the preview and the publisher so both match."""

from __future__ import annotations

from bot.i18n import DEFAULT_LANGUAGE, t

CHANNEL_LANGUAGE = DEFAULT_LANGUAGE


def build_caption(
    *,
    display_name: str | None,
    trade: str,
    centre_name: str,
    quote: str | None,
    hashtags: list[str],
) -> str:
    """Telegram HTML: every apprentice-typed value is escaped by :func:`bot.i18n.t`."""
    language = CHANNEL_LANGUAGE
    if display_name:
        head = t(language, "caption.named", name=display_name, trade=trade, centre=centre_name)
    else:
        head = t(language, "caption.anonymous", trade=trade, centre=centre_name)
    parts = [head]
    if quote:
        parts.append(t(language, "caption.quote", quote=quote))
    if hashtags:
        parts.append(" ".join(hashtags))
    return "\n\n".join(parts)
