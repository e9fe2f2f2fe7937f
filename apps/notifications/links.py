"""Addresses the notifications app hands out: the tenant's host, the customer's manage
link (carrying the booking's access token) for messages, and a calendar feed's secret
URL."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from apps.accounts.models import Domain, Tenant
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking


def tenant_domain(tenant: Tenant) -> str:
    domain = (
        Domain.objects.filter(tenant=tenant)
        .order_by("-is_primary", "domain")
        .values_list("domain", flat=True)
        .first()
    )
    return domain or f"{tenant.slug}.{settings.BASE_DOMAIN}"


def tenant_base_url(tenant: Tenant) -> str:
    scheme = getattr(settings, "TENANT_URL_SCHEME", "https")
    port = str(getattr(settings, "TENANT_URL_PORT", "") or "")
    default_port = {"http": "80", "https": "443"}.get(scheme)
    host = tenant_domain(tenant)
    if port and port != default_port:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def booking_manage_url(booking: Booking, *, tenant: Tenant) -> str:
    """The customer's link to view, reschedule or cancel (served by the booking pages)."""
    token = booking_access_token(booking_id=booking.id, schema=tenant.schema_name)
    return f"{tenant_base_url(tenant)}/manage/{token}/"


def calendar_feed_url(*, token: str, tenant: Tenant) -> str:
    """The secret subscription URL of a resource's calendar feed."""
    return f"{tenant_base_url(tenant)}{reverse('calendar_feed', kwargs={'token': token})}"
