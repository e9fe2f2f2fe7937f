"""Reads of the calendar feeds: a feed by its secret token, and the bookings it lists."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bookings.models import Booking
from apps.notifications.feeds.errors import CalendarFeedNotFound
from apps.notifications.models import CalendarFeed
from apps.resources.models import Resource


def calendar_feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_by_token(*, token: str) -> CalendarFeed:
    feed = (
        CalendarFeed.objects.select_related("resource__location")
        .filter(token_hash=calendar_feed_token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if feed is None:
        raise CalendarFeedNotFound(_("No such calendar feed."))
    return feed


def resource_feed_bookings(
    *, resource: Resource, now: datetime | None = None, past_days: int = 30
) -> QuerySet[Booking]:
    """Confirmed bookings of the resource from `past_days` ago on."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(
            resource=resource,
            status=Booking.Status.CONFIRMED,
            ends_at__gte=now - timedelta(days=past_days),
        )
        .select_related("service", "customer", "resource__location")
        .order_by("starts_at")
    )
