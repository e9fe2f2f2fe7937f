"""Listing photos: an upload is decoded by Pillow, turned upright, cut down to at most
PHOTO_MAX_SIDE pixels a side and re-encoded as JPEG. Re-encoding drops whatever the file
carried besides pixels (EXIF with its GPS position and camera serial, comments, ICC
tricks), and a file that is not an image Pillow reads is refused. Stored through
Django's default storage (local files under MEDIA_ROOT in `make run`)."""

from __future__ import annotations

import io
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.core.errors import FieldError, ValidationFailed
from apps.core.ids import uuid7

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_SIDE = 640
# Decompression bombs: a small file that expands to a huge bitmap is refused.
PHOTO_MAX_PIXELS = 40_000_000
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(str(_("The photo could not be used.")), [FieldError(field, message)])


def photo_store(*, upload: IO[bytes], size: int, prefix: str, field: str = "photo") -> str:
    """The storage name of the re-encoded photo; ValidationFailed naming `field` for a
    file that is too big or not an image."""
    if size > PHOTO_MAX_BYTES:
        raise _refused(field, str(_("Choose a photo of at most 5 MB.")))
    try:
        with Image.open(upload, formats=_FORMATS) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise _refused(field, str(_("The photo has too many pixels.")))
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            picture = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _refused(field, str(_("Choose a JPEG, PNG, WebP or GIF image."))) from exc
    picture.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return default_storage.save(f"directory/{prefix}/{uuid7()}.jpg", ContentFile(out.getvalue()))


def photo_delete(name: str) -> None:
    if name:
        default_storage.delete(name)


def photo_url(name: str) -> str:
    return default_storage.url(name) if name else ""
