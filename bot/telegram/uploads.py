"""Which file of an apprentice's message is the selfie, or why there is none.

Telegram delivers a photo as several sizes (the largest last) and an image "sent as a
file" as a document. Everything else gets a specific reply, so each refusal has a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from telegram import Message

# A bot may download files of at most 20 MB (getFile).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# GIF goes to the pipeline too: a still one is a photo, an animated one is refused there.
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif"}
)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif"})


# Every refusal code, each with its own text "photo.problem.<code>" in the catalogs.
PROBLEM_CODES = (
    "album",
    "animation",
    "download_failed",
    "not_image_document",
    "other",
    "sticker",
    "text",
    "too_big",
    "video",
)


class PhotoProblem(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PhotoSource:
    file_id: str
    file_unique_id: str


def photo_to_download(message: Message) -> PhotoSource:
    """The file to fetch, or :class:`PhotoProblem` with the code of the refusal."""
    if message.photo:
        largest = message.photo[-1]
        if largest.file_size and largest.file_size > MAX_DOWNLOAD_BYTES:
            raise PhotoProblem("too_big")
        return PhotoSource(largest.file_id, largest.file_unique_id)
    if message.video or message.video_note:
        raise PhotoProblem("video")
    if message.sticker:
        raise PhotoProblem("sticker")
    if message.animation:
        raise PhotoProblem("animation")
    document = message.document
    if document is None:
        raise PhotoProblem("text" if message.text else "other")
    suffix = PurePath(document.file_name or "").suffix.lower()
    if document.mime_type not in IMAGE_TYPES and suffix not in IMAGE_SUFFIXES:
        raise PhotoProblem("not_image_document")
    if document.file_size and document.file_size > MAX_DOWNLOAD_BYTES:
        raise PhotoProblem("too_big")
    return PhotoSource(document.file_id, document.file_unique_id)
