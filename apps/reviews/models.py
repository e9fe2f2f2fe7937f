"""A customer's review of one completed booking (tenant schema).

The customer's words (`rating`, `comment`) are theirs: only they change them, through
their link, until `editable_until` (14 days after writing); erasing the customer removes
the comment. The business's `reply` is written once. A database trigger (migrations 0002,
0003) holds all three rules whatever code runs, and keeps what a review is of and whose
it is. Hiding (support) keeps the words and records
who, when and why; hidden reviews leave the averages and the public pages.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.bookings.models import Booking
from apps.core.ids import uuid7
from apps.resources.models import Resource, Service

RATING_MIN = 1
RATING_MAX = 5
COMMENT_MAX_LENGTH = 2000
REPLY_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 500


class Review(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # One review per booking: the unique key of the one-to-one.
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="review")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="reviews")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=COMMENT_MAX_LENGTH)
    # What the public sees of the author: a first name and an initial ("Ada L."), taken
    # when the review is written; "" once the customer is erased.
    author_name = models.CharField(max_length=64, blank=True)
    # The month of the visit (first day, the location's calendar): shown, not the day.
    visit_month = models.DateField()
    editable_until = models.DateTimeField()
    reply = models.TextField(blank=True, max_length=REPLY_MAX_LENGTH)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reported_at = models.DateTimeField(null=True, blank=True)
    report_reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    # Why support hid it (or, once shown again, why it was shown again): kept.
    hidden_reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX),
                name="review_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(reply="") | Q(replied_at__isnull=False),
                name="review_reply_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["resource", "created_at"], name="review_resource_latest"),
            models.Index(fields=["created_at"], name="review_latest"),
        ]

    def __str__(self) -> str:
        return f"review {self.pk}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None
