"""The dashboard's directory listing screens (managers and up)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from apps.accounts.models import Tenant
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.models import ListingProfile, ResourceListing
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
