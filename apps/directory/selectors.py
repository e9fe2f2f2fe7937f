"""Reads of a business's directory listing (tenant schema)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from apps.directory.index.models import DirectoryEntry
from apps.directory.models import ListingProfile, ResourceListing
from apps.resources.models import Resource


def listing_profile_get() -> ListingProfile:
    """The business's listing; an unsaved, unlisted one until it is first saved."""
    return ListingProfile.objects.filter(singleton=True).first() or ListingProfile()


def resource_listing_get(*, resource: Resource) -> ResourceListing:
    return ResourceListing.objects.filter(resource=resource).first() or ResourceListing(
        resource=resource
    )


@dataclass(frozen=True)
class ListedResource:
    resource: Resource
    listing: ResourceListing | None
    indexed: bool


def listed_resources(*, tenant_id: UUID) -> list[ListedResource]:
    """Every active resource with its listing (if any) and whether search shows it now."""
    listings = {listing.resource_id: listing for listing in ResourceListing.objects.all()}
    indexed = set(
        DirectoryEntry.objects.filter(tenant_id=tenant_id).values_list("resource_id", flat=True)
    )
    return [
        ListedResource(resource=r, listing=listings.get(r.pk), indexed=r.pk in indexed)
        for r in Resource.objects.filter(is_active=True).order_by("name", "pk")
    ]
