"""Uploads are processed in worker processes, each job bounded in wall time and memory.

:func:`bot.photos.pipeline.process_image` on hostile bytes can take tens of seconds of CPU (a
progressive JPEG with thousands of scans) or ask for more memory than the machine has. In
a thread it can be neither stopped nor capped, and it holds the GIL against the event
loop. Here each upload goes to one of a few worker processes (``pebble.ProcessPool``): a
job past its wall time has its worker killed and replaced by pebble; a worker's data
segment is capped (``RLIMIT_DATA``), so a runaway allocation fails inside it and that
worker exits. Either way the apprentice gets the answer of an unreadable image
(:class:`~bot.photos.refusals.NotAnImage`), and the event loop only ever awaits a future.

The pool starts at the first photo and stops after :data:`IDLE_SECONDS` without one: a
quiet bot holds no worker (each costs ~27 MB, measured in ``benchmarks/memory.py``).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import multiprocessing
import os
import pickle
import resource
import signal
from collections.abc import Callable
from concurrent.futures import TimeoutError as JobTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from bot.metrics import count_image_refusal, timed_image
from bot.photos.encode import Thumbnail
from bot.photos.faces import Face
from bot.photos.limits import Upload
from bot.photos.pipeline import ImageOptions, ProcessedImage, hide_faces, process_image
from bot.photos.refusals import ImageRejected, NotAnImage

log = logging.getLogger(__name__)

T = TypeVar("T")

JOB_SECONDS = 10.0
"""Wall time of one job. A 48 MP photo takes ~0.15 s, a 48 MP HEIC or PNG ~1 s on one
core of a small server: 10 s leaves room for a loaded machine and stops a scan bomb."""

IDLE_SECONDS = 300.0
"""The pool stops after this long without a job; the next photo starts it again (~0.3 s)."""

MEMORY_BASE_BYTES = 256 * 2**20
MEMORY_BYTES_PER_PIXEL = 16
"""A worker's data segment is capped at base + this x ``images.max_pixels``: ~1 GiB for
the default 50 MP.

The smallest ``RLIMIT_DATA`` each 8000x6000 upload needs, the bytes included (measured,
``process_image`` with the band): baseline JPEG 63 MiB (decoded at 1/4 scale);
progressive JPEG 174 MiB (4:2:0) to 317 MiB (4:4:4: libjpeg keeps every coefficient);
HEIC 381 MiB; RGB PNG 333 MiB; WebP 762 MiB and RGBA PNG 817 MiB (decoded in full, then
converted): at most 17 bytes a pixel. Every legitimate photo up to ``max_pixels`` fits
with 25 % to spare; an input that asks for more is refused instead of swapping the server.
"""

OUT_OF_MEMORY_EXIT = 86
"""A worker that hit its memory cap exits with this status; pebble starts a fresh one."""


def default_workers() -> int:
    """One worker per core but one, at least one.

    The spare core is the event loop's (HTTP, database, PTB: ~60 ms of CPU per
    submission against ~25 ms of image work), so a burst of photos never slows replies.
    On 2 cores that is 1 worker: ~40 photos of 1280 px a second, 4x the capacity target.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def memory_limit(options: ImageOptions) -> int:
    """Bytes a worker may allocate, for photos up to ``options.max_pixels``."""
    return MEMORY_BASE_BYTES + MEMORY_BYTES_PER_PIXEL * options.max_pixels


