"""What a business says about itself, and about each bookable person or asset, in the
public directory (tenant schema). Nothing here is public until the business opts in
(`ListingProfile.is_listed`); then each active resource is listed unless its own
`ResourceListing` says otherwise, and an empty field of a resource's listing takes the
business's value. Specializations are slugs of the curated taxonomy
(apps/directory/taxonomy.py), languages ISO 639-1 codes, payment modes `PaymentMode`.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.ids import uuid7
from apps.resources.models import Resource


class PaymentMode(models.TextChoices):
    ONLINE = "online", _("Online when booking")
    CARD = "card", _("Card at the venue")
    CASH = "cash", _("Cash at the venue")
    INVOICE = "invoice", _("Invoice")
    INSURANCE = "insurance", _("Health insurance")


class ListingFields(models.Model):
    display_name = models.CharField(max_length=120, blank=True)
    description = models.TextField(max_length=500, blank=True)
    specializations = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    languages = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    address = models.CharField(max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # A name in the default storage (apps/directory/photos.py), or "".
    photo = models.CharField(max_length=200, blank=True)
    payment_modes = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ListingProfile(ListingFields):
    """The business's own listing: one row per schema (`singleton`)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    singleton = models.BooleanField(default=True, editable=False)
    is_listed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["singleton"], name="listing_profile_singleton"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="listing_profile_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or "listing"


class ResourceListing(ListingFields):
    """One person's or asset's listing; blank fields take the business's values."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="listing")
    is_listed = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="resource_listing_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or str(self.resource_id)
