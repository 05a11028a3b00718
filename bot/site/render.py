"""The site's files as text: pages from the Jinja2 templates beside this module (HTML
autoescaping on: names, trades and quotes are typed by apprentices), feeds written to
their specs (Atom 1.0, JSON Feed 1.1), sitemap and robots.txt.

Nothing here reads the clock: a file's content depends only on the entries and the
configuration, so a rebuild with nothing changed produces the same bytes and writes nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from markupsafe import escape as html_escape
from PIL import Image

from bot.campaign.links import bot_link
from bot.campaign.offers import general_offers_url, offers_url
from bot.config import Settings
from bot.i18n import catalog_files, plain, translations
from bot.photos.encode import SCREEN_SIDE, thumbnail_size
from bot.site.pages import FEED_SIZE, ListingPage, Plan, Profile

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STATIC_FILES = ("style.css", "filter.js", "wall.css", "wall.js")
"""Copied as they are into ``assets/``."""
LEGAL_PAGES = ("mentions-legales/", "accessibilite/", "confidentialite/")
"""The legal notice, the accessibility statement and the privacy notice, by URL."""
ICON = "assets/icon.svg"
FIRST_ROW = 4
"""Thumbnails a listing loads at once, not lazily: the first row on the widest grid (a
lazy image in view at load delays the page's largest paint)."""
HEADER_HEIGHT = 48
"""The logo's height in the header, in CSS pixels (its width follows its proportions)."""


@dataclass(frozen=True)
class Picture:
    """A configured image (logo, hero) as the site serves it: its file in the site and
    its size, stated in the page so the layout does not move while it loads."""

    source: Path
    file: str
    width: int | None
    height: int | None

    @classmethod
    def of(cls, source: Path | None, name: str) -> Picture | None:
        if source is None:
            return None
        width = height = None
        if source.suffix.lower() != ".svg":
            with Image.open(source) as image:
                width, height = image.size
        return cls(source, f"assets/{name}{source.suffix.lower()}", width, height)

    def scaled(self, height: int) -> tuple[int, int]:
        """Its size at ``height`` CSS pixels high (an SVG: square, CSS keeps its shape)."""
        if not self.width or not self.height:
            return height, height
        return round(self.width * height / self.height), height


def xml_escape(text: str) -> str:
    """Text for XML content and double-quoted attributes."""
    return escape(text, {'"': "&quot;"})


def page_file(url: str) -> str:
    """The file serving a URL path from the site's root (``selfies/3/`` → its index.html)."""
    return f"{url}index.html" if url == "" or url.endswith("/") else url


def photo_file(profile_id: int) -> str:
    return f"photos/{profile_id}.jpg"


def thumb_files(profile_id: int) -> tuple[str, str]:
    return f"thumbs/{profile_id}.webp", f"thumbs/{profile_id}.jpg"


def screen_file(profile_id: int) -> str:
    """The profile page's WebP (:data:`~bot.photos.encode.SCREEN_SIDE`)."""
    return f"photos/{profile_id}.webp"


def screen_size(profile: Profile) -> tuple[int, int]:
    """The size of the profile's WebP, as its page states it."""
    return thumbnail_size((profile.photo_width, profile.photo_height), SCREEN_SIDE)


def copy_files(profile_id: int) -> tuple[str, str, str]:
    """The site's copies of a stored photo's copies (:func:`~bot.photos.store.thumbnail_names`),
    in the same order."""
    return (*thumb_files(profile_id), screen_file(profile_id))


class Renderer:
    """Renders every kind of file of one site (one language, one configuration)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fingerprint = _fingerprint(settings)
        self.language = settings.gallery.language
        self.base_url = settings.gallery.base_url
        self._sitemap_lines: dict[tuple[str, str | None], str] = {}
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        gallery = settings.gallery
        self.logo = Picture.of(gallery.logo, "logo")
        self.hero = Picture.of(gallery.hero, "hero")
        self._centre_codes = {
            centre.code.lower(): centre.code for centre in settings.campaign.centres
        }
        self.env.globals.update(
            _=self.text,
            _n=self.text_n,
            campaign=settings.campaign.name,
            slogan=gallery.slogan,
            colours=gallery.colours,
            logo=self.logo,
            hero=self.hero,
            header_height=HEADER_HEIGHT,
            icon=ICON,
            legal_pages=LEGAL_PAGES,
            join_link=self.join_link,
            general_offers=self.general_offers,
            offers_url=self.offers_of,
            language=self.language,
            indexable=settings.gallery.indexable,
            base_url=self.base_url,
            photo_file=photo_file,
            thumb_files=thumb_files,
            screen_file=screen_file,
            screen_size=screen_size,
            share_links=self.share_links,
        )

    def text(self, key: str, **values: object) -> Markup:
        """A catalog text for HTML: the text escaped, then the values, escaped."""
        return html_escape(plain(self.language, key)).format(**values)

    def text_n(self, key: str, count: int, **values: object) -> Markup:
        text = translations(self.language).ngettext(key, key, count)
        return html_escape(text).format(count=count, **values)

    def digest(self, data: object) -> str:
        """What a page is made of (its data, the templates, the texts, the configuration),
        in a few characters: a page stamped with the same digest needs no rendering."""
        return hashlib.sha256(f"{self.fingerprint}{data!r}".encode()).hexdigest()[:24]

    def absolute(self, path: str) -> str:
        return self.base_url + path

    def offers_of(self, trade: str, centre: str | None = None) -> str | None:
        """The offers of a trade, as under its channel posts."""
        return offers_url(self.settings, trade, centre)

    def join_link(self, centre_slug: str | None = None) -> str | None:
        """The bot's deep link for « Participe »: with the centre's code when the centre is
        one of ``campaign.centres`` (its entries count for it); None without a username."""
        username = self.settings.gallery.bot_username
        if not username:
            return None
        return bot_link(username, self._centre_codes.get(centre_slug or ""))

    def general_offers(self, centre: str | None = None) -> str | None:
        """« Voir les offres » on a page of no single trade."""
        return general_offers_url(self.settings, centre)

    def share_links(self, profile: Profile) -> list[tuple[str, str]]:
        """Plain links to share a profile: no script of any network is loaded."""
        url = self.absolute(profile.url)
        title = plain(self.language, "gallery.entry_title", name=profile.name, trade=profile.trade)
        both = f"{title} {url}"
        return [
            ("Facebook", "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url})),
            ("X", "https://x.com/intent/post?" + urlencode({"url": url, "text": title})),
            (
                "LinkedIn",
                "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
            ),
            ("WhatsApp", "https://wa.me/?" + urlencode({"text": both})),
            (
                plain(self.language, "gallery.share_email"),
                f"mailto:?subject={quote(title)}&body={quote(both)}",
            ),
        ]

    def _page(self, template: str, url: str, **context: object) -> bytes:
        depth = page_file(url).count("/")
        html = self.env.get_template(template).render(
            root="../" * depth, url=url, canonical=self.absolute(url), **context
        )
        return html.encode()

    def listing(self, page: ListingPage) -> bytes:
        return self._page("listing.html", page.url, page=page, first_row=FIRST_ROW)

    def profile(self, profile: Profile) -> bytes:
        return self._page("profile.html", profile.url, profile=profile)

    def not_found(self) -> bytes:
        """404.html is served for any missing path: its links are absolute."""
        html = self.env.get_template("404.html").render(
            root=self.base_url, url="404.html", canonical=self.absolute("404.html")
        )
        return html.encode()

    def legal(self, url: str) -> bytes:
        """One of :data:`LEGAL_PAGES`, from ``gallery.legal`` and what the bot keeps."""
        return self._page(
            "legal.html",
            url,
            page=url.rstrip("/"),
            legal=self.settings.gallery.legal,
            channel=self.settings.campaign.channel,
            retention=self.settings.retention,
        )

    def icon(self) -> bytes:
        """The favicon: the campaign's initial on its accent colour (a browser asks for
        one on every page; without it, a 404 each time)."""
        colours = self.settings.gallery.colours
        initial = html_escape(self.settings.campaign.name.strip()[:1].upper() or "S")
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
            f'<rect width="64" height="64" rx="14" fill="{colours.accent}"/>'
            f'<text x="32" y="45" font-family="system-ui, sans-serif" font-size="38" '
            f'font-weight="700" text-anchor="middle" fill="{colours.on_accent}">{initial}</text>'
            "</svg>\n"
        ).encode()

    def redirect(self, url: str, target: str) -> bytes:
        """A page that sends a visitor of an old URL on to its new one (a static site has
        no server rules: the page itself redirects)."""
        return self._page("redirect.html", url, target=target, target_url=self.absolute(target))

    def widget(self, plan: Plan) -> bytes:
        latest = plan.profiles[: self.settings.gallery.widget_count]
        return self._page("widget.html", "widget.html", profiles=latest)

    def robots(self) -> bytes:
        if not self.settings.gallery.indexable:
            return b"User-agent: *\nDisallow: /\n"
        return f"User-agent: *\nAllow: /\n\nSitemap: {self.absolute('sitemap.xml')}\n".encode()

    def sitemap(self, plan: Plan) -> bytes:
        """Every page a search engine should know (50,000 URLs at most by the protocol:
        far above a campaign's selfies)."""
        lines = ['<?xml version="1.0" encoding="UTF-8"?>']
        lines.append('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
        newest = plan.profiles[0].published_at.date().isoformat() if plan.profiles else None
        for url in plan.listings:
            lines.append(self._sitemap_url(url, newest))
        for url in LEGAL_PAGES:
            lines.append(self._sitemap_url(url, None))
        for profile in plan.profiles:
            lines.append(self._sitemap_url(profile.url, _day(profile.published_at)))
        lines.append("</urlset>\n")
        return "\n".join(lines).encode()

    def _sitemap_url(self, url: str, lastmod: str | None) -> str:
        """One URL's line; remembered (a sync writes the same 10,000 lines again)."""
        line = self._sitemap_lines.get((url, lastmod))
        if line is None:
            line = self._sitemap_lines[url, lastmod] = self._sitemap_line(url, lastmod)
        return line

    def _sitemap_line(self, url: str, lastmod: str | None) -> str:
        modified = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        return f"<url><loc>{xml_escape(self.absolute(url))}</loc>{modified}</url>"

    def _item_html(self, profile: Profile) -> str:
        return self.env.get_template("feed_item.html").render(profile=profile, root=self.base_url)

    def _feed_title(self) -> str:
        return plain(self.language, "gallery.feed_title", campaign=self.settings.campaign.name)

    def atom(self, profiles: Sequence[Profile]) -> bytes:
        """Atom 1.0 (RFC 4287) of the newest profiles."""
        latest = profiles[:FEED_SIZE]
        updated = latest[0].published_at.isoformat() if latest else "1970-01-01T00:00:00+00:00"
        x = xml_escape
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{self.language}">',
            f"<id>{x(self.base_url)}</id>",
            f"<title>{x(self._feed_title())}</title>",
            f"<updated>{updated}</updated>",
            f'<link rel="alternate" type="text/html" href="{x(self.base_url)}"/>',
            f'<link rel="self" type="application/atom+xml" href="{x(self.absolute("feed.xml"))}"/>',
            f"<author><name>{x(self.settings.campaign.name)}</name></author>",
        ]
        for profile in latest:
            url = self.absolute(profile.url)
            title = plain(
                self.language, "gallery.entry_title", name=profile.name, trade=profile.trade
            )
            lines += [
                "<entry>",
                f"<id>{x(url)}</id>",
                f"<title>{x(title)}</title>",
                f"<updated>{profile.published_at.isoformat()}</updated>",
                f"<published>{profile.published_at.isoformat()}</published>",
                f'<link rel="alternate" type="text/html" href="{x(url)}"/>',
                f'<link rel="enclosure" type="image/jpeg" '
                f'href="{x(self.absolute(photo_file(profile.id)))}"/>',
                f'<category term="{x(profile.trade)}"/>',
                f'<content type="html">{x(self._item_html(profile))}</content>',
                "</entry>",
            ]
        lines.append("</feed>\n")
        return "\n".join(lines).encode()

    def json_feed(self, profiles: Sequence[Profile]) -> bytes:
        """JSON Feed 1.1 (https://jsonfeed.org/version/1.1) of the newest profiles."""
        items = []
        for profile in profiles[:FEED_SIZE]:
            items.append(
                {
                    "id": self.absolute(profile.url),
                    "url": self.absolute(profile.url),
                    "title": plain(
                        self.language, "gallery.entry_title", name=profile.name, trade=profile.trade
                    ),
                    "content_html": self._item_html(profile),
                    "image": self.absolute(photo_file(profile.id)),
                    "date_published": profile.published_at.isoformat(),
                    "tags": [profile.trade, profile.centre],
                }
            )
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self._feed_title(),
            "home_page_url": self.base_url,
            "feed_url": self.absolute("feed.json"),
            "language": self.language,
            "authors": [{"name": self.settings.campaign.name}],
            "items": items,
        }
        return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode()


@functools.lru_cache(maxsize=4096)
def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _fingerprint(settings: Settings) -> str:
    """Everything besides its own data that a page depends on: the templates, the assets,
    this package's code, the texts of the site's language and the configuration."""
    digest = hashlib.sha256()
    sources = [
        *sorted(TEMPLATES.iterdir()),
        *sorted(STATIC.iterdir()),
        *sorted(Path(__file__).parent.glob("*.py")),
        *catalog_files(settings.gallery.language),
        *(image for image in (settings.gallery.logo, settings.gallery.hero) if image),
    ]
    for path in sources:
        digest.update(path.read_bytes())
    for part in (settings.campaign, settings.gallery, settings.schedule, settings.retention):
        digest.update(part.model_dump_json().encode())
    return digest.hexdigest()