class ImageWorkers:
    """The pool of image worker processes: started lazily, stopped when idle or closed.

    Used from the event loop's thread only; pebble's own threads complete the futures.
    """

    def __init__(
        self,
        memory_bytes: int,
        *,
        workers: int | None = None,
        job_seconds: float = JOB_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.workers = workers or default_workers()
        self.memory_bytes = memory_bytes
        self.job_seconds = job_seconds
        self.idle_seconds = idle_seconds
        self.starts = 0
        """How many times a pool was started (tests, benchmarks)."""
        self._pool: ProcessPool | None = None
        self._jobs: set[ProcessFuture[Any]] = set()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._pool is not None

    async def process(self, data: Upload, options: ImageOptions) -> ProcessedImage:
        """:func:`process_image` in a worker; a job past its time or memory limit, or whose
        worker died, is refused as :class:`NotAnImage`."""
        with timed_image():
            try:
                return await self._process(data, options)
            except ImageRejected as rejection:
                count_image_refusal(rejection.code)
                raise

    async def _process(self, data: Upload, options: ImageOptions) -> ProcessedImage:
        try:
            return await self.run(_process_in_worker, data, options)
        except JobTimeout:
            raise NotAnImage(f"over {self.job_seconds:g} s of processing") from None
        except ProcessExpired as error:
            raise NotAnImage(f"worker died ({_exit_reason(error.exitcode)})") from None
        except BrokenProcessPool as error:
            log.error("image worker pool broken by a job: %s", error)
            raise NotAnImage("image worker pool broken") from None

    async def hide_faces(
        self, jpeg: bytes, faces: tuple[Face, ...], quality: int
    ) -> tuple[bytes, Thumbnail]:
        """:func:`~bot.photos.pipeline.hide_faces` in a worker, where OpenCV's world is."""
        with timed_image():
            return await self.run(hide_faces, jpeg, faces, quality)

    async def run(self, function: Callable[..., T], /, *args: object) -> T:
        """``function(*args)`` in a worker, within the job time limit.

        A cancelled wait cancels the job (pebble stops its worker if it had started).
        """
        pool = self._started_pool()
        self._cancel_idle_timer()
        future = pool.schedule(function, args, timeout=self.job_seconds)
        self._jobs.add(future)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._discard(pool)
            raise
        finally:
            self._jobs.discard(future)
            if not self._jobs:
                self._arm_idle_timer()

    async def close(self) -> None:
        """Stop the workers (application shutdown); a later job would start them again.
        Jobs still running are cancelled: a stopped pool would never finish them."""
        self._cancel_idle_timer()
        for future in list(self._jobs):
            future.cancel()
        if self._pool is not None:
            self._discard(self._pool)
        if self._stopping:
            await asyncio.gather(*self._stopping)

    def _started_pool(self) -> ProcessPool:
        """The running pool; a new one if there is none or it broke."""
        if self._pool is not None and not self._pool.active:
            self._discard(self._pool)
        if self._pool is None:
            self._pool = ProcessPool(
                max_workers=self.workers,
                initializer=_prepare_worker,
                initargs=(self.memory_bytes,),
                context=multiprocessing.get_context("spawn"),
            )
            self.starts += 1
            log.info("image workers started: %s, %s MB each", self.workers, self._mb)
        return self._pool

    @property
    def _mb(self) -> int:
        return self.memory_bytes // 2**20

    def _arm_idle_timer(self) -> None:
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(self.idle_seconds, self._stop_when_idle)

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _stop_when_idle(self) -> None:
        """Stop the workers, and hand back to the system what the bot freed since the
        last photos (their downloads: glibc keeps freed heap for reuse otherwise)."""
        self._idle_timer = None
        if not self._jobs and self._pool is not None:
            log.info("image workers stopped after %g s without a photo", self.idle_seconds)
            self._discard(self._pool)
            _give_memory_back()

    def _discard(self, pool: ProcessPool) -> None:
        """Forget the current ``pool`` and stop it in a thread (joining workers blocks)."""
        if self._pool is not pool:
            return  # already discarded
        self._pool = None
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(_stop_pool, pool))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)


def _stop_pool(pool: ProcessPool) -> None:
    try:
        pool.stop()
        pool.join()
    except Exception:  # a broken pool may fail to stop cleanly; its workers are killed
        log.exception("stopping the image worker pool")


def _exit_reason(exitcode: int | None) -> str:
    if exitcode == OUT_OF_MEMORY_EXIT:
        return "over its memory limit"
    if exitcode is not None and exitcode < 0:
        return f"signal {signal.Signals(-exitcode).name}"
    return f"exit status {exitcode}"


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; other C libraries return memory their own way."""
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(None), "malloc_trim", None)
    return trim


def _give_memory_back() -> None:
    """Hand freed memory back to the system: glibc keeps freed heap for reuse, and a
    worker would stay at ~90 MB after a 48 MP photo instead of ~35 MB (measured) until
    the pool stops; the bot, at the size of its largest downloads."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


# --- in the worker process ----------------------------------------------------------------


def _prepare_worker(memory_bytes: int) -> None:
    """Each new worker: cap its data segment, and let SIGTERM end it at once.

    ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: address space also counts the 64 MB each
    malloc arena reserves without using, so it would refuse photos for nothing. Pebble
    installs a Python SIGTERM handler, which cannot run while the worker is inside
    libjpeg; the default action ends a worker stuck in C when its job times out.
    """
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # numpy (under OpenCV's face search) would start a BLAS thread and its buffers per
    # core: a worker computes on one.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"


def _process_in_worker(data: Upload, options: ImageOptions) -> ProcessedImage:
    """One job: the processed photo, or its refusal in a form the bot can unpickle.

    A worker whose allocation failed exits after the job rather than serve another photo
    from a heap in an unknown state; pebble replaces it.
    """
    try:
        return process_image(data, options)
    except MemoryError:
        os._exit(OUT_OF_MEMORY_EXIT)
    except ImageRejected as rejection:
        if _ran_out_of_memory(rejection):
            os._exit(OUT_OF_MEMORY_EXIT)
        raise _portable(rejection) from None
    finally:
        _give_memory_back()


def _ran_out_of_memory(error: BaseException) -> bool:
    """Whether a MemoryError is among the errors this one was raised while handling
    (``process_image`` turns whatever Pillow raised into a refusal)."""
    seen: BaseException | None = error.__context__
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__context__
    return False


def _portable(rejection: ImageRejected) -> ImageRejected:
    """The refusal itself when it survives pickling, else a NotAnImage with its message.

    Pebble treats a result it cannot unpickle as a broken pool (every job in flight
    fails): a subclass whose ``__init__`` requires a keyword-only argument would do that.
    ``tests/unit/images/test_image_workers.py`` checks that every refusal class crosses as itself.
    """
    try:
        pickle.loads(pickle.dumps(rejection))
    except Exception:
        return NotAnImage(str(rejection))
    return rejection
