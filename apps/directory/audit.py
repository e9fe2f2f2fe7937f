"""Model history (django-auditlog) of a business's directory listing: who listed or
unlisted the business or a person, and what they said. The public index rows are a
derived copy and are not audited."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.directory.models import ListingProfile, ResourceListing


def audit_register() -> None:
    """Called from DirectoryConfig.ready(); registering twice is harmless."""
    for model in (ListingProfile, ResourceListing):
        if not auditlog.contains(model):
            auditlog.register(model)
