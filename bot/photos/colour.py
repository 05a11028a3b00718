"""Colour: the working image in sRGB, which is what Telegram clients and browsers assume.

The upload's ICC profile goes with the rest of its metadata, so a photo in Display P3 or
Adobe RGB must be converted first or its colours would shift once published; this runs on
the already-resized image, where it is cheap, and a broken profile is ignored rather than
refusing the photo.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB, which is what Telegram clients and browsers assume.

    Runs on the already-resized image (cheap). A profile that is sRGB already is skipped;
    a broken or mismatched profile is ignored rather than refusing the photo.
    """
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            description = ImageCms.getProfileDescription(source) or ""
            if not description.strip().lower().startswith("srgb"):
                converted = ImageCms.profileToProfile(
                    img, source, _srgb_profile(), outputMode="RGB"
                )
                if converted is not None:
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return img if img.mode == "RGB" else img.convert("RGB")
