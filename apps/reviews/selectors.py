"""Reads of reviews: the ratings the directory indexes (averages and counts computed by
PostgreSQL, the latest shown reviews by a window function: two statements for any
number of people), a booking's review, and the lists the pages show."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.core.errors import NotFound
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import SERVING_STATUSES
from apps.directory.ratings import RatingSummary
from apps.reviews.models import Review

LATEST_IN_INDEX = 3
SNIPPET_LENGTH = 280


def reviews_visible() -> QuerySet[Review]:
    """What the public sees: not hidden by support."""
    return Review.objects.filter(hidden_at__isnull=True)


def review_snippet(review: Review) -> dict[str, Any]:
    """A shown review as JSON (the index's copy and the API's item). Every review comes
    from a completed booking: `verified` is always true, and says so."""
    comment = review.comment
    if len(comment) > SNIPPET_LENGTH:
        comment = comment[: SNIPPET_LENGTH - 1].rstrip() + "…"
    return {
        "id": str(review.pk),
        "rating": review.rating,
        "comment": comment,
        "author": review.author_name,
        "service": review.service.name,
        "month": review.visit_month.strftime("%Y-%m"),
        "verified": True,
        "reply": review.reply,
        "created_at": review.created_at.isoformat(),
    }


def review_ratings_for(resource_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, RatingSummary]:
    """The directory's ratings provider: each resource's average, count and latest
    shown reviews."""
    ids = list(resource_ids)
    if not ids:
        return {}
    visible = reviews_visible().filter(resource_id__in=ids)
    totals = visible.values("resource_id").annotate(average=Avg("rating"), count=Count("id"))
    latest: dict[uuid.UUID, list[dict[str, Any]]] = {}
    ranked = (
        visible.select_related("service")
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=F("resource_id"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(place__lte=LATEST_IN_INDEX)
        .order_by("resource_id", "place")
    )
    for review in ranked:
        latest.setdefault(review.resource_id, []).append(review_snippet(review))
    return {
        row["resource_id"]: RatingSummary(
            average=Decimal(row["average"]).quantize(Decimal("0.01")),
            count=row["count"],
            latest=tuple(latest.get(row["resource_id"], [])),
        )
        for row in totals
    }


@dataclass(frozen=True)
class BusinessRating:
    average: Decimal
    count: int


def business_rating(*, resource_id: uuid.UUID | None = None) -> BusinessRating:
    """The average and count of the business's shown reviews (or one resource's)."""
    visible = reviews_visible()
    if resource_id is not None:
        visible = visible.filter(resource_id=resource_id)
    found = visible.aggregate(average=Avg("rating"), count=Count("id"))
    average = Decimal(found["average"] or 0).quantize(Decimal("0.1"))
    return BusinessRating(average=average, count=found["count"])


def review_for_booking(*, booking_id: uuid.UUID) -> Review | None:
    return (
        Review.objects.select_related("service", "resource").filter(booking_id=booking_id).first()
    )


def reviews_public(*, resource_id: uuid.UUID | None = None) -> QuerySet[Review]:
    found = reviews_visible().select_related("service", "resource")
    if resource_id is not None:
        found = found.filter(resource_id=resource_id)
    return found.order_by("-created_at", "-id")


def reviews_for_staff(*, reported_only: bool = False) -> QuerySet[Review]:
    found = Review.objects.select_related("service", "resource")
    if reported_only:
        found = found.filter(reported_at__isnull=False)
    return found.order_by("-created_at", "-id")


def review_get(*, review_id: uuid.UUID | str) -> Review:
    try:
        key = uuid.UUID(str(review_id))
    except ValueError:
        raise NotFound(_("No such review.")) from None
    review = Review.objects.select_related("service", "resource").filter(pk=key).first()
    if review is None:
        raise NotFound(_("No such review."))
    return review


def directory_provider_tenant(*, provider_id: uuid.UUID) -> tuple[Tenant, uuid.UUID]:
    """The business and resource of a provider of the public directory (an index row of
    a business that is searchable now), or NotFound. Its reviews are then read in that
    business's schema: one schema for one provider, never a scan of them all."""
    entry = (
        DirectoryEntry.objects.select_related("tenant")
        .filter(
            pk=provider_id,
            tenant__is_ready=True,
            tenant__live_at__isnull=False,
            tenant__status__in=list(SERVING_STATUSES),
        )
        .only("resource_id", "tenant")
        .first()
    )
    if entry is None:
        raise NotFound(_("No such provider."))
    return entry.tenant, entry.resource_id
