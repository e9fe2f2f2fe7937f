"""What the directory does when the apps below it change something: a listed business's
index rows are rebuilt (debounced) when its catalogue, its slots or its policy change.
Unlisted businesses (most) write nothing: one indexed read decides."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.accounts.signals import tenant_settings_changed
from apps.bookings import signals as booking_signals
from apps.core.tenancy import current_schema
from apps.directory.models import ListingProfile
from apps.directory.refresh import directory_refresh_request
from apps.resources.models import Location, Resource, Service
from apps.resources.signals import schedule_changed


def _listed_business_changed(reason: str) -> None:
    if current_schema() == "public":
        return
    if not ListingProfile.objects.filter(is_listed=True).exists():
        return
    directory_refresh_request(tenant_id=tenant_current().pk, reason=reason, debounce=True)


def slots_changed(**_: Any) -> None:
    _listed_business_changed("slots")


def catalogue_changed(**_: Any) -> None:
    _listed_business_changed("catalogue")


def policy_changed(*, tenant: Tenant, **_: Any) -> None:
    # Sent from the tenant's schema (its settings page): name, minimum notice.
    _listed_business_changed("policy")


def connect() -> None:
    # A booking taking or giving back a slot moves the next free start. A hold is left
    # out: it is short, and its end is `booking_expired` or `booking_confirmed`.
    for signal in (
        booking_signals.booking_confirmed,
        booking_signals.booking_cancelled,
        booking_signals.booking_rescheduled,
        booking_signals.booking_expired,
    ):
        signal.connect(slots_changed, dispatch_uid=f"directory.slots.{id(signal)}")
    schedule_changed.connect(slots_changed, dispatch_uid="directory.schedule_changed")
    for model in (Location, Resource, Service):
        post_save.connect(catalogue_changed, sender=model, dispatch_uid=f"directory.{model}.save")
        post_delete.connect(
            catalogue_changed, sender=model, dispatch_uid=f"directory.{model}.delete"
        )
    m2m_changed.connect(
        catalogue_changed, sender=Service.resources.through, dispatch_uid="directory.links"
    )
    tenant_settings_changed.connect(policy_changed, dispatch_uid="directory.policy")
