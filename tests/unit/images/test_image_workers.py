"""The image worker pool (``bot/photos/workers.py``) on real images and real processes.

No mocks: every job runs ``process_image`` in a spawned worker process. The limits are
made small where a test needs a job to cross them (a tiny time limit, a low memory cap)
and the inputs are real photos large enough to cross them for real.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import pickle
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PIL import Image

from bot.config import CoachSettings
from bot.photos.pipeline import ImageOptions, process_image
from bot.photos.refusals import ImageRejected, NotAnImage, TooSmall
from bot.photos.workers import JOB_SECONDS, ImageWorkers, _portable, memory_limit
from tests.support import imagegen
from tests.support.stand import has_button, running_stand, walk_to_photo

# Real worker processes spawned, killed and replaced: seconds each.
pytestmark = pytest.mark.slow

OPTIONS = ImageOptions(
    band_text="Fiers d'être apprentis", faces_min_px=CoachSettings().faces_min_px
)
HEADROOM = 64 * 2**20
"""A low memory cap over a worker's own: room for a 1280 px photo, not for 24 MP of pixels."""


def gradient(width: int, height: int) -> Image.Image:
    """A real photo-sized RGB image, quick to make and to compress."""
    ramp = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp))


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@functools.cache
def big_png() -> bytes:
    """A 6000x4000 PNG (330 kB; ~0.35 s and over 96 MB of decoded pixels to process)."""
    return encoded(gradient(6000, 4000), "PNG", compress_level=1)


@functools.cache
def photo() -> bytes:
    return imagegen.photo_jpeg(1280, 960, orientation=6, gps=True, seed=7)


@asynccontextmanager
async def pool(
    memory_bytes: int = memory_limit(OPTIONS), **options: float
) -> AsyncIterator[ImageWorkers]:
    workers = ImageWorkers(memory_bytes, workers=1, **options)  # type: ignore[arg-type]
    try:
        yield workers
    finally:
        await workers.close()


async def worker_pid(workers: ImageWorkers) -> int:
    """The pid of the (single) worker, asked of the worker itself."""
    return await workers.run(os.getpid)


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def refusal_classes(base: type[ImageRejected] = ImageRejected) -> Iterator[type[ImageRejected]]:
    """The bot's refusal classes (not this module's own below)."""
    if base.__module__.startswith("bot."):
        yield base
    for subclass in base.__subclasses__():
        yield from refusal_classes(subclass)


# --------------------------------------------------------------------------- results


async def test_a_photo_processed_in_a_worker_is_the_photo_processed_here() -> None:
    async with pool() as workers:
        assert not workers.running  # nothing starts before the first photo
        result = await workers.process(photo(), OPTIONS)
        assert workers.running and workers.starts == 1
        assert await worker_pid(workers) != os.getpid()
        # As PTB downloads it: a bytearray, sent as it is (the bot keeps one copy).
        from_download = await workers.process(bytearray(photo()), OPTIONS)
    assert result == from_download == process_image(photo(), OPTIONS)


def test_every_refusal_class_survives_pickling_as_itself() -> None:
    """A refusal crosses the process boundary pickled; its ``__init__`` takes keyword-only
    arguments, which pickle does not pass again: they must come back as attributes."""
    classes = list(refusal_classes())
    assert len(classes) >= 6
    for cls in classes:
        rejection = cls("1x2 declared", width=1, height=2)
        copy = pickle.loads(pickle.dumps(rejection))
        assert type(copy) is cls and copy.code == cls.code
        assert (str(copy), copy.width, copy.height) == ("1x2 declared", 1, 2)
        assert _portable(rejection) is rejection


class NeedsSize(ImageRejected):
    """A refusal pickle cannot rebuild: a required keyword-only argument."""

    code = "needs_size"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


