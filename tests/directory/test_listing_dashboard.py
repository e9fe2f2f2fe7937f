"""The dashboard's directory listing screens (managers and up)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import Client
from PIL import Image

from apps.accounts.models import Tenant
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.models import ListingProfile, ResourceListing
from apps.directory.services import PhotoUpload, listing_profile_update
from tests.dashboard.factories import ResourceFactory, ServiceFactory


@pytest.fixture
def manager(client_as: Callable[[str], Client]) -> Client:
    return client_as("manager")


def _jpeg_with_exif(size: tuple[int, int] = (2000, 1500)) -> io.BytesIO:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    out.seek(0)
    out.name = "me.jpg"
    return out


def test_manager_opts_in_and_the_business_is_indexed(
    manager: Client, acme: Tenant, django_capture_on_commit_callbacks
) -> None:
    # given
    person = ResourceFactory.create(name="Dr Who")
    ServiceFactory.create(name="Check-up", resources=[person])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            "/dashboard/listing/",
            {
                "is_listed": "on",
                "display_name": "Acme Health",
                "specializations": ["general-practice"],
                "languages": ["en", "fr"],
                "coordinates": "51.5074, -0.1278",
                "payment_modes": ["card", "cash"],
                "tags": "walk-in, Late Opening",
                "photo": _jpeg_with_exif(),
            },
        )
    # then: saved, and the refresh ran through the outbox on commit
    assert response.status_code == 302
    profile = ListingProfile.objects.get()
    assert profile.is_listed and profile.tags == ["walk-in", "late opening"]
    assert str(profile.latitude) == "51.507400"
    entry = DirectoryEntry.objects.get(tenant=acme)
    assert entry.name == "Dr Who" and entry.languages == ["en", "fr"]
    assert DirectoryRefresh.objects.get(tenant=acme).status == "done"
    # the photo was resized and re-encoded without its EXIF
    with default_storage.open(profile.photo) as stored:
        photo = Image.open(stored)
        assert max(photo.size) == 640
        assert photo.format == "JPEG"
        assert not photo.getexif()
    default_storage.delete(profile.photo)


def test_bad_listing_input_keeps_what_was_typed(manager: Client, acme: Tenant) -> None:
    response = manager.post(
        "/dashboard/listing/",
        {
            "is_listed": "on",
            "display_name": "Acme Health",
            "coordinates": "151.5, -0.1",
            "photo": io.BytesIO(b"not an image"),
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "The latitude must be between -90 and 90." in html
    assert 'value="Acme Health"' in html and 'value="151.5, -0.1"' in html
    assert not ListingProfile.objects.exists()


def test_a_file_that_is_not_an_image_is_refused(manager: Client, acme: Tenant) -> None:
    upload = io.BytesIO(b"%PDF-1.4 not an image")
    upload.name = "me.jpg"
    response = manager.post("/dashboard/listing/", {"display_name": "X", "photo": upload})
    assert response.status_code == 400
    assert "Choose a JPEG, PNG, WebP or GIF image." in response.content.decode()


def _png_header(width: int, height: int) -> io.BytesIO:
    """A PNG that claims `width` by `height` pixels and holds almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    out = io.BytesIO(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    out.name = "huge.png"
    return out


def test_a_photo_claiming_too_many_pixels_is_refused_before_decoding(
    manager: Client, acme: Tenant
) -> None:
    # 6,000 by 5,000: 30 megapixels, in a file of a few dozen bytes
    response = manager.post(
        "/dashboard/listing/", {"display_name": "X", "photo": _png_header(6000, 5000)}
    )
    assert response.status_code == 400
    assert "The photo has too many pixels." in response.content.decode()


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "GIF", "WEBP"])
def test_a_truncated_photo_is_refused(manager: Client, acme: Tenant, kind: str) -> None:
    whole = io.BytesIO()
    Image.effect_noise((300, 200), 80).convert("RGB").save(whole, format=kind)
    for cut in (len(whole.getvalue()) // 2, 60, 30):
        upload = io.BytesIO(whole.getvalue()[:cut])
        upload.name = f"cut.{kind.lower()}"
        response = manager.post("/dashboard/listing/", {"display_name": "X", "photo": upload})
        assert response.status_code == 400, (kind, cut)
        assert "Choose a JPEG, PNG, WebP or GIF image." in response.content.decode()
    assert not ListingProfile.objects.exists()


def test_a_photo_is_stored_only_when_the_listing_commits(
    acme: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    def stored() -> set[str]:
        folder = f"directory/{acme.schema_name}"
        return set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()

    before = stored()

    # when: the listing's transaction rolls back after the photo was taken
    def save_then_fail() -> None:
        with transaction.atomic():
            listing_profile_update(
                data={"display_name": "X"}, photo=PhotoUpload(file=_jpeg_with_exif(), size=1000)
            )
            raise RuntimeError("the request failed later")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        save_then_fail()
    # then: no file was written
    assert stored() == before
    # and when it commits, the file is there
    with django_capture_on_commit_callbacks(execute=True):
        profile = listing_profile_update(
            data={"display_name": "X"}, photo=PhotoUpload(file=_jpeg_with_exif(), size=1000)
        )
    assert default_storage.exists(profile.photo)
    default_storage.delete(profile.photo)


def test_person_listing_opts_one_person_out(manager: Client, acme: Tenant) -> None:
    person = ResourceFactory.create(name="Dr Who")
    response = manager.post(f"/dashboard/listing/{person.pk}/", {"display_name": "The Doctor"})
    assert response.status_code == 302
    listing = ResourceListing.objects.get(resource=person)
    assert listing.display_name == "The Doctor" and not listing.is_listed


def test_frontdesk_and_scheduler_cannot_open_the_listing(
    client_as: Callable[[str], Client], acme: Tenant
) -> None:
    for role in ("frontdesk", "scheduler"):
        assert client_as(role).get("/dashboard/listing/").status_code == 403
