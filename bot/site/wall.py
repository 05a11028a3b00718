"""The site's live walls: ``wall/`` for the campaign and ``wall/<centre>/`` for each
centre, pages made for a screen seen from a few metres, one selfie at a time.

A wall's page never changes with the entries: it holds the frame (the QR code of the bot's
deep link, the texts, the invitation shown while there is nothing to show) and
``assets/wall.js`` reads the wall's ``entries.json`` again every few seconds. So a
publication or a removal rewrites a small JSON file or two, never a page, and a screen
follows the site without reloading. The JSON holds only what the site already publishes
of an entry: its name as shown, trade, centre, quote, and its photo's file and size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from markupsafe import Markup

from bot.config import Settings
from bot.site.files import SiteFolder
from bot.site.pages import Plan, Profile
from bot.site.render import Renderer, page_file, photo_file

CAMPAIGN_WALL = "wall/"
ENTRIES = "entries.json"
POLL_SECONDS = 10
"""How often a wall's page reads its JSON again: a change shows within this and a photo's
download."""


@dataclass(frozen=True)
class Wall:
    """One wall: the campaign's (``slug`` None) or a centre's."""

    slug: str | None
    centre: str | None
    """The centre's name as the site shows it."""
    link: str | None
    """The deep link its QR code holds; None without ``gallery.bot_username``."""

    @property
    def url(self) -> str:
        return CAMPAIGN_WALL if self.slug is None else f"{CAMPAIGN_WALL}{self.slug}/"

    @property
    def files(self) -> tuple[str, str]:
        """Its page and its JSON, from the site's root."""
        return page_file(self.url), self.url + ENTRIES


def walls(
    plan: Plan, settings: Settings, join_link: Callable[[str | None], str | None]
) -> dict[str | None, Wall]:
    """Every wall of the site, by centre slug: the campaign's, one per centre of
    ``campaign.centres`` (with its own deep link, even before its first selfie) and one
    per centre group the site shows; ``join_link`` is :meth:`Renderer.join_link`."""
    found: dict[str | None, Wall] = {None: Wall(None, None, join_link(None))}
    for centre in settings.campaign.centres:
        slug = centre.code.lower()
        found[slug] = Wall(slug, centre.name, join_link(slug))
    for group in plan.centres:
        found[group.slug] = Wall(group.slug, group.name, join_link(group.slug))
    return found


def shown(plan: Plan, wall: Wall) -> Sequence[Profile]:
    """The profiles a wall cycles through, newest first (all of them: cut to ``count``
    when written)."""
    return plan.profiles if wall.slug is None else plan.members.get(("centres", wall.slug), ())


def entries_json(profiles: Sequence[Profile]) -> bytes:
    """The JSON a wall's page reads: the published fields of each entry, newest first."""
    entries = [
        {
            "name": profile.name,
            "trade": profile.trade,
            "centre": profile.centre,
            "quote": profile.quote,
            "photo": photo_file(profile.id),
            "width": profile.photo_width,
            "height": profile.photo_height,
            "alt": profile.alt,
        }
        for profile in profiles
    ]
    # Compact: json's C encoder (an indent falls back to Python's), 41 walls at each build.
    compact = json.dumps({"entries": entries}, ensure_ascii=False, separators=(",", ":"))
    return (compact + "\n").encode()


def qr_svg(link: str) -> Markup:
    """The link's QR code as inline SVG, black on white with its quiet zone, sized by CSS."""
    import segno  # on first use: a wall's page is drawn only when it changes, not at start

    code = segno.make(link, error="m", micro=False)
    return Markup(
        code.svg_inline(
            border=4, dark="#000", light="#fff", omitsize=True, svgclass=None, lineclass=None
        )
    )


class Walls:
    """Writes the walls of one site into its folder, beside the rest of it."""

    def __init__(self, settings: Settings, renderer: Renderer) -> None:
        self.settings = settings
        self.renderer = renderer

    def write(self, folder: SiteFolder, plan: Plan, before: Plan | None) -> list[str]:
        """Bring the walls up to date after ``before`` became ``plan`` (None: a build, every
        wall looked at): a page where its wall is new or changed, a JSON where its entries
        may have changed, the files of a centre's wall gone with the centre. The names of
        the walls' files (none when walls are off)."""
        if not self.settings.wall.enabled:
            return []
        now = walls(plan, self.settings, self.renderer.join_link)
        old = walls(before, self.settings, self.renderer.join_link) if before else {}
        for slug in old.keys() - now.keys():
            for name in old[slug].files:
                folder.remove(name)
        count = self.settings.wall.count
        names: list[str] = []
        for slug, wall in now.items():
            page, data = wall.files
            names += wall.files
            if old.get(slug) != wall:
                digest = self.renderer.digest(("wall", wall, self.settings.wall))
                folder.page(page, digest, partial(self.page, wall))
            profiles = shown(plan, wall)
            if before is None or profiles is not shown(before, wall):
                folder.write(data, entries_json(profiles[:count]))
        return names

    def page(self, wall: Wall) -> bytes:
        template = self.renderer.env.get_template("wall.html")
        html = template.render(
            root="../" * page_file(wall.url).count("/"),
            canonical=self.renderer.absolute(wall.url),
            wall=wall,
            qr=qr_svg(wall.link) if wall.link else None,
            short_link=wall.link.removeprefix("https://") if wall.link else None,
            seconds=self.settings.wall.seconds,
            poll_seconds=POLL_SECONDS,
        )
        return html.encode()