def test_a_refusal_pickle_cannot_rebuild_crosses_as_not_an_image() -> None:
    with pytest.raises(TypeError):
        pickle.loads(pickle.dumps(NeedsSize("odd", size=3)))
    portable = _portable(NeedsSize("odd", size=3))
    assert type(portable) is NotAnImage and str(portable) == "odd"


async def test_refusals_come_back_from_the_worker_with_their_code() -> None:
    small = imagegen.photo_jpeg(400, 300)
    async with pool() as workers:
        with pytest.raises(TooSmall) as refused:
            await workers.process(small, OPTIONS)
        assert (refused.value.width, refused.value.height) == (400, 300)
        for data, code in [
            (imagegen.random_bytes(5000), "not_an_image"),
            (imagegen.animated_gif(640, 480), "animated"),
            (imagegen.bomb_png(20_000, 20_000), "too_many_pixels"),
        ]:
            with pytest.raises(ImageRejected) as rejection:
                await workers.process(data, OPTIONS)
            assert rejection.value.code == code
        assert workers.starts == 1  # refusals are answers, not failures


# --------------------------------------------------------------------------- limits


async def test_a_job_past_its_time_limit_is_refused_and_its_worker_replaced() -> None:
    async with pool(job_seconds=0.05) as workers:
        before = await worker_pid(workers)
        started = time.monotonic()
        with pytest.raises(NotAnImage, match="processing"):
            await workers.process(big_png(), OPTIONS)
        assert time.monotonic() - started < 5  # killed, not waited for (0.6 s of work)
        assert not alive(before)
        workers.job_seconds = JOB_SECONDS
        after = await worker_pid(workers)
        assert after != before
        assert (await workers.process(photo(), OPTIONS)).width == 960
        assert workers.starts == 1  # the same pool: pebble replaced the worker


def data_segment(pid: int) -> int:
    """VmData of a process, in bytes: what RLIMIT_DATA caps."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmData")


async def test_a_job_past_its_memory_limit_is_refused_and_its_worker_replaced() -> None:
    async with pool() as probe:
        await probe.process(photo(), OPTIONS)  # loaded: OpenCV and numpy too
        own = data_segment(await worker_pid(probe))
    async with pool(own + HEADROOM) as workers:
        assert (await workers.process(photo(), OPTIONS)).width == 960
        before = await worker_pid(workers)
        with pytest.raises(NotAnImage, match="memory"):
            await workers.process(big_png(), OPTIONS)
        assert await worker_pid(workers) != before
        assert (await workers.process(photo(), OPTIONS)).width == 960
        assert workers.starts == 1


async def test_the_default_limits_take_a_48_mp_progressive_jpeg() -> None:
    """The memory cap is for runaways, not for large photos: libjpeg keeps all of a
    progressive JPEG's coefficients (~144 MB at 48 MP)."""
    data = encoded(gradient(8000, 6000), "JPEG", quality=90, progressive=True)
    async with pool() as workers:
        result = await workers.process(data, OPTIONS)
    assert (result.original_width, result.original_height) == (8000, 6000)


# --------------------------------------------------------------------------- the loop


async def test_many_photos_at_once_leave_the_event_loop_free() -> None:
    """The loop keeps running callbacks while photos are processed: a loop blocked by the
    work would tick once or twice in all (figures of its lag: ``benchmarks/``)."""
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks.append(time.perf_counter())

    photos = [imagegen.photo_jpeg(1280 + i * 8, 960, seed=i) for i in range(12)]
    async with pool() as workers:
        ticker = asyncio.create_task(tick())
        try:
            results = await asyncio.gather(*(workers.process(p, OPTIONS) for p in photos))
        finally:
            ticker.cancel()
    assert [r.original_width for r in results] == [1280 + i * 8 for i in range(12)]
    assert len(ticks) >= 12  # at least one per photo, whatever the machine's speed


