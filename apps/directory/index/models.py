"""The directory's search index and its refresh outbox (public schema).

`DirectoryEntry` is one listed person or asset of one business, denormalized for search:
its text as a weighted `tsvector` (`document`: name A; specializations, their synonyms
and services B; tags and the business's name C; description D; all unaccented) and as
plain unaccented text for trigram similarity (`search_text`), its place as a point on
the sphere (`earth_point`, a `cube` of its Earth-centred coordinates in metres), and
what filters and sorts read (languages, specializations, rating, price range, next free
start, the local days with a free start). Rows are written only by
`apps/directory/indexing.py`, whole business at a time; `document`, `search_text` and
`earth_point` are computed by PostgreSQL in the same INSERT.

`DirectoryRefresh` is the outbox of those writes: one pending row per business at most
(a partial unique index), so changes that come in a burst coalesce into one rebuild.
The columns are the ones the outbox engine (apps/notifications/outbox.py) reads.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from apps.accounts.models import Tenant
from apps.core.ids import uuid7


class EarthPointField(models.Field):
    """A point as PostgreSQL's `cube` (x, y, z in metres from the Earth's centre).
    Written by SQL only (apps/directory/indexing.py); never read into Python."""

    description = "A point on the sphere as a cube"

    def db_type(self, connection: Any) -> str:
        return "cube"


class DirectoryEntry(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ASSET = "asset", "Asset"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    resource_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(max_length=120)
    business_name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    specializations = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    languages = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    address = models.CharField(max_length=300, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    earth_point = EarthPointField(null=True, blank=True, editable=False)
    photo_url = models.CharField(max_length=500, blank=True)
    payment_modes = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    price_min = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    price_max = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # [{"id", "name", "price", "currency", "url"}]: each links to the booking page with
    # this person or asset preselected.
    services = models.JSONField(default=list, blank=True)
    booking_url = models.CharField(max_length=500)
    # Fed by customers' reviews (apps/directory/ratings.py); 0 until those exist.
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    rating_count = models.PositiveIntegerField(default=0)
    # The latest shown reviews, newest first (apps/reviews/selectors.py, `review_snippet`).
    latest_reviews = models.JSONField(default=list, blank=True)
    next_free_at = models.DateTimeField(null=True, blank=True)
    # The IANA zone of the person's or asset's location: free times show in it.
    time_zone = models.CharField(max_length=64, blank=True)
    # Local days (the location's zone) with at least one free start, for the next
    # DIRECTORY_FREE_DAYS_AHEAD days: what `available_from`/`available_to` filter on.
    free_days = ArrayField(models.DateField(), default=list, blank=True)
    document = SearchVectorField(null=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "resource_id"], name="directory_entry_unique_resource"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="directory_entry_coordinates_valid",
            ),
        ]
        indexes = [
            GinIndex(fields=["document"], name="directory_entry_document"),
            GinIndex(
                fields=["search_text"],
                name="directory_entry_trigram",
                opclasses=["gin_trgm_ops"],
            ),
            GistIndex(fields=["earth_point"], name="directory_entry_earth_point"),
            GinIndex(fields=["specializations"], name="directory_entry_specs"),
            GinIndex(fields=["languages"], name="directory_entry_languages"),
            GinIndex(fields=["free_days"], name="directory_entry_free_days"),
            models.Index(fields=["next_free_at"], name="directory_entry_next_free"),
            models.Index(fields=["refreshed_at"], name="directory_entry_refreshed"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.business_name})"


class DirectoryRefresh(models.Model):
    """Rebuild one business's index rows: the directory's outbox row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A burst of changes is one rebuild: the enqueue is an upsert on this.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(status="pending"),
                name="directory_refresh_one_pending",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="directory_refresh_due",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="directory_refresh_sending",
            ),
        ]

    def __str__(self) -> str:
        return f"refresh {self.tenant_id} ({self.status})"
