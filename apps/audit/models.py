"""Support access: every request a platform staff member makes in an admin site, kept in
the schema it looked at (a tenant's, or `public` for the platform admin).

Rows are append-only: the database refuses UPDATE and DELETE (migrations 0002, 0003), so
the trail cannot be edited from the admin it records."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7


class SupportAccess(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # The global user; no constraint, so the trail outlives the account.
    user_id = models.UUIDField()
    user_email = models.EmailField()
    site = models.CharField(max_length=32)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    # Why the agent looked, as they typed it: asked once per session before a tenant's
    # admin opens, and for every cross-tenant look-up of the platform admin.
    reason = models.TextField(blank=True, default="", db_default="")
    # What a look-up asked and found, never in clear when it is personal data (an
    # email address is kept as its lookup hash and a masked form): {"lookup": kind, …}.
    details = models.JSONField(blank=True, default=dict, db_default={})
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "support accesses"
        indexes = [models.Index(fields=["user_id", "created_at"], name="support_access_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_email} {self.method} {self.path}"
