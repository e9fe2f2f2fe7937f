"""Reactions of the accounts app to its own model changes: caches of tenant rows."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Domain, Tenant


@receiver(post_save, sender=Tenant, dispatch_uid="accounts.routes_forget_tenant_saved")
@receiver(post_delete, sender=Tenant, dispatch_uid="accounts.routes_forget_tenant_deleted")
@receiver(post_save, sender=Domain, dispatch_uid="accounts.routes_forget_domain_saved")
@receiver(post_delete, sender=Domain, dispatch_uid="accounts.routes_forget_domain_deleted")
def routes_forget(**_: Any) -> None:
    tenant_routes_forget()
