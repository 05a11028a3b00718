"""The campaign's links: a post on Telegram, an entry's page on the public site, the bot's
deep link that counts a follower's interest, and the slug naming a trade or a centre in
URLs (the site's pages, the offers' template, the interest counts).

Plain functions of strings, no settings: the publisher, the moderators' texts, the removals,
the follower flow and the site all take them from here.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

SLUG_LENGTH = 60
INTEREST_PREFIX = "post-"
"""A post's deep link is ``?start=post-<entry>``; no centre code may look like one."""
_INTEREST = re.compile(rf"^{INTEREST_PREFIX}(\d{{1,12}})$")


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


@functools.lru_cache(maxsize=4096)
def slugify(text: str) -> str:
    """A URL segment a person would type for a free text: ASCII, lower case, words joined
    by dashes (« Pâtissier·ère » → ``patissier-ere``, « Chargé d'affaires » →
    ``charge-d-affaires``, « Œnologue » → ``oenologue``); a hash when nothing is left (a
    name in another script). Any character that is not a letter or a digit (the inclusive
    ``·``, a curly apostrophe) separates words."""
    spaced = "".join(
        char if unicodedata.category(char)[0] in "LNM" else " "
        for char in unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    )
    return _slug_of(spaced, text)


@functools.lru_cache(maxsize=4096)
def legacy_slug(text: str) -> str:
    """The slug the site used until December 2026 (« Pâtissier·ère » → ``patissierere``):
    its pages redirect to the new ones (:func:`bot.site.pages.redirects`), so no link
    already shared breaks."""
    return _slug_of(unicodedata.normalize("NFKD", text), text)


def _slug_of(decomposed: str, text: str) -> str:
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:SLUG_LENGTH].rstrip("-")
    return slug or "x-" + hashlib.sha256(text.casefold().encode()).hexdigest()[:10]


def post_link(chat: str | int, message_id: int, *, members: bool = False) -> str | None:
    """The ``t.me`` link of a message of a chat known by its ``@username`` (a public
    channel); None for a chat known only by its numeric id, unless ``members``: then a
    supergroup's or private channel's ``-100…`` id gives its link for members only
    (``t.me/c/…``), fit for moderators, never for the public."""
    chat = str(chat)
    if chat.startswith("@"):
        return f"https://t.me/{chat[1:]}/{message_id}"
    if members and chat.startswith("-100"):
        return f"https://t.me/c/{chat[4:]}/{message_id}"
    return None


def profile_url(entry_id: int) -> str:
    """An entry's page on the public site, relative to the site's base URL."""
    return f"selfies/{entry_id}/"


def bot_link(bot_username: str, start: str | None = None) -> str:
    """The bot's deep link, with a /start payload (a centre's code) when given."""
    link = f"https://t.me/{bot_username}"
    return f"{link}?start={start}" if start else link


def interest_link(bot_username: str, entry_id: int) -> str:
    """The « ce métier m'intéresse » button's link: it opens the bot on this post."""
    return bot_link(bot_username, f"{INTEREST_PREFIX}{entry_id}")


def interest_post(payload: str) -> int | None:
    """The entry a ``/start`` payload names, when it is a post's deep link."""
    match = _INTEREST.match(payload)
    return int(match.group(1)) if match else None
