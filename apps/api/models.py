"""Credentials integrators use to call a business's API (tenant schema)."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7


class ApiKey(models.Model):
    """A bearer key of one business. The secret is shown once at creation; only its
    SHA-256 is kept. `prefix` is the key's public first part: it is how the key is found
    on each request and how people tell their keys apart in lists.

    Keys live in the tenant's schema, so a key sent to another business's domain is
    simply not found there.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        FRONTDESK = "frontdesk", "Front desk"
        READONLY = "readonly", "Read only"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=Role.choices)
    # The staff user who created it (a global user id), empty when made by a command.
    created_by_id = models.CharField(max_length=64, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.role})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
