"""Listing photos: an upload is decoded by Pillow, turned upright, cut down to at most
PHOTO_MAX_SIDE pixels a side and re-encoded as JPEG. Re-encoding drops whatever the file
carried besides pixels (EXIF with its GPS position and camera serial, comments, ICC
tricks), and a file that is not an image Pillow reads is refused. Its pixel count is
checked from the header before anything is decoded, and a JPEG is decoded at a reduced
scale (`draft`). Stored through Django's default storage (local files under MEDIA_ROOT
in `make run`) once the listing's transaction commits: a rolled-back save leaves no
file behind."""

from __future__ import annotations

import io
import struct
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.core.errors import FieldError, ValidationFailed
from apps.core.ids import uuid7

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_SIDE = 640
# Decompression bombs: a small file that expands to a huge bitmap is refused.
PHOTO_MAX_PIXELS = 24_000_000
# Whatever Pillow raises for a file it cannot decode (plugins differ).
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    SyntaxError,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    IndexError,
    TypeError,
)
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(str(_("The photo could not be used.")), [FieldError(field, message)])


def photo_store(*, upload: IO[bytes], size: int, prefix: str, field: str = "photo") -> str:
    """The storage name of the re-encoded photo, written when the surrounding
    transaction commits; ValidationFailed naming `field` for a file that is too big or
    not an image."""
    if size > PHOTO_MAX_BYTES:
        raise _refused(field, str(_("Choose a photo of at most 5 MB.")))
    try:
        with Image.open(upload, formats=_FORMATS) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise _refused(field, str(_("The photo has too many pixels.")))
            if image.format == "JPEG":
                # Decodes at 1/2, 1/4 or 1/8 scale, still at least twice the final size.
                image.draft("RGB", (PHOTO_MAX_SIDE * 2, PHOTO_MAX_SIDE * 2))
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            picture = upright.convert("RGB")
    except ValidationFailed:
        raise
    except _DECODE_ERRORS as exc:
        raise _refused(field, str(_("Choose a JPEG, PNG, WebP or GIF image."))) from exc
    picture.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True)
    name = f"directory/{prefix}/{uuid7()}.jpg"
    content = out.getvalue()
    transaction.on_commit(lambda: default_storage.save(name, ContentFile(content)))
    return name


def photo_delete(name: str) -> None:
    if name:
        default_storage.delete(name)


def photo_url(name: str) -> str:
    """The photo's address, absolute (the index is read by other sites through the
    API): a storage URL that is a path is on the root domain."""
    if not name:
        return ""
    url = default_storage.url(name)
    if url.startswith("/"):
        scheme = getattr(settings, "TENANT_URL_SCHEME", "https")
        port = str(getattr(settings, "TENANT_URL_PORT", "") or "")
        host = settings.BASE_DOMAIN
        if port and port != {"http": "80", "https": "443"}.get(scheme):
            host = f"{host}:{port}"
        url = f"{scheme}://{host}{url}"
    return url
