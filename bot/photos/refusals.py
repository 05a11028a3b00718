"""Refusals: every way the pipeline can decline an upload, one exception class each.

Each stage raises these and nothing else leaves :func:`bot.photos.pipeline.process_image`;
the bot looks its message up by ``code`` and :mod:`bot.metrics` counts it by the same code.
They live apart from the stages, importing nothing, so that the bot, the worker processes
and the metrics can name a refusal without loading Pillow, and so that each class keeps one
importable path to be unpickled under when it comes back from a worker.
"""

from __future__ import annotations

from typing import ClassVar


class ImageRejected(Exception):
    """Base of every refusal; ``code`` is stable and meant for the bot's message lookup."""

    code: ClassVar[str] = "image_rejected"

    def __init__(self, message: str, *, width: int | None = None, height: int | None = None):
        super().__init__(message)
        self.width = width
        self.height = height


class NotAnImage(ImageRejected):
    """Corrupt, truncated, unsupported or hostile data: nothing we can show.

    Also files whose structure alone would cost too much to decode (thousands of scans
    or segments): no real photo looks like that.
    """

    code = "not_an_image"


class TooManyPixels(ImageRejected):
    """Too large to decode: over ``max_pixels``, or over ``max_decode_bytes`` for its format.

    ``max_pixels`` is the largest pixel count accepted for an image of this kind (format,
    mode, progressive or not), for a message naming the limit that applied.
    """

    code = "too_many_pixels"

    def __init__(
        self,
        message: str,
        *,
        width: int | None = None,
        height: int | None = None,
        max_pixels: int | None = None,
    ):
        super().__init__(message, width=width, height=height)
        self.max_pixels = max_pixels


class AnimatedImage(ImageRejected):
    """Animated GIF/WebP/PNG: the campaign publishes still photos only."""

    code = "animated"


class TooSmall(ImageRejected):
    """Short side below ``min_short_side``: too small to look good in the channel."""

    code = "too_small"


class TooElongated(ImageRejected):
    """Long side over :data:`~bot.photos.limits.MAX_RATIO` times the short one: Telegram
    refuses such photos."""

    code = "too_elongated"
