"""Writes of a business's directory listing (tenant schema).

Each function validates its whole input first and raises `ValidationFailed` listing
every problem with its field; nothing is written unless all of it is valid. Every
saved change asks for the business's index rows to be rebuilt at once
(`refresh.directory_refresh_request`, in the same transaction); opting out (the
business, or one person) also takes the rows out of the index in that transaction,
so they are gone from search when the change commits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.selectors import tenant_current
from apps.directory.indexing import directory_tenant_lock
from apps.directory.models import ListingFields, ListingProfile, PaymentMode, ResourceListing
from apps.directory.photos import photo_delete, photo_store
from apps.directory.refresh import directory_entries_withdraw, directory_refresh_request
from apps.directory.taxonomy import LANGUAGES, SPECIALIZATION_BY_SLUG
from apps.resources import field_checks as check
from apps.resources.models import Resource

logger = logging.getLogger(__name__)

MAX_SPECIALIZATIONS = 8
MAX_TAGS = 15
MAX_LANGUAGES = 12
TAG_MAX_LENGTH = 40
_COORDINATE_STEP = Decimal("0.000001")
_COORDINATES = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class PhotoUpload:
    """An uploaded file as the service needs it (a Django UploadedFile fits)."""

    file: IO[bytes]
    size: int


def coordinates_parse(
    problems: check.Problems, field: str, value: Any
) -> tuple[Decimal | None, Decimal | None]:
    """ "51.5074, -0.1278" (as pasted from a map) → latitude, longitude; "" → none."""
    if value in (None, ""):
        return None, None
    match = _COORDINATES.match(str(value)) if isinstance(value, str) else None
    if match is None:
        problems.add(
            field, _("Enter latitude and longitude as two numbers, e.g. 51.5074, -0.1278.")
        )
        return None, None
    try:
        latitude, longitude = (Decimal(part) for part in match.groups())
    except InvalidOperation:
        problems.add(field, _("Enter latitude and longitude as two numbers."))
        return None, None
    if not -90 <= latitude <= 90:
        problems.add(field, _("The latitude must be between -90 and 90."))
    if not -180 <= longitude <= 180:
        problems.add(field, _("The longitude must be between -180 and 180."))
    if problems.has(field):
        return None, None
    return (
        latitude.quantize(_COORDINATE_STEP, rounding=ROUND_HALF_UP),
        longitude.quantize(_COORDINATE_STEP, rounding=ROUND_HALF_UP),
    )


def _codes(
    problems: check.Problems,
    field: str,
    value: Any,
    *,
    known: Mapping[str, Any],
    most: int,
) -> list[str] | None:
    value = check.as_list(value if value is not None else [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.add(field, _("Choose from the list."))
        return None
    unknown = [item for item in value if item not in known]
    if unknown:
        problems.add(field, _("Unknown: %(codes)s.") % {"codes": ", ".join(unknown[:5])})
        return None
    if len(set(value)) > most:
        problems.add(field, _("Choose at most %(count)s.") % {"count": most})
        return None
    return list(dict.fromkeys(value))


def _tags(problems: check.Problems, field: str, value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = value.split(",")
    value = check.as_list(value if value is not None else [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.add(field, _("Enter tags separated by commas."))
        return None
    tags = list(dict.fromkeys(tag.strip().lower() for tag in value if tag.strip()))
    if len(tags) > MAX_TAGS:
        problems.add(field, _("Enter at most %(count)s tags.") % {"count": MAX_TAGS})
        return None
    if any(len(tag) > TAG_MAX_LENGTH for tag in tags):
        problems.add(
            field, _("Keep each tag under %(count)s characters.") % {"count": TAG_MAX_LENGTH + 1}
        )
        return None
    return tags


def _listing_clean(data: Mapping[str, Any]) -> tuple[dict[str, Any], check.Problems]:
    problems = check.Problems()
    latitude, longitude = coordinates_parse(problems, "coordinates", data.get("coordinates"))
    cleaned = {
        "is_listed": bool(data.get("is_listed")),
        "display_name": check.text(
            problems, "display_name", data.get("display_name", ""), max_length=120, required=False
        ),
        "description": check.text(
            problems, "description", data.get("description", ""), max_length=500, required=False
        ),
        "address": check.text(
            problems, "address", data.get("address", ""), max_length=300, required=False
        ),
        "specializations": _codes(
            problems,
            "specializations",
            data.get("specializations"),
            known=SPECIALIZATION_BY_SLUG,
            most=MAX_SPECIALIZATIONS,
        ),
        "languages": _codes(
            problems, "languages", data.get("languages"), known=LANGUAGES, most=MAX_LANGUAGES
        ),
        "payment_modes": _codes(
            problems,
            "payment_modes",
            data.get("payment_modes"),
            known={mode.value: mode for mode in PaymentMode},
            most=len(PaymentMode),
        ),
        "tags": _tags(problems, "tags", data.get("tags")),
        "latitude": latitude,
        "longitude": longitude,
    }
    return cleaned, problems


def _apply(
    listing: ListingFields,
    cleaned: dict[str, Any],
    *,
    photo: PhotoUpload | None,
    photo_remove: bool,
    prefix: str,
) -> str:
    """Sets the cleaned values (and the photo) on `listing`; returns the storage name
    of a photo it no longer uses ("" if none), to delete after commit."""
    for name, value in cleaned.items():
        setattr(listing, name, value)
    previous = listing.photo
    if photo is not None:
        listing.photo = photo_store(upload=photo.file, size=photo.size, prefix=prefix)
    elif photo_remove:
        listing.photo = ""
    return previous if previous and previous != listing.photo else ""


def listing_profile_update(
    *,
    data: Mapping[str, Any],
    photo: PhotoUpload | None = None,
    photo_remove: bool = False,
) -> ListingProfile:
    """Saves the business's listing (opting in or out with `is_listed`)."""
    cleaned, problems = _listing_clean(data)
    problems.raise_if_any(_("The listing could not be saved."))
    tenant = tenant_current()
    with transaction.atomic():
        directory_tenant_lock(tenant.pk)  # before the listing's row: the rebuild's order
        profile, _created = ListingProfile.objects.select_for_update().get_or_create(singleton=True)
        replaced = _apply(
            profile, cleaned, photo=photo, photo_remove=photo_remove, prefix=tenant.schema_name
        )
        profile.save()
        if not profile.is_listed:
            directory_entries_withdraw(tenant_id=tenant.pk)
        directory_refresh_request(tenant_id=tenant.pk, reason="listing", debounce=False)
        if replaced:
            transaction.on_commit(lambda: photo_delete(replaced))
    logger.info(
        "directory.listing_saved",
        extra={"tenant_id": str(tenant.pk), "listed": profile.is_listed},
    )
    return profile


def resource_listing_update(
    *,
    resource: Resource,
    data: Mapping[str, Any],
    photo: PhotoUpload | None = None,
    photo_remove: bool = False,
) -> ResourceListing:
    """Saves one person's or asset's listing; blank fields take the business's."""
    cleaned, problems = _listing_clean(data)
    problems.raise_if_any(_("The listing could not be saved."))
    tenant = tenant_current()
    with transaction.atomic():
        directory_tenant_lock(tenant.pk)  # before the listing's row: the rebuild's order
        listing, _created = ResourceListing.objects.select_for_update().get_or_create(
            resource=resource
        )
        replaced = _apply(
            listing, cleaned, photo=photo, photo_remove=photo_remove, prefix=tenant.schema_name
        )
        listing.save()
        if not listing.is_listed:
            directory_entries_withdraw(tenant_id=tenant.pk, resource_id=resource.pk)
        directory_refresh_request(tenant_id=tenant.pk, reason="listing", debounce=False)
        if replaced:
            transaction.on_commit(lambda: photo_delete(replaced))
    logger.info(
        "directory.resource_listing_saved",
        extra={"resource_id": str(resource.pk), "listed": listing.is_listed},
    )
    return listing
