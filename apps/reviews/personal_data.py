"""A customer's reviews in their data export, and what erasing them does to those
reviews.

Erasing anonymises: the author's name goes, and so does the comment. The comment is the
customer's own free text about a visit (it may name them, their family or their health)
and cannot be told apart from the rest of what identifies them, so it is removed rather
than kept under no name; the rating stays, with the service and the month, because a
number from "a former customer" identifies nobody and keeps the business's average
honest. The business's reply, its abuse report and support's reason for hiding are
scrubbed of the customer's names and contacts. The
directory's copy (the latest reviews in the index) is rebuilt in the same transaction.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.utils import timezone

from apps.bookings.customer_data import Erasure
from apps.core.personal_data import PersonalDataSubject, SectionRows
from apps.reviews.models import Review
from apps.reviews.services import reviews_directory_refresh

logger = logging.getLogger(__name__)


def _instant(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def reviews_export(subject: PersonalDataSubject) -> SectionRows:
    """Every review of the customer's bookings, with the business's reply."""
    rows = (
        Review.objects.filter(booking_id__in=subject.booking_ids)
        .select_related("service", "resource")
        .order_by("created_at", "id")
    )
    return [
        {
            "id": str(row.pk),
            "booking_id": str(row.booking_id),
            "service": row.service.name,
            "resource": row.resource.name,
            "rating": row.rating,
            "comment": row.comment,
            "shown_as": row.author_name,
            "visit_month": row.visit_month.strftime("%Y-%m"),
            "created_at": _instant(row.created_at),
            "updated_at": _instant(row.updated_at),
            "editable_until": _instant(row.editable_until),
            "reply": row.reply,
            "replied_at": _instant(row.replied_at),
            "hidden": row.hidden_at is not None,
            "anonymised_at": _instant(row.anonymised_at),
        }
        for row in rows
    ]


def on_customer_erased(sender: Any, *, booking_ids: list[UUID], erasure: Erasure, **_: Any) -> None:
    """Runs in the erasure's transaction (bookings.signals.customer_erased)."""
    now = timezone.now()
    reviews = list(
        Review.objects.select_for_update()
        .filter(booking_id__in=booking_ids, anonymised_at__isnull=True)
        .order_by("pk")
    )
    for review in reviews:
        review.author_name = ""
        review.comment = ""
        review.reply = erasure.scrub_text(review.reply)
        review.anonymised_at = review.updated_at = now
        review.save(
            update_fields=["author_name", "comment", "reply", "anonymised_at", "updated_at"]
        )
        # Staff's own notes about the review may name the customer too. A queryset
        # update: through save() the model history would copy the old texts again.
        Review.objects.filter(pk=review.pk).update(
            report_reason=erasure.scrub_text(review.report_reason),
            hidden_reason=erasure.scrub_text(review.hidden_reason),
        )
    if reviews:
        reviews_directory_refresh()
        logger.info("reviews.anonymised", extra={"count": len(reviews)})