async def test_a_worker_loads_the_image_pipeline_only() -> None:
    """Not the bot (Telegram, SQLAlchemy, pydantic): each worker would carry ~28 MB more.
    Workers re-import the script that started the bot: ``selfie-bot`` imports ``bot``."""
    async with pool() as workers:
        await workers.process(photo(), OPTIONS)
        # A builtin: a function of this module would import it (and the bot) in the worker.
        loaded = set(await workers.run(eval, "list(__import__('sys').modules)"))
    assert "PIL.Image" in loaded
    assert not {"telegram", "sqlalchemy", "pydantic", "bot.app.cli"} & loaded


async def test_opencv_is_loaded_by_the_workers_never_by_the_bot() -> None:
    """The face search's OpenCV and numpy (~60 MB) live in the workers, which stop when
    idle: the bot itself, built and ready, has neither."""
    async with pool() as workers:
        await workers.process(photo(), OPTIONS)
        loaded = set(await workers.run(eval, "list(__import__('sys').modules)"))
    assert {"cv2", "numpy"} <= loaded
    bot = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-c",
            "import sys, bot.app.application, bot.sandbox.cli, handlers.coach; "
            "print(sorted(m for m in ('cv2', 'numpy') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bot.stdout.strip() == "[]"


def test_the_selfie_bot_script_imports_the_package_only() -> None:
    """What the workers re-import (previous test): not the bot's command line."""
    script = subprocess.run(
        [sys.executable, "-c", "import bot, sys; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'telegram'" not in script.stdout and "'bot.app.cli'" not in script.stdout
    entry = tomllib.loads(Path("pyproject.toml").read_text())["project"]["scripts"]
    assert entry == {"selfie-bot": "bot:main"}


async def test_the_pool_stops_when_idle_and_starts_again_at_the_next_photo() -> None:
    async with pool(idle_seconds=0.2) as workers:
        await workers.process(photo(), OPTIONS)
        pid = await worker_pid(workers)
        async with asyncio.timeout(10):
            while workers.running or alive(pid):
                await asyncio.sleep(0.05)
        assert (await workers.process(photo(), OPTIONS)).width == 960
        assert workers.starts == 2 and await worker_pid(workers) != pid


async def test_close_stops_the_workers() -> None:
    async with pool() as workers:
        await workers.process(photo(), OPTIONS)
        pid = await worker_pid(workers)
        await workers.close()
        assert not workers.running and not alive(pid)


# --------------------------------------------------------------------------- the bot


async def test_an_apprentice_photo_goes_through_the_worker_pool(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        workers = stand.app.services.image_workers
        assert not workers.running
        lea = stand.emu.create_user("Léa")
        await walk_to_photo(stand, lea)
        await stand.emu.send_document(lea, photo(), "IMG_0007.jpg", "image/jpeg")
        preview = await stand.reply(lea, has_button("preview:"))
        assert preview.get("photo")
        assert workers.running and workers.starts == 1
        pid = await worker_pid(workers)
        [draft] = await stand.stored()
        assert (draft.width, draft.height) == (960, 1280)
    assert not alive(pid)  # post_shutdown closed the pool


async def test_an_iphone_heic_sent_as_a_file_becomes_the_preview(
    db_url: str, tmp_path: Path
) -> None:
    """iPhones send HEIC when a photo goes "as a file": it was refused as not an image."""
    async with running_stand(db_url, tmp_path) as stand:
        lea = stand.emu.create_user("Léa")
        await walk_to_photo(stand, lea)
        heic = imagegen.heic_photo(1512, 2016, orientation=6, gps=True)
        await stand.emu.send_document(lea, heic, "IMG_4032.HEIC", "image/heic")
        preview = await stand.reply(lea, has_button("preview:"))
        assert preview.get("photo")
        [draft] = await stand.stored()
        assert (draft.width, draft.height) == (1600, 1200)  # turned upright
        assert draft.photo_path is not None
        stored = Image.open(io.BytesIO(stand.app.services.photos.read(draft.photo_path)))
        assert stored.format == "JPEG" and not stored.getexif() and "xmp" not in stored.info
