"""Writes of the calendar feeds: creating one (its URL is shown once) and revoking it."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from django.utils import timezone

from apps.notifications.feeds.selectors import calendar_feed_token_hash
from apps.notifications.models import CalendarFeed
from apps.resources.models import Resource

logger = logging.getLogger(__name__)


def calendar_feed_create(
    *, resource: Resource, created_by_id: str = ""
) -> tuple[CalendarFeed, str]:
    """Returns the feed and its secret token; only the token's hash is stored, so the
    URL (apps.notifications.links.calendar_feed_url) can be shown this once."""
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        resource=resource,
        token_hash=calendar_feed_token_hash(token),
        token_hint=token[-6:],
        created_by_id=created_by_id,
    )
    logger.info("calendar_feed.created", extra={"feed_id": str(feed.id)})
    return feed, token


def calendar_feed_revoke(*, feed: CalendarFeed, now: datetime | None = None) -> CalendarFeed:
    if feed.revoked_at is None:
        feed.revoked_at = now or timezone.now()
        feed.save(update_fields=["revoked_at", "updated_at"])
        logger.info("calendar_feed.revoked", extra={"feed_id": str(feed.id)})
    return feed
