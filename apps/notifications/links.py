"""Addresses the notifications app hands out: the customer's manage link (carrying the
booking's access token) for messages, and a calendar feed's secret
URL."""

from __future__ import annotations

from django.urls import reverse

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Tenant
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking


def booking_manage_url(booking: Booking, *, tenant: Tenant) -> str:
    """The customer's link to view, reschedule or cancel (served by the booking pages)."""
    token = booking_access_token(
        booking_id=booking.id, ends_at=booking.ends_at, schema=tenant.schema_name
    )
    return f"{tenant_base_url(tenant)}/manage/{token}/"


def calendar_feed_url(*, token: str, tenant: Tenant) -> str:
    """The secret subscription URL of a resource's calendar feed."""
    return f"{tenant_base_url(tenant)}{reverse('calendar_feed', kwargs={'token': token})}"
