"""Model history (django-auditlog) of reviews: who replied, reported, hid or showed a
review again, and why. The customer's words and name are left out (like contact data):
the trail is kept seven years and cannot be edited, so it must not keep what erasing the
customer removes."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.reviews.models import Review


def audit_register() -> None:
    """Called from ReviewsConfig.ready(); registering twice is harmless."""
    if not auditlog.contains(Review):
        auditlog.register(Review, exclude_fields=["comment", "author_name", "reply"])
