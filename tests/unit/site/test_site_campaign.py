"""The site as a campaign (issue 26): its colours, logo and hero from the configuration, the
calls to action on every page, the legal pages, and what the audit found (links, boxes,
dates, icons); on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.cli import main
from bot.config import ConfigError, contrast
from bot.photos.encode import THUMB_SIDE, thumbnail
from bot.photos.store import thumbnail_names
from bot.site.render import LEGAL_PAGES
from tests.support.data import AddSubmission
from tests.support.gallery import BASE_URL, LEGAL, Site, make_settings, make_site

BOT = "https://t.me/fiers_bot"


class Links(HTMLParser):
    """Every link of a page: (text, href), and the attributes of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((" ".join("".join(self._text).split()), self._href))
            self._href = None


def parsed(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def hrefs(html: str, text: str) -> list[str]:
    return [href for label, href in parsed(html).links if label == text]


@pytest.fixture
async def site(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> Site:
    return await make_site(
        tmp_path, session_factory, add_submission, bot_username="@fiers_bot", legal=LEGAL
    )


async def publish_three(site: Site) -> list[int]:
    entries = [
        await site.publish(
            display_name="Léa", trade="Pâtissière", centre_code="cfa-auxerre",
            centre_name="CFA d'Auxerre",
        ),
        await site.publish(
            display_name="Tom", trade="Coiffeuse", centre_code=None, centre_name="Lycée Jean Moulin"
        ),
        await site.publish(
            display_name="Inès", trade="Pâtissière", centre_code=None,
            centre_name="Lycée Jean Moulin",
        ),
    ]  # fmt: skip
    await site.gallery.build()
    return [entry.id for entry in entries]


async def test_every_page_invites_to_take_part_and_to_see_the_offers(site: Site) -> None:
    lea, tom, _ = await publish_three(site)
    general = "https://offres.example.org/?metier="
    pages = {
        # page: (« Participe » link, « Voir les offres » link)
        "index.html": (BOT, general),
        "trades/patissiere/index.html": (BOT, general + "patissiere"),
        "trades/coiffeuse/index.html": (BOT, "https://coiffure.example.org/offres"),
        "centres/cfa-auxerre/index.html": (f"{BOT}?start=cfa-auxerre", general),
        "centres/lycee-jean-moulin/index.html": (BOT, general),  # not a configured centre
        f"selfies/{lea}/index.html": (f"{BOT}?start=cfa-auxerre", general + "patissiere"),
        f"selfies/{tom}/index.html": (BOT, "https://coiffure.example.org/offres"),
        "mentions-legales/index.html": (BOT, general),
        "404.html": (BOT, general),
    }
    for page, (join, offers) in pages.items():
        html = site.text(page)
        assert join in hrefs(html, "Participe : envoie ton selfie"), page
        assert offers in hrefs(html, "Voir les offres"), page
    widget = site.text("widget.html")
    assert hrefs(widget, "Participe : envoie ton selfie") == [BOT]
    assert hrefs(widget, "Voir les offres") == [general]


async def test_without_a_bot_username_no_link_leads_nowhere(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(tmp_path, session_factory, add_submission)
    await publish_three(site)
    index = site.text("index.html")
    assert "Participe" not in index and "t.me/fiers_bot" not in index
    assert hrefs(index, "Voir les offres")


async def test_the_widget_links_to_the_site_and_never_to_itself(site: Site) -> None:
    await publish_three(site)
    links = parsed(site.text("widget.html")).links
    assert ("Les derniers selfies", BASE_URL) in links
    assert ("Voir tous les selfies", BASE_URL) in links
    assert all(href not in ("", "widget.html") for _, href in links)


async def test_the_legal_pages_say_what_the_configuration_gives(site: Site) -> None:
    await publish_three(site)
    notice = site.text("mentions-legales/index.html")
    for value in ("Région Exemple, 1 place de l&#39;Hôtel de Région", "Camille Durand",
                  "Hébergeur SAS", "selfies@example.org"):  # fmt: skip
        assert value in notice
    accessibility = site.text("accessibilite/index.html")
    assert "non conforme" in accessibility and BASE_URL in accessibility
    assert "Défenseur des droits" in accessibility and "selfies@example.org" in accessibility
    privacy = site.text("confidentialite/index.html")
    assert "dpo@example.org" in privacy and "@fiersdetreapprentis" in privacy
    assert "effacée après 30 jours" in privacy and "6 mois après la fin" in privacy
    assert "/supprimer" in privacy
    for page in ("index.html", "trades/patissiere/index.html", "404.html", *map(
        lambda url: url + "index.html", LEGAL_PAGES
    )):  # fmt: skip
        footer = site.text(page).split('<footer class="site">')[1]
        labels = {label for label, _ in parsed(footer).links}
        assert {"Mentions légales", "Accessibilité", "Données personnelles"} <= labels, page
    sitemap = site.text("sitemap.xml")
    assert all(f"<loc>{BASE_URL}{url}</loc>" in sitemap for url in LEGAL_PAGES)


async def test_empty_legal_keys_are_shown_as_to_complete(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(
        tmp_path, session_factory, add_submission, legal={"publisher": "Région Exemple"}
    )
    await site.gallery.build()
    notice = site.text("mentions-legales/index.html")
    assert "Région Exemple" in notice
    assert notice.count("à compléter") == 3  # director, host, contact


def test_check_config_warns_while_the_legal_pages_are_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "1:x"\n[campaign]\nchannel = "@fiers"\n'
        "[moderation]\nchat_id = -100123\nmoderators = [1]\n"
        '[gallery]\nenabled = true\nbase_url = "https://www.example.org/selfies/"\n'
        '[gallery.legal]\npublisher = "Région Exemple"\ndpo = "dpo@example.org"\n',
        encoding="utf-8",
    )
    assert main(["check-config", "--config", str(config)]) == 0
    warned = capsys.readouterr().err
    for key in ("director", "host", "contact"):
        assert f"gallery.legal.{key}: empty" in warned
    assert "gallery.legal.publisher" not in warned and "gallery.legal.dpo" not in warned
    assert "gallery.bot_username: empty" in warned


async def test_the_campaign_colours_logo_and_hero(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    Image.new("RGB", (400, 100), "#123456").save(tmp_path / "logo.png")
    Image.new("RGB", (1200, 600), "#654321").save(tmp_path / "hero.jpg")
    colours = {"accent": "#5b1a6e", "highlight": "#1d5c2a"}
    site = await make_site(
        tmp_path, session_factory, add_submission, logo="logo.png", hero="hero.jpg",
        colours=colours, slogan="Mon métier, ma fierté",
    )  # fmt: skip
    await publish_three(site)
    index = site.text("index.html")
    assert "--accent: #5b1a6e;" in index and "--highlight: #1d5c2a;" in index
    tags = parsed(index).tags
    logo = next(
        attrs for tag, attrs in tags if tag == "img" and attrs.get("src") == "assets/logo.png"
    )
    assert (logo["width"], logo["height"], logo["alt"]) == ("192", "48", "Fiers d'être apprentis")
    hero = next(
        attrs for tag, attrs in tags if tag == "img" and attrs.get("src") == "assets/hero.jpg"
    )
    assert (hero["width"], hero["height"], hero["fetchpriority"]) == ("1200", "600", "high")
    assert "Mon métier, ma fierté" in index
    assert (site.root / "assets/logo.png").read_bytes() == (tmp_path / "logo.png").read_bytes()
    profile = next(p for p in site.files() if p.startswith("selfies/"))
    assert 'src="../../assets/logo.png"' in site.text(profile)


async def test_without_a_hero_the_newest_selfies_make_the_header(site: Site) -> None:
    ids = await publish_three(site)
    index = site.text("index.html")
    mosaic = index.split('<div class="mosaic" aria-hidden="true">')[1].split("</div>")[0]
    assert re.findall(r'src="thumbs/(\d+)\.jpg"', mosaic) == [str(i) for i in reversed(ids)]
    assert 'alt=""' in mosaic  # decorative: the cards below say who is who


@pytest.mark.parametrize(
    ("colours", "key"),
    [
        ({"accent": "#0b4f8a", "on_accent": "#3a6f9a"}, "on_accent"),
        ({"highlight": "#ffcc00"}, "on_highlight"),
        ({"accent": "#8fb8de", "on_accent": "#000000"}, "accent"),
    ],
)
def test_an_unreadable_colour_pair_is_a_configuration_error_naming_the_key(
    tmp_path: Path, colours: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings(tmp_path, colours=colours)
    [problem] = caught.value.problems
    assert problem.startswith(f"gallery.colours: {key}: ") and "4.5:1" in problem


def test_the_default_colours_are_readable() -> None:
    settings = make_settings(Path("/srv"))
    colours = settings.gallery.colours
    assert contrast(colours.on_accent, colours.accent) >= 4.5
    assert contrast(colours.on_highlight, colours.highlight) >= 4.5
    assert contrast(colours.accent, "#ffffff") >= 4.5
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # WCAG's own example: just below


@pytest.mark.parametrize(
    ("value", "problem"),
    [("logo.gif", "must be an image file"), ("missing.png", "is not a file")],
)
def test_a_logo_is_an_image_file_that_exists(tmp_path: Path, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings(tmp_path, logo=value)
    [message] = caught.value.problems
    assert message.startswith("gallery.logo: ") and problem in message


async def test_what_the_audit_found_is_fixed(site: Site) -> None:
    for _ in range(6):
        await site.publish()
    await site.gallery.build()
    index = site.text("index.html")
    cards = index.split('<ul class="grid">')[1]
    loading = re.findall(r'<img src="thumbs/\d+\.jpg"[^>]*>', cards)
    assert ['loading="lazy"' in tag for tag in loading] == [False] * 4 + [True] * 2
    assert '<meta property="og:image:width" content="480">' in index
    assert '<meta property="og:image:height" content="600">' in index
    assert '<link rel="icon" href="assets/icon.svg" type="image/svg+xml">' in index
    assert (site.root / "assets/icon.svg").read_text().startswith("<svg")
    profile = next(p for p in site.files() if p.startswith("selfies/"))
    html = site.text(profile)
    stamps = re.findall(r'<time datetime="([^"]+)"', html)
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", s) for s in stamps)
    photo: dict[str, Any] = next(
        attrs
        for tag, attrs in parsed(html).tags
        if tag == "img" and "photo" in (attrs.get("class") or "")
    )
    assert (photo["width"], photo["height"], photo["fetchpriority"]) == ("480", "600", "high")


async def test_the_profile_photo_is_offered_as_webp_at_screen_size(site: Site) -> None:
    entry = await site.publish(width=None, height=None)  # 480 x 600, measured from the file
    photo = Image.new("RGB", (1200, 1600), "#336699")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    big = await site.publish(photo_path=site.store.save(buffer.getvalue()), width=1200, height=1600)
    await site.gallery.build()
    for profile, size in ((entry, (480, 600)), (big, (750, 1000))):
        html = site.text(f"selfies/{profile.id}/index.html")
        [source] = [a for tag, a in parsed(html).tags if tag == "source" and a.get("sizes")]
        assert source["type"] == "image/webp"
        assert source["srcset"].endswith(f"../../photos/{profile.id}.webp {size[0]}w")
        with Image.open(site.root / f"photos/{profile.id}.webp") as webp:
            assert (webp.format, webp.size) == ("WEBP", size)


async def test_a_photo_stored_with_the_older_two_thumbnails_gets_its_webp(site: Site) -> None:
    jpeg = Image.new("RGB", (480, 600), "#993366")
    buffer = io.BytesIO()
    jpeg.save(buffer, "JPEG")
    copies = thumbnail(buffer.getvalue(), THUMB_SIDE)
    path = site.store.save(buffer.getvalue(), copies)
    (site.store.root / thumbnail_names(path)[2]).unlink()  # as stored before it was made
    entry = await site.publish(photo_path=path)
    await site.gallery.build()
    assert (site.root / f"photos/{entry.id}.webp").read_bytes()[8:12] == b"WEBP"
    assert (site.root / f"thumbs/{entry.id}.webp").is_file()
