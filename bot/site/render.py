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
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from markupsafe import escape as html_escape

from bot.campaign.offers import offers_url
from bot.config import Settings
from bot.i18n import catalog_files, plain, translations
from bot.site.pages import FEED_SIZE, ListingPage, Plan, Profile

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STATIC_FILES = ("style.css", "filter.js", "wall.css", "wall.js")
"""Copied as they are into ``assets/``."""


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
        self.env.globals.update(
            _=self.text,
            _n=self.text_n,
            campaign=settings.campaign.name,
            offers_url=self.offers_of,
            language=self.language,
            indexable=settings.gallery.indexable,
            base_url=self.base_url,
            photo_file=photo_file,
            thumb_files=thumb_files,
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

    def offers_of(self, profile: Profile) -> str | None:
        """The offers of the profile's trade, as under its channel post."""
        return offers_url(self.settings, profile.trade, profile.centre)

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
        return self._page("listing.html", page.url, page=page)

    def profile(self, profile: Profile) -> bytes:
        return self._page("profile.html", profile.url, profile=profile)

    def not_found(self) -> bytes:
        """404.html is served for any missing path: its links are absolute."""
        html = self.env.get_template("404.html").render(
            root=self.base_url, url="404.html", canonical=self.absolute("404.html")
        )
        return html.encode()

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
    ]
    for path in sources:
        digest.update(path.read_bytes())
    for part in (settings.campaign, settings.gallery, settings.schedule):
        digest.update(part.model_dump_json().encode())
    return digest.hexdigest()
