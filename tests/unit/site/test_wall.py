"""The site's live walls (bot.site.wall): a page and an entries.json for the campaign and
each centre, the JSON kept in step by the site's build and sync, the QR code of the right
deep link, the ``[wall]`` settings; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Centre, ConfigError, WallSettings, settings_from_dict
from bot.i18n import plain
from bot.site.gallery import Gallery
from models import Submission, SubmissionStatus
from tests.support.data import AddSubmission
from tests.support.gallery import Site, make_site

PUBLISHED_FIELDS = {"name", "trade", "centre", "quote", "photo", "width", "height", "alt"}
BEAUNE = Centre(code="CFA-Beaune", name="CFA de Beaune")
"""A configured centre with no selfie yet, its code in capitals (its slug is not)."""


@pytest.fixture
async def site(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> Site:
    """The test site (one configured centre, CFA d'Auxerre) with CFA de Beaune configured
    too, the bot's username known and walls of 3 entries."""
    site = await make_site(tmp_path, session_factory, add_submission, bot_username="@fiers_bot")
    return with_settings(site, WallSettings(count=3))


def with_settings(site: Site, wall: WallSettings, **gallery: Any) -> Site:
    campaign = site.settings.campaign
    campaign = campaign.model_copy(update={"centres": [*campaign.centres, BEAUNE]})
    settings = site.settings.model_copy(
        update={
            "campaign": campaign,
            "wall": wall,
            "gallery": site.settings.gallery.model_copy(update=gallery),
        }
    )
    site.settings = settings
    site.gallery = Gallery(settings, site.sessions, site.store)
    return site


def entries(site: Site, wall: str = "wall/") -> list[dict[str, Any]]:
    data = json.loads(site.text(f"{wall}entries.json"))
    assert set(data) == {"entries"}
    return list(data["entries"])


def photos(site: Site, wall: str = "wall/") -> list[str]:
    return [entry["photo"] for entry in entries(site, wall)]


def qr_pixels(svg: str, scale: int = 6) -> Image.Image:
    """The SVG's QR code drawn into pixels, as segno writes it: a white square, then one
    path of strokes one module high (``M``/``m`` moves, ``h`` runs), in the viewBox's
    units."""
    viewbox = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    path = re.search(r'<path[^>]* stroke="#000"[^>]* d="([^"]+)"', svg)
    assert viewbox and path, svg[:200]
    side = int(viewbox.group(1)) * scale
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, first, second in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            end = x + float(first)
            top, bottom = (y - 0.5) * scale, (y + 0.5) * scale - 1
            draw.rectangle((x * scale, top, end * scale - 1, bottom), fill=0)
            x = end
    return image


def qr_links(page: str) -> list[str]:
    """What the QR codes of a wall's page hold, read by zxing-cpp."""
    codes = []
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        found = zxingcpp.read_barcodes(qr_pixels(svg))
        assert [code.format for code in found] == [zxingcpp.BarcodeFormat.QRCode]
        codes.append(found[0].text)
    return codes


async def test_a_wall_for_the_campaign_and_for_each_centre(site: Site) -> None:
    await site.publish(centre_code="cfa-auxerre", centre_name="CFA d'Auxerre")
    await site.publish(centre_code=None, centre_name="Lycée Jean Moulin")
    await site.publish(centre_code="cfa-dijon", centre_name="CFA de Dijon")  # not configured

    await site.gallery.build()

    files = site.files()
    for wall in ("", "cfa-auxerre/", "cfa-beaune/", "lycee-jean-moulin/", "cfa-dijon/"):
        assert {f"wall/{wall}index.html", f"wall/{wall}entries.json"} <= files, wall
    assert {"assets/wall.js", "assets/wall.css"} <= files
    assert {name for name in files if name.startswith("wall/")} == {
        f"wall/{wall}{name}"
        for wall in ("", "cfa-auxerre/", "cfa-beaune/", "lycee-jean-moulin/", "cfa-dijon/")
        for name in ("index.html", "entries.json")
    }
    page = site.text("wall/cfa-auxerre/index.html")
    assert "noindex" not in page  # as the site's pages (gallery.indexable), not in the sitemap
    assert '<link rel="icon" href="../../assets/icon.svg"' in page
    assert 'src="../../assets/wall.js"' in page and 'href="../../assets/wall.css"' in page
    assert "<title>Le mur de CFA d&#39;Auxerre · Fiers d&#39;être apprentis</title>" in page
    assert plain("fr", "wall.fullscreen") in page
    assert 'data-seconds="8"' in page
    assert "<script" not in page.replace('<script src="../../assets/wall.js" defer>', "")
    assert "wall/" not in site.text("sitemap.xml")
    assert entries(site, "wall/cfa-beaune/") == []  # its screen is up before its first selfie


async def test_the_json_holds_the_latest_entries_newest_first_and_only_what_is_published(
    site: Site,
) -> None:
    published = [
        await site.publish(
            display_name=None if number == 4 else f"Apprenti {number}",
            quote=None if number % 2 else f"Citation {number}",
            centre_code="cfa-auxerre" if number != 3 else "cfa-dijon",
            centre_name="CFA d'Auxerre" if number != 3 else "CFA de Dijon",
        )
        for number in range(5)
    ]
    await site.gallery.build()

    shown = entries(site)
    newest = published[::-1][:3]
    assert [entry["photo"] for entry in shown] == [f"photos/{e.id}.jpg" for e in newest]
    assert all(set(entry) == PUBLISHED_FIELDS for entry in shown)
    anonymous = plain("fr", "caption.anonymous_name")
    assert shown[0] == {
        "name": anonymous,
        "trade": "coiffeuse",
        "centre": "CFA d'Auxerre",
        "quote": "Citation 4",
        "photo": f"photos/{published[4].id}.jpg",
        "width": 480,
        "height": 600,
        "alt": plain(
            "fr", "gallery.alt", name=anonymous, trade="coiffeuse", centre="CFA d'Auxerre"
        ),
    }
    assert shown[1]["name"] == "Apprenti 3" and shown[1]["quote"] is None
    assert shown[1]["centre"] == "CFA de Dijon"
    for entry in shown:  # the photo it names is the site's own
        assert (site.root / entry["photo"]).is_file()
    auxerre = [e for e in published[::-1] if e.centre_code == "cfa-auxerre"][:3]
    assert photos(site, "wall/cfa-auxerre/") == [f"photos/{e.id}.jpg" for e in auxerre]
    assert photos(site, "wall/cfa-dijon/") == [f"photos/{published[3].id}.jpg"]


async def test_a_sync_adds_the_new_entry_and_drops_a_removed_or_erased_one(
    site: Site, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    old = await site.publish(centre_code="cfa-auxerre", centre_name="CFA d'Auxerre")
    alone = await site.publish(centre_code=None, centre_name="Lycée Jean Moulin")
    await site.gallery.build()
    beaune = (site.root / "wall/cfa-beaune/entries.json").stat().st_mtime_ns

    new = await site.publish(centre_code="cfa-auxerre", centre_name="CFA d'Auxerre")
    await site.gallery.sync([new.id])
    assert photos(site) == [f"photos/{e.id}.jpg" for e in (new, alone, old)]
    assert photos(site, "wall/cfa-auxerre/") == [f"photos/{e.id}.jpg" for e in (new, old)]

    await site.set_status(new.id, SubmissionStatus.REFUSED)  # taken off the channel
    await site.gallery.sync([new.id])
    assert photos(site) == [f"photos/{e.id}.jpg" for e in (alone, old)]
    assert photos(site, "wall/cfa-auxerre/") == [f"photos/{old.id}.jpg"]

    async with session_factory() as session, session.begin():  # erased (/supprimer)
        await session.execute(delete(Submission).where(Submission.id == alone.id))
    await site.gallery.sync([alone.id])
    assert photos(site) == [f"photos/{old.id}.jpg"]
    # Its centre had no other selfie: its wall went with its pages.
    assert not (site.root / "wall/lycee-jean-moulin").exists()
    assert not (site.root / "centres/lycee-jean-moulin").exists()
    # A wall the changes did not concern was not written again.
    assert (site.root / "wall/cfa-beaune/entries.json").stat().st_mtime_ns == beaune


async def test_each_wall_shows_the_qr_code_of_its_own_deep_link(site: Site) -> None:
    await site.publish(centre_code="cfa-dijon", centre_name="CFA de Dijon")  # not configured
    await site.gallery.build()

    assert qr_links(site.text("wall/index.html")) == ["https://t.me/fiers_bot"]
    beaune = site.text("wall/cfa-beaune/index.html")
    assert qr_links(beaune) == ["https://t.me/fiers_bot?start=CFA-Beaune"]
    assert '<a href="https://t.me/fiers_bot?start=CFA-Beaune">' in beaune
    assert ">t.me/fiers_bot?start=CFA-Beaune</a>" in beaune
    assert qr_links(site.text("wall/cfa-auxerre/index.html")) == [
        "https://t.me/fiers_bot?start=cfa-auxerre"
    ]
    # A centre the bot does not know: its code would choose nothing, the campaign's link.
    assert qr_links(site.text("wall/cfa-dijon/index.html")) == ["https://t.me/fiers_bot"]


async def test_an_empty_campaign_invites_to_take_part(site: Site) -> None:
    await site.gallery.build()

    assert entries(site) == []
    page = site.text("wall/index.html")
    assert plain("fr", "wall.empty_title").replace("'", "&#39;") in page
    assert plain("fr", "wall.empty_text").replace("'", "&#39;") in page
    assert qr_links(page) == ["https://t.me/fiers_bot"]


async def test_without_the_bots_username_a_wall_shows_no_qr_code_and_says_none(
    site: Site,
) -> None:
    with_settings(site, WallSettings(), bot_username="")
    await site.gallery.build()

    page = site.text("wall/cfa-beaune/index.html")
    assert "<svg" not in page and "t.me/" not in page
    assert plain("fr", "wall.empty_text_no_bot") in page
    for key in ("wall.scan", "wall.empty_text", "wall.call"):
        assert plain("fr", key).replace("'", "&#39;") not in page, key


async def test_walls_turned_off_are_neither_written_nor_kept(site: Site) -> None:
    await site.publish()
    await site.gallery.build()
    assert "wall/index.html" in site.files()

    with_settings(site, WallSettings(enabled=False))
    await site.gallery.build()
    newer = await site.publish()
    await site.gallery.sync([newer.id])

    assert not [name for name in site.files() if name.startswith("wall/")]


def config(**wall: object) -> dict[str, Any]:
    return {
        "campaign": {"channel": "@fiersdetreapprentis"},
        "moderation": {"chat_id": -1001, "moderators": [42]},
        "wall": wall,
    }


def test_the_wall_settings_and_their_ranges() -> None:
    defaults = settings_from_dict(config(), base_dir=Path("/srv")).wall
    assert (defaults.enabled, defaults.count, defaults.seconds) == (True, 20, 8)
    chosen = settings_from_dict(config(count=100, seconds=3), base_dir=Path("/srv")).wall
    assert (chosen.count, chosen.seconds) == (100, 3)
    for key, value in (("count", 0), ("count", 101), ("seconds", 2), ("seconds", 61)):
        with pytest.raises(ConfigError) as caught:
            settings_from_dict(config(**{key: value}), base_dir=Path("/srv"))
        [problem] = caught.value.problems
        assert problem.startswith(f"wall.{key}: "), problem
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(config(secs=5), base_dir=Path("/srv"))
    assert caught.value.problems == ["wall.secs: unknown key; did you mean 'seconds'?"]
