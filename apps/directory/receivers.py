"""What the directory does when the apps below it change something: a listed business's
index rows are rebuilt (debounced) when its catalogue, its slots or its policy change.
Unlisted businesses (most) write nothing: one indexed read decides."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.accounts.signals import tenant_settings_changed, tenant_status_changed, tenant_went_live
from apps.bookings import signals as booking_signals
from apps.calendars.signals import slots_materialized
from apps.core.tenancy import current_schema
from apps.directory.indexing import SERVING_STATUSES
from apps.directory.models import ListingProfile
from apps.directory.refresh import directory_refresh_request
from apps.resources.models import Location, Resource, Service


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


def serving_again(*, tenant: Tenant, from_status: str, to_status: str, **_: Any) -> None:
    # A business that takes bookings again (reactivated, paid) gets its rows back: a
    # suspension kept them out of searches, and the repair leaves them alone meanwhile.
    # Sent from the public schema; the rebuild reads whether it is listed.
    if to_status in SERVING_STATUSES and from_status not in SERVING_STATUSES:
        directory_refresh_request(tenant_id=tenant.pk, reason="serving", debounce=False)


def went_live(*, tenant: Tenant, **_: Any) -> None:
    # A listing saved before the business went live waited for this.
    directory_refresh_request(tenant_id=tenant.pk, reason="live", debounce=False)


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
    # A schedule change reaches slots through materialization (a task after commit):
    # the refresh follows the slots it created or removed, not the change itself.
    slots_materialized.connect(slots_changed, dispatch_uid="directory.slots_materialized")
    for model in (Location, Resource, Service):
        post_save.connect(catalogue_changed, sender=model, dispatch_uid=f"directory.{model}.save")
        post_delete.connect(
            catalogue_changed, sender=model, dispatch_uid=f"directory.{model}.delete"
        )
    m2m_changed.connect(
        catalogue_changed, sender=Service.resources.through, dispatch_uid="directory.links"
    )
    tenant_settings_changed.connect(policy_changed, dispatch_uid="directory.policy")
    tenant_status_changed.connect(serving_again, dispatch_uid="directory.serving_again")
    tenant_went_live.connect(went_live, dispatch_uid="directory.went_live")
