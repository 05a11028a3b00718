"""The public site (bot.site.gallery) built from the database: pages, photos, feeds, sitemap,
kept in step by sync, written atomically; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import feedparser
import pytest
from PIL import Image
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.cli import main
from bot.photos.encode import THUMB_SIDE, thumbnail_of
from bot.site.files import claim_and_lock
from bot.site.gallery import Gallery, GalleryFolderProblem
from bot.site.preview import preview_server
from models import Apprentice, Submission, SubmissionStatus
from tests.support.data import AddSubmission
from tests.support.gallery import (
    BASE_URL,
    CHANNEL_VERSION,
    START,
    Site,
    assert_paginated,
    jpeg,
    make_site,
    profile_files,
)


@pytest.fixture
async def site(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> Site:
    return await make_site(tmp_path, session_factory, add_submission)


async def test_build_writes_pages_photos_thumbnails_and_feeds(site: Site) -> None:
    lea = await site.publish(
        display_name="Léa",
        trade="pâtissière",
        centre_code="cfa-auxerre",
        centre_name="CFA d'Auxerre",
    )
    anonymous = await site.publish(
        display_name=None, trade="coiffeuse", centre_code=None, centre_name="Lycée Jean Moulin"
    )
    report = await site.gallery.build()

    assert report.profiles == 2 and report.written > 0 and report.removed == 0
    files = site.files()
    assert profile_files(lea.id) | profile_files(anonymous.id) <= files
    assert {
        "index.html", "404.html", "widget.html", "feed.xml", "feed.json", "sitemap.xml",
        "robots.txt", "assets/style.css", "assets/filter.js",
        "trades/patissiere/index.html", "trades/coiffeuse/index.html",
        "centres/cfa-auxerre/index.html", "centres/lycee-jean-moulin/index.html",
    } <= files  # fmt: skip
    with Image.open(site.root / f"thumbs/{lea.id}.webp") as webp:
        assert webp.format == "WEBP" and webp.size == (320, 400)
    with Image.open(site.root / f"thumbs/{lea.id}.jpg") as thumb:
        assert thumb.format == "JPEG"
    assert (site.root / f"photos/{lea.id}.jpg").read_bytes() == site.store.read(lea.photo_path)

    profile = site.text(f"selfies/{lea.id}/index.html")
    assert '<html lang="fr">' in profile
    assert 'alt="Léa, pâtissière (CFA d&#39;Auxerre)"' in profile
    assert f'content="{BASE_URL}photos/{lea.id}.jpg"' in profile  # og:image, absolute
    assert "https://t.me/fiersdetreapprentis/" in profile
    assert 'href="https://offres.example.org/?metier=patissiere"' in profile  # its trade's
    other = site.text(f"selfies/{anonymous.id}/index.html")
    assert 'href="https://coiffure.example.org/offres"' in other  # a page of its own
    assert "J&#39;adore mon métier" in profile
    assert "noindex" not in profile
    index = site.text("index.html")
    assert 'alt="Apprenti·e anonyme, coiffeuse (Lycée Jean Moulin)"' in index
    # Two entries: both in the first row, loaded at once (a lazy image in view delays it).
    assert 'loading="lazy"' not in index and 'width="320" height="400"' in index
    assert "2 selfies publiés" in index
    assert index.index(f"selfies/{anonymous.id}/") < index.index(f"selfies/{lea.id}/")

    atom = feedparser.parse(site.text("feed.xml"))
    assert not atom.bozo, atom.bozo_exception
    assert [e.link for e in atom.entries] == [
        f"{BASE_URL}selfies/{anonymous.id}/",
        f"{BASE_URL}selfies/{lea.id}/",
    ]
    assert atom.entries[1].title == "Léa, pâtissière"
    feed = json.loads(site.text("feed.json"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"]
    assert [item["url"] for item in feed["items"]] == [e.link for e in atom.entries]
    assert all(item["id"] for item in feed["items"])
    assert f"<loc>{BASE_URL}selfies/{lea.id}/</loc>" in site.text("sitemap.xml")
    assert f"Sitemap: {BASE_URL}sitemap.xml" in site.text("robots.txt")


async def test_entries_not_on_the_channel_or_not_agreed_for_the_site_stay_off(
    site: Site, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    shown = await site.publish()
    pending = await site.add(SubmissionStatus.PENDING, photo_path=site.store.save(jpeg(1)))
    older_consent = await site.publish(consent_version=CHANNEL_VERSION)
    no_consent_version = await site.publish(consent_version=None)
    purged = await site.publish(photo_path=None)
    without_post = await site.publish(channel_message_id=None)
    async with session_factory() as session, session.begin():
        session.add(Apprentice(id=2002, first_name="Banni", banned_at=START))
    banned = await site.publish(apprentice_id=2002)

    report = await site.gallery.build()

    assert report.profiles == 1
    files = site.files()
    assert profile_files(shown.id) <= files
    for entry in (pending, older_consent, no_consent_version, purged, without_post, banned):
        assert not profile_files(entry.id) & files, entry.id
        assert f"selfies/{entry.id}/" not in site.text("index.html")


async def test_sync_after_a_publication_adds_exactly_that_profile(site: Site) -> None:
    first = await site.publish(trade="coiffeuse")
    await site.gallery.build()
    before = site.mtimes()

    second = await site.publish(trade="menuisier", display_name="Hugo")
    await site.gallery.sync([second.id])

    after = site.mtimes()
    added = after.keys() - before.keys()
    assert added == profile_files(second.id) | {"trades/menuisier/index.html"}
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {
        "index.html", "centres/cfa-dijon/index.html", "widget.html", "feed.xml",
        "feed.json", "sitemap.xml", "wall/entries.json", "wall/cfa-dijon/entries.json",
    }  # fmt: skip
    assert f"selfies/{first.id}/index.html" not in changed
    assert "Hugo" in site.text("index.html")
    newest = feedparser.parse(site.text("feed.xml")).entries[0]
    assert newest.link == f"{BASE_URL}selfies/{second.id}/"


@pytest.mark.parametrize("how", ["erased", "unpublished", "banned"])
async def test_sync_after_a_removal_takes_every_trace_of_the_entry(
    site: Site, session_factory: async_sessionmaker[AsyncSession], how: str
) -> None:
    kept = await site.publish(trade="coiffeuse")
    async with session_factory() as session, session.begin():
        session.add(Apprentice(id=3003, first_name="Zoé"))
    gone = await site.publish(trade="Ébéniste", apprentice_id=3003, display_name="Zoé")
    await site.gallery.build()
    assert "trades/ebeniste/index.html" in site.files()

    async with session_factory() as session, session.begin():
        if how == "erased":  # /supprimer: the rows go
            await session.execute(delete(Apprentice).where(Apprentice.id == 3003))
        elif how == "unpublished":
            await session.execute(
                update(Submission)
                .where(Submission.id == gone.id)
                .values(status=SubmissionStatus.REFUSED, refusal_reason="unpublished")
            )
        else:
            await session.execute(
                update(Apprentice).where(Apprentice.id == 3003).values(banned_at=START)
            )
    await site.gallery.sync([gone.id])

    files = site.files()
    assert not profile_files(gone.id) & files
    assert not any(name.startswith("trades/ebeniste") for name in files)
    assert not (site.root / "trades" / "ebeniste").exists()
    assert not (site.root / "selfies" / str(gone.id)).exists()
    assert profile_files(kept.id) <= files
    for name in ("index.html", "feed.xml", "feed.json", "sitemap.xml", "widget.html"):
        assert f"selfies/{gone.id}/" not in site.text(name), name
        assert "Zoé" not in site.text(name), name
    assert [e.link for e in feedparser.parse(site.text("feed.xml")).entries] == [
        f"{BASE_URL}selfies/{kept.id}/"
    ]
    # A later rebuild agrees with what sync left.
    assert (await site.gallery.build()).written == 0


async def test_a_rebuild_with_nothing_changed_writes_no_file(
    site: Site,
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    for trade in ("coiffeuse", "menuisier", "coiffeuse"):
        await site.publish(trade=trade)
    await site.gallery.build()
    before = site.mtimes()

    assert (await site.gallery.build()).written == 0
    # As after a restart: a new Gallery, nothing in memory.
    again = Gallery(site.settings, session_factory, site.store)
    report = await again.build()

    assert (report.profiles, report.written, report.removed) == (3, 0, 0)
    assert site.mtimes() == before


async def test_a_build_removes_what_should_no_longer_be_there(
    site: Site, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kept = await site.publish()
    gone = await site.publish(trade="menuisier")
    await site.gallery.build()
    (site.root / "selfies" / "old.html").write_text("stale")
    (site.root / "photos" / ".9.jpg.1234.tmp").write_bytes(b"half")  # a crash's leftover
    async with session_factory() as session, session.begin():
        await session.execute(delete(Submission).where(Submission.id == gone.id))

    report = await site.gallery.build()

    files = site.files()
    assert profile_files(kept.id) <= files and not profile_files(gone.id) & files
    assert "selfies/old.html" not in files and "photos/.9.jpg.1234.tmp" not in files
    assert not any(name.startswith("trades/menuisier") for name in files)
    assert report.removed == 5 + 1 + 2  # the profile's files, its trade page, the strays


async def test_names_and_quotes_are_escaped(site: Site) -> None:
    entry = await site.publish(
        display_name="<script>alert(1)</script>",
        trade='Cuisinier "chef" & co',
        quote="<img src=x onerror=alert(1)>",
    )
    await site.gallery.build()

    for name in (f"selfies/{entry.id}/index.html", "index.html", "widget.html"):
        page = site.text(name)
        assert "<script>alert" not in page and "<img src=x" not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
    assert "Cuisinier &#34;chef&#34; &amp; co" in site.text(f"selfies/{entry.id}/index.html")
    atom = feedparser.parse(site.text("feed.xml"))
    assert not atom.bozo
    assert atom.entries[0].title == '<script>alert(1)</script>, Cuisinier "chef" & co'
    item = json.loads(site.text("feed.json"))["items"][0]
    assert "<script>" not in item["content_html"]


@pytest.mark.slow
async def test_the_index_is_paginated_and_a_publication_leaves_older_pages_alone(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(tmp_path, session_factory, add_submission, per_page=6)
    entries = [await site.publish(display_name=f"N{i}") for i in range(30)]
    await site.gallery.build()
    ids = [e.id for e in entries]
    pages = assert_paginated(site, "", ids, ids, 6)
    assert len(pages) >= 3
    archived = {url: site.mtimes()[f"{url}index.html"] for url, _shown in pages[1:]}

    while len(pages) == len(archived) + 1:  # until the index passes a page to the archive
        entries.append(await site.publish(display_name=f"N{len(entries)}"))
        await site.gallery.sync([entries[-1].id])
        ids = [e.id for e in entries]
        pages = assert_paginated(site, "", ids, ids, 6)
        if len(pages) == len(archived) + 1:
            assert all(site.mtimes()[f"{url}index.html"] == at for url, at in archived.items())

    # The new page was cut from the index; the one before it links to it, the rest stay.
    assert len(pages) == len(archived) + 2
    assert [url for url, _shown in pages[2:]] == list(archived)
    assert all(site.mtimes()[f"{url}index.html"] == at for url, at in list(archived.items())[1:])
    assert f"{len(entries)} selfies publiés" in site.text("index.html")


@pytest.mark.slow
async def test_removing_an_old_entry_redraws_its_page_not_those_after_it(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(tmp_path, session_factory, add_submission, per_page=6)
    entries = [await site.publish(display_name=f"N{i}") for i in range(80)]
    await site.gallery.build()
    ids = [e.id for e in entries]
    before = assert_paginated(site, "", ids, ids, 6)
    mtimes = site.mtimes()

    await site.set_status(ids[2], SubmissionStatus.REFUSED)
    await site.gallery.sync([ids[2]])

    after = assert_paginated(site, "", [*ids[:2], *ids[3:]], ids, 6)
    redrawn = [
        url
        for url, _shown in after
        if url and mtimes.get(f"{url}index.html") != site.mtimes()[f"{url}index.html"]
    ]
    assert len(before) > 8
    assert len(redrawn) <= 3, redrawn


async def test_a_site_kept_out_of_search_engines(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(tmp_path, session_factory, add_submission, indexable=False)
    entry = await site.publish()
    await site.gallery.build()

    assert site.text("robots.txt") == "User-agent: *\nDisallow: /\n"
    assert "sitemap.xml" not in site.files()
    for name in ("index.html", f"selfies/{entry.id}/index.html", "404.html"):
        assert '<meta name="robots" content="noindex, nofollow">' in site.text(name)


async def test_an_interrupted_write_leaves_the_previous_file_whole(
    site: Site, session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await site.publish(quote="Avant")
    await site.gallery.build()
    page = f"selfies/{entry.id}/index.html"
    previous = site.text(page)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Submission).where(Submission.id == entry.id).values(quote="Après")
        )
    real_replace = os.replace

    def crash_once(source: str, target: str) -> None:
        monkeypatch.setattr("bot.site.files.os.replace", real_replace)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.site.files.os.replace", crash_once)
    with pytest.raises(OSError):
        await site.gallery.sync([entry.id])

    assert site.text(page) == previous
    assert not [name for name in site.files() if name.endswith(".tmp")]
    await site.gallery.sync([])  # the next sync, whatever it is for, repairs the site
    assert "Après" in site.text(page)


async def test_the_widget_shows_the_latest_selfies_opening_in_a_new_tab(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(tmp_path, session_factory, add_submission, widget_count=2)
    entries = [await site.publish() for _ in range(3)]
    await site.gallery.build()

    widget = site.text("widget.html")
    assert widget.count('class="card"') == 2
    assert f"selfies/{entries[0].id}/" not in widget
    assert f'href="selfies/{entries[2].id}/" target="_blank" rel="noopener"' in widget


async def test_a_disabled_site_is_never_written(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site = await make_site(tmp_path, session_factory, add_submission, enabled=False)
    entry = await site.publish()

    assert not site.gallery.enabled
    assert (await site.gallery.build()).written == 0
    await site.gallery.sync([entry.id])
    assert not site.root.exists()


async def test_a_folder_not_made_by_the_bot_is_left_alone(site: Site) -> None:
    site.root.mkdir(parents=True)
    (site.root / "precious.txt").write_text("mine")
    await site.publish()

    with pytest.raises(GalleryFolderProblem, match="not made by selfie-bot"):
        await site.gallery.build()
    assert site.files() == {"precious.txt"}


async def test_builds_and_syncs_at_once_leave_one_consistent_site(site: Site) -> None:
    first = await site.publish()
    second = await site.publish(trade="menuisier")
    await asyncio.gather(
        site.gallery.build(), site.gallery.sync([second.id]), site.gallery.sync([first.id])
    )

    assert profile_files(first.id) | profile_files(second.id) <= site.files()
    assert (await site.gallery.build()).written == 0


def write_config(tmp_path: Path, db_url: str, **gallery: Any) -> Path:
    lines = [
        "[campaign]",
        'channel = "@fiersdetreapprentis"',
        "[moderation]",
        "chat_id = -100123",
        "moderators = [1]",
        "[database]",
        f'url = "{db_url}"',
        "[storage]",
        'path = "photos"',
        "[gallery]",
        *(f"{key} = {json.dumps(value)}" for key, value in gallery.items()),
    ]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


async def test_cli_builds_a_preview_even_with_the_site_disabled(
    site: Site, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = await site.publish()
    config = write_config(tmp_path, db_url, path="site")  # enabled = false, no base_url

    assert await asyncio.to_thread(main, ["gallery", "build", "--config", str(config)]) == 2
    assert "gallery.enabled: false" in capsys.readouterr().err
    out = tmp_path / "preview"
    command = ["gallery", "build", "--config", str(config), "--out", str(out)]
    assert await asyncio.to_thread(main, command) == 2
    assert "--base-url URL" in capsys.readouterr().err

    command += ["--base-url", "https://preview.example.org/site"]
    assert await asyncio.to_thread(main, command) == 0
    assert capsys.readouterr().out.startswith("site: 1 profiles, ")
    profile = (out / f"selfies/{entry.id}/index.html").read_text(encoding="utf-8")
    assert f'content="https://preview.example.org/site/photos/{entry.id}.jpg"' in profile
    assert not site.root.exists()  # gallery.path untouched

    assert await asyncio.to_thread(main, command) == 0
    assert ", 0 files written, 0 removed" in capsys.readouterr().out


async def test_the_preview_server_serves_the_folder_and_its_404_page(site: Site) -> None:
    entry = await site.publish()
    await site.gallery.build()
    server = preview_server(site.root, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"

    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    try:
        assert (await asyncio.to_thread(get, ""))[0] == 200
        status, body = await asyncio.to_thread(get, f"selfies/{entry.id}/")
        assert status == 200 and b"og:image" in body
        status, body = await asyncio.to_thread(get, "selfies/999999/")
        assert status == 404 and b"Page introuvable" in body
    finally:
        server.shutdown()
        server.server_close()


def test_cli_serve_needs_a_built_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gallery", "serve", "--dir", str(tmp_path)]) == 2
    assert "gallery build first" in capsys.readouterr().err


async def test_another_process_building_the_same_folder_takes_turns(site: Site) -> None:
    await site.publish()
    held = claim_and_lock(site.root)  # as a `gallery build` in another process would
    build = asyncio.create_task(site.gallery.build())
    await asyncio.sleep(0.3)
    assert not build.done() and "index.html" not in site.files()

    os.close(held)
    assert (await asyncio.wait_for(build, 10)).profiles == 1


async def test_a_photo_size_missing_from_the_row_is_read_from_the_photo(site: Site) -> None:
    entry = await site.publish(width=None, height=None)
    await site.gallery.build()
    later = await site.publish()
    await site.gallery.sync([later.id])

    page = site.text(f"selfies/{entry.id}/index.html")
    assert 'width="480" height="600"' in page  # the stored photo's own size
    assert 'width="320" height="400"' in site.text("index.html")


async def test_every_page_has_sharing_tags_with_absolute_links(site: Site) -> None:
    await site.publish()
    await site.gallery.build()

    pages = [name for name in site.files() if name.endswith(".html")]
    assert len(pages) >= 6
    for name in pages:
        page = site.text(name)
        assert '<html lang="fr">' in page, name
        assert f'<meta property="og:url" content="{BASE_URL}' in page, name
        assert '<meta property="og:title" content="' in page, name
        assert '<meta name="twitter:card" content="summary' in page, name
        assert 'src="http' not in page.replace(f'src="{BASE_URL}', ""), name  # no CDN
        scripts = 'src="assets/filter.js"', 'src="../assets/wall.js"', 'src="../../assets/wall.js"'
        assert "<script" not in page or any(script in page for script in scripts), name


@pytest.mark.slow
async def test_a_build_with_many_photos_makes_them_in_worker_processes(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.site.gallery.PROCESS_POOL_FROM", 2)
    entries = [await site.publish() for _ in range(3)]

    report = await site.gallery.build()

    assert report.written >= 3 * 4
    for entry in entries:
        with Image.open(site.root / f"thumbs/{entry.id}.webp") as webp:
            assert webp.format == "WEBP" and webp.size == (320, 400)
        assert (site.root / f"photos/{entry.id}.jpg").read_bytes() == site.store.read(
            entry.photo_path
        )


async def test_the_build_copies_the_thumbnails_the_pipeline_stored(site: Site) -> None:
    source = Image.open(io.BytesIO(jpeg(1))).convert("RGB")
    stored = thumbnail_of(source, THUMB_SIDE, quality=40)  # not what the build would make
    new = await site.publish(photo_path=site.store.save(jpeg(1), stored))
    old = await site.publish()  # stored before the pipeline made thumbnails

    await site.gallery.build()

    assert (site.root / f"thumbs/{new.id}.webp").read_bytes() == stored.webp
    assert (site.root / f"thumbs/{new.id}.jpg").read_bytes() == stored.jpeg
    photo, stored_photo = site.root / f"photos/{new.id}.jpg", site.store.root / new.photo_path
    assert photo.read_bytes() == stored_photo.read_bytes()
    assert photo.stat().st_ino != stored_photo.stat().st_ino  # a copy: the store's stays 0600
    assert photo.stat().st_mode & 0o777 == 0o644  # readable by the web server
    assert stored_photo.stat().st_mode & 0o777 == 0o600
    with Image.open(site.root / f"thumbs/{old.id}.webp") as webp:
        assert webp.format == "WEBP" and webp.size == (320, 400)
    assert site.store.thumbnails(old.photo_path) is None
    assert not [p for p in site.root.rglob("*.tmp")]
    assert (await site.gallery.build()).written == 0

    # The store's files deleted (an erasure): the site's copies stay until the site's
    # own removal, which the sync that follows does.
    assert site.store.delete(new.photo_path)
    assert not (site.store.root / new.photo_path).exists()
    assert photo.is_file() and site.store.thumbnails(new.photo_path) is None
    async with site.sessions() as session, session.begin():
        await session.execute(delete(Submission).where(Submission.id == new.id))
    await site.gallery.sync([new.id])
    assert not profile_files(new.id) & site.files()


async def test_a_lost_thumbnail_is_copied_again_without_leaving_temporary_files(
    site: Site,
) -> None:
    jpeg_bytes = jpeg(2)
    stored = thumbnail_of(Image.open(io.BytesIO(jpeg_bytes)).convert("RGB"), THUMB_SIDE)
    entry = await site.publish(photo_path=site.store.save(jpeg_bytes, stored))
    await site.gallery.build()
    (site.root / f"thumbs/{entry.id}.jpg").unlink()

    await site.gallery.sync([entry.id])

    assert (site.root / f"thumbs/{entry.id}.jpg").read_bytes() == stored.jpeg
    assert not [p for p in site.root.rglob("*") if p.name.endswith(".tmp")]


async def test_photos_an_earlier_version_linked_into_the_site_are_made_private(
    site: Site,
) -> None:
    """Earlier versions stored photos as the umask said (0644) and hard-linked them into the
    site: the store's tightening gives the store private copies and leaves the site's."""
    entry = await site.publish()
    await site.gallery.build()
    stored, photo = site.store.root / entry.photo_path, site.root / f"photos/{entry.id}.jpg"
    stored.chmod(0o644)
    stored.parent.chmod(0o755)
    photo.unlink()
    os.link(stored, photo)  # as the old build left it
    written = stored.stat().st_mtime_ns

    assert site.store.make_private() == 1

    assert stored.stat().st_mode & 0o777 == 0o600 and stored.parent.stat().st_mode & 0o777 == 0o700
    assert stored.stat().st_ino != photo.stat().st_ino and photo.stat().st_mode & 0o777 == 0o644
    assert stored.read_bytes() == photo.read_bytes() and stored.stat().st_mtime_ns == written
    assert site.store.make_private() == 0
    assert (await site.gallery.build()).written == 0  # the site's file is still fresh


async def test_inclusive_trade_names_get_readable_slugs_and_old_urls_redirect(
    site: Site,
) -> None:
    pastry = [await site.publish(trade="Pâtissier·ère") for _ in range(2)]
    await site.publish(trade="Coiffeurse")  # a trade whose slug is the old one of another
    await site.publish(trade="Coiffeur·se")
    await site.publish(trade="Menuisier")
    await site.gallery.build()

    files = site.files()
    assert {"trades/patissier-ere/index.html", "trades/coiffeur-se/index.html"} <= files
    # The URL shared before (« patissierere ») leads to the new page, and says so.
    moved = site.text("trades/patissierere/index.html")
    assert '<meta http-equiv="refresh" content="0; url=../../trades/patissier-ere/">' in moved
    assert f'<link rel="canonical" href="{BASE_URL}trades/patissier-ere/">' in moved
    assert "noindex" in moved and "Cette page a changé d’adresse" in moved
    assert "patissierere" not in site.text("sitemap.xml")
    # A group that has the old URL itself keeps its page; an unchanged slug gets no copy.
    assert "Coiffeurse" in site.text("trades/coiffeurse/index.html")
    assert [name for name in files if name.startswith("trades/menuisier")] == [
        "trades/menuisier/index.html"
    ]
    # A rebuild keeps the redirect; once the trade leaves the site, its redirect goes too.
    await site.gallery.build()
    assert "trades/patissierere/index.html" in site.files()
    for entry in pastry:
        await site.set_status(entry.id, SubmissionStatus.REFUSED)
    await site.gallery.sync([entry.id for entry in pastry])
    assert not any(name.startswith("trades/patissier") for name in site.files())
