"""Reactions of the api app to changes of its own rows: cached API keys."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.api.models import ApiKey
from apps.api.services import api_key_forget


@receiver(post_save, sender=ApiKey, dispatch_uid="api.forget_saved_key")
@receiver(post_delete, sender=ApiKey, dispatch_uid="api.forget_deleted_key")
def key_forget(*, instance: ApiKey, **_: Any) -> None:
    # Every change (revocation, role, deletion), from the services or the admin.
    api_key_forget(prefix=instance.prefix)
