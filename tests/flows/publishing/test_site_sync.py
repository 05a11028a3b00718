"""The public site kept in step by the running bot (bot.services.update_site): publication
adds a profile, a moderator's unpublish and a ban take it off, an unban puts it back, an
entry agreed to under a consent that did not name the site never shows, and a broken site
folder never stops a publication (the next full build mends the site). SQLite and
PostgreSQL, the real bot against the emulator."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.campaign.consent import consent_version
from bot.i18n import tn
from bot.ops.retention import purge
from models import ConsentText, SubmissionStatus
from tests.support import imagegen
from tests.support.publishing import (
    QUIET,
    add_entries,
    approve_on_card,
    card_of,
    cards_for_pending,
    channel_posts,
    entry_values,
    rows,
    started_apprentice,
    tick,
    unpublish_on_card,
)
from tests.support.stand import Stand, answer_of, has_button, running_stand, until

S = SubmissionStatus
BASE_URL = "https://www.example.org/selfies/"


def site_config(tmp_path: Path) -> dict[str, Any]:
    return {"enabled": True, "path": str(tmp_path / "site"), "base_url": BASE_URL}


def site_root(stand: Stand) -> Path:
    return Path(stand.settings.gallery.path)


def profile_files(entry_id: int) -> list[str]:
    return [
        f"selfies/{entry_id}/index.html",
        f"photos/{entry_id}.jpg",
        f"photos/{entry_id}.webp",
        f"thumbs/{entry_id}.webp",
        f"thumbs/{entry_id}.jpg",
    ]


def shown(stand: Stand, entry_id: int) -> bool:
    """The profile's files are all there and the index links it; False when none of it is
    (anything in between fails the test: the site must never be half in step)."""
    root = site_root(stand)
    present = [(root / name).is_file() for name in profile_files(entry_id)]
    index = root / "index.html"
    linked = index.is_file() and f'href="selfies/{entry_id}/"' in index.read_text("utf-8")
    feed = root / "feed.json"
    in_feed = feed.is_file() and f"{BASE_URL}selfies/{entry_id}/" in feed.read_text("utf-8")
    state = [*present, linked, in_feed]
    assert all(state) or not any(state), f"entry {entry_id} half on the site: {state}"
    return all(state)


async def entries_with_photos(
    stand: Stand,
    people: list[int],
    status: SubmissionStatus = S.APPROVED,
    version: str | None = None,
    **fields: Any,
) -> list[int]:
    """One entry per person, each with a real stored photo, agreed to under the consent
    version the bot shows now (which names the site) unless told otherwise."""
    version = version or consent_version("fr", stand.settings)
    photos = stand.app.services.photos
    values = [
        entry_values(
            person,
            number,
            photo_path=photos.save(imagegen.photo_jpeg(600, 750, seed=number)),
            consent_version=version,
            **fields,
        )
        for number, person in enumerate(people, start=1)
    ]
    return await add_entries(stand, values, status=status)


async def test_publication_adds_the_profile_and_unpublish_removes_it(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(
        db_url, tmp_path, schedule=QUIET, gallery=site_config(tmp_path)
    ) as stand:
        lea, tom = started_apprentice(stand.emu, "Léa"), started_apprentice(stand.emu, "Tom")
        lea_id, tom_id = await entries_with_photos(stand, [lea.id, tom.id], status=S.PENDING)
        await cards_for_pending(stand)
        for entry_id in (lea_id, tom_id):
            await approve_on_card(stand, entry_id)
        # Built at start: an empty site, approved entries are not on it yet.
        assert (site_root(stand) / "index.html").is_file()
        assert not shown(stand, lea_id) and not shown(stand, tom_id)

        assert await tick(stand) == [lea_id]
        assert shown(stand, lea_id) and not shown(stand, tom_id)
        assert await tick(stand) == [tom_id]
        assert shown(stand, lea_id) and shown(stand, tom_id)
        index = (site_root(stand) / "index.html").read_text("utf-8")
        assert index.index(f"selfies/{tom_id}/") < index.index(f"selfies/{lea_id}/")

        # A moderator takes Léa's post off the channel from her card: off the site too.
        card = card_of(stand, (await rows(stand))[lea_id])
        query = await unpublish_on_card(stand, card, lea_id)
        await answer_of(stand, query)
        await until(lambda: not shown(stand, lea_id))
        assert shown(stand, tom_id)
        sitemap = (site_root(stand) / "sitemap.xml").read_text("utf-8")
        assert f"selfies/{lea_id}/" not in sitemap and f"selfies/{tom_id}/" in sitemap
        assert (await rows(stand))[lea_id].status == S.REFUSED


async def test_a_ban_takes_the_profiles_off_and_an_unban_puts_them_back(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(
        db_url, tmp_path, schedule=QUIET, gallery=site_config(tmp_path)
    ) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        spam, lea = started_apprentice(emu, "Spam"), started_apprentice(emu, "Léa")
        spam_id, lea_id = await entries_with_photos(stand, [spam.id, lea.id])
        assert await tick(stand) == [spam_id]
        assert await tick(stand) == [lea_id]
        assert shown(stand, spam_id) and shown(stand, lea_id)

        await emu.send_text(camille, f"/ban {spam.id}", chat=stand.group)
        await emu.wait_for(stand.group, tn("fr", "mod.banned_user", 0, user=spam.id))
        await until(lambda: not shown(stand, spam_id))
        assert shown(stand, lea_id)
        # Still on the channel until a moderator says so, but never on the site.
        assert len(channel_posts(stand)) == 2
        await purge(stand.app.services)  # the daily full build agrees
        assert not shown(stand, spam_id)

        await emu.send_text(camille, f"/unban {spam.id}", chat=stand.group)
        await emu.wait_for(stand.group, "levé")
        await until(lambda: shown(stand, spam_id))
        assert shown(stand, lea_id)


async def test_an_entry_whose_consent_did_not_name_the_site_is_never_shown(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(
        db_url, tmp_path, schedule=QUIET, gallery=site_config(tmp_path)
    ) as stand:
        async with stand.app.services.sessions() as session, session.begin():
            session.add(ConsentText(version="channel-only", language="fr", text="…"))
        old, new = started_apprentice(stand.emu, "Ancien"), started_apprentice(stand.emu, "Lou")
        [old_id] = await entries_with_photos(stand, [old.id], version="channel-only")
        [unknown_id] = await entries_with_photos(stand, [old.id], version="never-recorded")
        [new_id] = await entries_with_photos(stand, [new.id])
        assert await tick(stand) == [old_id]
        assert await tick(stand) == [unknown_id]
        assert await tick(stand) == [new_id]
        assert len(channel_posts(stand)) == 3  # the channel shows them all
        await purge(stand.app.services)
        assert shown(stand, new_id)
        assert not shown(stand, old_id) and not shown(stand, unknown_id)
        root = site_root(stand)
        every_page = "".join(p.read_text("utf-8") for p in root.rglob("*.html"))
        every_page += (root / "feed.xml").read_text("utf-8")
        assert f"selfies/{old_id}/" not in every_page
        assert f"selfies/{unknown_id}/" not in every_page


async def test_a_broken_site_folder_never_stops_a_publication_and_the_next_build_mends_it(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stand(
        db_url, tmp_path, schedule=QUIET, gallery=site_config(tmp_path)
    ) as stand:
        lea = started_apprentice(stand.emu, "Léa")
        [entry_id] = await entries_with_photos(stand, [lea.id])
        root = site_root(stand)
        # Works as root too (CI): a file where the folder should be, not a chmod.
        shutil.move(root, tmp_path / "site-away")
        root.write_bytes(b"not a folder")

        with caplog.at_level(logging.ERROR, logger="bot.services"):
            assert await tick(stand) == [entry_id]
        [post] = channel_posts(stand)
        entry = (await rows(stand))[entry_id]
        assert (entry.status, entry.channel_message_id) == (S.PUBLISHED, post["message_id"])
        failures = [r for r in caplog.records if "public site not updated" in r.getMessage()]
        assert failures and failures[0].exc_info, caplog.text
        assert f"[{entry_id}]" in failures[0].getMessage()

        # The folder is back (the operator freed the disk): the daily purge's build mends it.
        root.unlink()
        shutil.move(tmp_path / "site-away", root)
        assert not shown(stand, entry_id)
        await purge(stand.app.services)
        assert shown(stand, entry_id)
        assert entry_id in [e.id for e in (await rows(stand)).values()]


async def test_erasure_takes_the_profile_off(db_url: str, tmp_path: Path) -> None:
    async with running_stand(
        db_url, tmp_path, schedule=QUIET, gallery=site_config(tmp_path)
    ) as stand:
        lea, tom = started_apprentice(stand.emu, "Léa"), started_apprentice(stand.emu, "Tom")
        lea_id, tom_id = await entries_with_photos(stand, [lea.id, tom.id])
        await tick(stand)
        await tick(stand)
        assert shown(stand, lea_id) and shown(stand, tom_id)
        await stand.emu.send_text(lea, "/supprimer")
        await stand.press(lea, await stand.reply(lea, has_button("erase:")), "erase:yes")
        await stand.reply(lea, tn("fr", "erase.done", 1))
        assert not shown(stand, lea_id) and shown(stand, tom_id)
        assert not (site_root(stand) / f"selfies/{lea_id}").exists()
