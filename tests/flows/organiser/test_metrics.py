"""``/metrics`` and ``/healthz`` over HTTP, from the real bot against the emulator.

The metrics live in prometheus_client's default registry, shared by every bot a test
session starts: counters are compared before and after (deltas), never as absolutes.
Faults are real ones: the emulator refuses ``getMe`` or the revoked token, the database
cannot be opened any more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from telegram.error import InvalidToken

from bot.i18n import t
from bot.telegram.publisher import Publisher
from models import SubmissionStatus
from models.base import utcnow
from tests.support import imagegen
from tests.support.monitoring import get, monitor_of, until_health
from tests.support.stand import TOKEN, Stand, has_button, running_stand, walk_to_photo

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(stand: Stand) -> Samples:
    status, body = await get(stand, "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def card_posted(stand: Stand) -> int:
    async with asyncio.timeout(10):
        while not [e for e in await stand.stored() if e.moderation_message_id]:
            await asyncio.sleep(0.02)
    [entry] = await stand.stored()
    assert entry.moderation_message_id is not None
    return entry.id


async def wait_approved(stand: Stand) -> None:
    async with asyncio.timeout(10):
        while (await stand.stored())[0].status != SubmissionStatus.APPROVED:
            await asyncio.sleep(0.02)


async def test_metrics_count_what_a_flow_did(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        before = await scrape(stand)
        zoe = emu.create_user("Zoélie", username="zoelie_apprentie", language_code="fr")
        await walk_to_photo(stand, zoe)
        await emu.send_photo(zoe, imagegen.photo_jpeg(400, 300, seed=1))
        await stand.reply(zoe, t("fr", "photo.rejected.too_small", min=480, megapixels=50))
        await emu.send_photo(zoe, imagegen.photo_jpeg(1200, 900, seed=2))
        await stand.press(zoe, await stand.reply(zoe, has_button("preview:")), "preview:send")
        entry_id = await card_posted(stand)
        [card] = [m for m in emu.messages(stand.group) if m.get("reply_markup")]
        await stand.press(stand.moderators[0], card, f"mod:ok:{entry_id}")
        await wait_approved(stand)
        assert await Publisher(stand.app.services).run_slot(stand.app.bot) == [entry_id]
        after = await scrape(stand)

        # 2 photos and /start; consent, age, name, trade, centre, quote, send, approve.
        assert delta(before, after, "selfie_bot_updates_total", type="message") >= 3
        assert delta(before, after, "selfie_bot_updates_total", type="callback_query") >= 8
        timed = delta(before, after, "selfie_bot_update_seconds_count", type="callback_query")
        assert timed >= 8
        in_db = {status: 0 for status in SubmissionStatus}
        for entry in await stand.stored():
            in_db[entry.status] += 1
        assert in_db[SubmissionStatus.PUBLISHED] == 1
        for status, count in in_db.items():
            assert value(after, "selfie_bot_submissions", status=status.value) == count
        assert value(after, "selfie_bot_queue_length") == 0
        assert value(after, "selfie_bot_next_slot_timestamp_seconds") > utcnow().timestamp()
        assert delta(before, after, "selfie_bot_publish_attempts_total", outcome="published") == 1
        assert delta(before, after, "selfie_bot_moderation_decision_seconds_count") == 1
        assert delta(before, after, "selfie_bot_image_processing_seconds_count") == 2
        assert delta(before, after, "selfie_bot_image_refusals_total", reason="too_small") == 1

        personal = {"Zoélie", "zoelie_apprentie", str(zoe.id), TOKEN}
        labels = {v for _, pairs in after for _, v in pairs}
        assert not {v for v in labels if any(p in v for p in personal)}


async def test_healthz_ok_and_telegram_errors_counted(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ops.monitoring")
    async with running_stand(db_url, tmp_path) as stand:
        monitor = monitor_of(stand)
        assert f"/metrics on http://127.0.0.1:{monitor.port}" in caplog.text
        calls = len(stand.emu.calls_for("getMe"))
        assert await get(stand, "/healthz") == (200, "ok\n")
        assert await get(stand, "/healthz") == (200, "ok\n")
        assert len(stand.emu.calls_for("getMe")) == calls + 1  # the second answer was cached
        assert (await get(stand, "/nowhere"))[0] == 404
        url = f"http://127.0.0.1:{monitor.port}/healthz"
        async with aiohttp.ClientSession() as http, http.post(url) as response:
            assert response.status == 405

        monitor.telegram_cache_seconds = 0
        before = await scrape(stand)
        stand.emu.inject_fault("getMe", "502", count=None)
        status, body = await get(stand, "/healthz")
        assert status == 503 and body.startswith("telegram: ") and body.count("\n") == 1
        assert TOKEN not in body and TOKEN.split(":")[1] not in body
        after = await scrape(stand)
        assert delta(before, after, "selfie_bot_bot_api_errors_total", method="getMe", code="502")
        stand.emu.clear_faults("getMe")
        assert await get(stand, "/healthz") == (200, "ok\n")


@asynccontextmanager
async def database_closed(stand: Stand, db_url: str) -> AsyncIterator[None]:
    """The database cannot be opened any more: the SQLite file's folder is gone, or the
    PostgreSQL database refuses connections; the bot's pool is emptied first."""
    await stand.app.services.engine.dispose()
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        folder = Path(url.database).parent
        hidden = folder.with_name(folder.name + "-away")
        folder.rename(hidden)
        try:
            yield
        finally:
            hidden.rename(folder)
        return
    admin = create_async_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    name = url.database

    async def allow(allowed: bool) -> None:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'
            )

    await allow(False)
    try:
        yield
    finally:
        await allow(True)
        await admin.dispose()


async def test_healthz_503_when_the_database_is_unreachable(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        assert await get(stand, "/healthz") == (200, "ok\n")
        async with database_closed(stand, db_url):
            status, body = await get(stand, "/healthz")
            assert status == 503 and body.startswith("database: ") and body.count("\n") == 1
            metrics_status, text = await get(stand, "/metrics")
            assert metrics_status == 200 and "selfie_bot_updates_total" in text
        await stand.app.services.engine.dispose()
        assert await get(stand, "/healthz") == (200, "ok\n")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_healthz_503_when_polling_stopped_on_a_revoked_token(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        assert await get(stand, "/healthz") == (200, "ok\n")
        before = await scrape(stand)
        stand.emu.token = "654321:revoked-by-botfather"  # PTB stops polling, the bot stays
        status, body = await until_health(stand, "updates: ")
        assert (status, body) == (503, "updates: polling stopped (InvalidToken)\n")
        after = await scrape(stand)
        assert delta(
            before, after, "selfie_bot_bot_api_errors_total", method="getUpdates", code="401"
        )

        stand.emu.token = TOKEN  # a new token: the operator restarts polling
        assert stand.app.updater is not None
        with pytest.raises(InvalidToken):
            await stand.app.updater.stop()
        assert (await get(stand, "/healthz"))[1] == "updates: the updater is not running\n"
        await stand.app.updater.start_polling(poll_interval=0, timeout=1)
        assert await get(stand, "/healthz") == (200, "ok\n")
