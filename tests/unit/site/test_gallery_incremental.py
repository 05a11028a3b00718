"""Gallery.sync updates the plan kept in memory from the entries it is told of, and
redraws only the pages they change: after each sync the folder and the plan are exactly
what a full build from the database makes. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.site.gallery import Gallery
from models import SubmissionStatus
from tests.support.data import AddSubmission
from tests.support.gallery import (
    CHANNEL_VERSION,
    START,
    Site,
    assert_paginated,
    listing,
    make_site,
    profile_files,
)

# Sites of dozens of profiles built, then kept in step entry by entry.
pytestmark = pytest.mark.slow

S = SubmissionStatus


async def agrees_with_a_full_build(site: Site) -> None:
    """A new Gallery's build (nothing in memory) has nothing to write or remove, and plans
    the same site as the one kept by the syncs."""
    fresh = Gallery(site.settings, site.sessions, site.store)
    report = await fresh.build()
    assert (report.written, report.removed) == (0, 0)
    assert fresh._plan == site.gallery._plan


def assert_pages(site: Site, prefix: str, ids: list[int], everything: list[int]) -> None:
    assert_paginated(site, prefix, ids, everything, PER_PAGE)


PER_PAGE = 6


async def six_per_page(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> tuple[Site, list[int]]:
    """26 entries (oldest first), 6 per page: 20 of trade "coiffeuse" (its index and 2
    older pages), 6 of "menuisier" (one page); built."""
    site = await make_site(tmp_path, session_factory, add_submission, per_page=PER_PAGE)
    ids = []
    for number in range(26):
        trade = "menuisier" if number % 4 == 3 else "coiffeuse"
        ids.append((await site.publish(trade=trade, display_name=f"N{number}")).id)
    await site.gallery.build()
    return site, ids


async def test_a_publication_in_the_middle_of_a_trades_pages(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site, ids = await six_per_page(tmp_path, session_factory, add_submission)
    assert len(listing(site, "trades/coiffeuse/", ids)) >= 3
    menuisier = site.mtimes()["trades/menuisier/index.html"]

    # Published now but dated between the 9th and the 10th (the post's date as recorded).
    middle = await site.publish(
        trade="coiffeuse", display_name="Milieu", published_at=START + timedelta(hours=9.5)
    )
    await site.gallery.sync([middle.id])

    await agrees_with_a_full_build(site)
    everything = [*ids[:9], middle.id, *ids[9:]]  # oldest first
    coiffeuse = [i for number, i in enumerate(ids) if number % 4 != 3]
    coiffeuse.insert(7, middle.id)  # after the 7 older ones (numbers 0, 1, 2, 4, 5, 6, 8)
    assert_pages(site, "trades/coiffeuse/", coiffeuse, everything)
    assert_pages(site, "", everything, everything)
    assert site.mtimes()["trades/menuisier/index.html"] == menuisier
    assert "Milieu" in site.text(f"selfies/{middle.id}/index.html")


async def test_removing_the_oldest_entry_keeps_every_page_in_order(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site, ids = await six_per_page(tmp_path, session_factory, add_submission)
    oldest = ids[0]
    await site.set_status(oldest, S.REFUSED)
    await site.gallery.sync([oldest])

    await agrees_with_a_full_build(site)
    assert not profile_files(oldest) & site.files()
    assert_pages(site, "", ids[1:], ids)
    coiffeuse = [i for number, i in enumerate(ids) if number % 4 != 3]
    assert_pages(site, "trades/coiffeuse/", coiffeuse[1:], ids)


async def test_a_removal_then_a_publication_again(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site, ids = await six_per_page(tmp_path, session_factory, add_submission)
    before = site.mtimes()
    oldest = f"{listing(site, '', ids)[-1][0]}index.html"
    entry = ids[13]
    await site.set_status(entry, S.REFUSED)
    await site.gallery.sync([entry])
    await agrees_with_a_full_build(site)
    assert not profile_files(entry) & site.files()

    await site.set_status(entry, S.PUBLISHED)
    await site.gallery.sync([entry])
    await agrees_with_a_full_build(site)
    assert profile_files(entry) <= site.files()
    assert site.mtimes().keys() == before.keys()
    unchanged = {name for name, mtime in site.mtimes().items() if before[name] == mtime}
    assert oldest in unchanged  # before the entry: never touched
    assert f"selfies/{ids[0]}/index.html" in unchanged


async def test_a_sync_of_entries_the_site_does_not_show_changes_nothing(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site, _ids = await six_per_page(tmp_path, session_factory, add_submission)
    before = site.mtimes()
    channel_only = await site.publish(consent_version=CHANNEL_VERSION)
    pending = await site.add(S.PENDING)

    await site.gallery.sync([channel_only.id, pending.id, 999_999])

    assert site.mtimes() == before
    await agrees_with_a_full_build(site)


async def test_a_second_spelling_of_a_trade_redraws_every_profile_it_names(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    site, ids = await six_per_page(tmp_path, session_factory, add_submission)
    # 6 "menuisier" against 7 "Menuisier": the group is shown as "Menuisier" now.
    newer = []
    for _ in range(7):
        newer.append(await site.publish(trade="Menuisier"))
        await site.gallery.sync([newer[-1].id])
        await agrees_with_a_full_build(site)
    assert "Menuisier" in site.text(f"selfies/{ids[3]}/index.html")
    await site.set_status(newer[0].id, S.REFUSED)
    await site.gallery.sync([newer[0].id])  # 6 and 6: the newest spelling
    await agrees_with_a_full_build(site)
