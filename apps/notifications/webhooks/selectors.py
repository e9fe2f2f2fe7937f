"""Reads of the webhooks capability (the current tenant's schema)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.accounts.models import Membership, Tenant
from apps.bookings import pii
from apps.notifications.webhooks.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from apps.notifications.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


def _uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("created_at", "id")


def webhook_endpoint_get(*, endpoint_id: UUID | str) -> WebhookEndpoint:
    pk = _uuid(endpoint_id)
    endpoint = WebhookEndpoint.objects.filter(pk=pk).first() if pk else None
    if endpoint is None:
        raise WebhookEndpointNotFound(_("There is no such webhook endpoint."))
    return endpoint


def webhook_delivery_list(
    *,
    endpoint_id: UUID | None = None,
    status: str | None = None,
    event_type: str | None = None,
    event_id: UUID | None = None,
    booking_id: UUID | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[WebhookDelivery]:
    """Newest first."""
    deliveries = WebhookDelivery.objects.select_related("event", "endpoint").order_by(
        "-created_at", "-id"
    )
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if status is not None:
        deliveries = deliveries.filter(status=status)
    if event_type is not None:
        deliveries = deliveries.filter(event__type=event_type)
    if event_id is not None:
        deliveries = deliveries.filter(event_id=event_id)
    if booking_id is not None:
        deliveries = deliveries.filter(event__booking_id=booking_id)
    if created_from is not None:
        deliveries = deliveries.filter(created_at__gte=created_from)
    if created_before is not None:
        deliveries = deliveries.filter(created_at__lt=created_before)
    return deliveries


def webhook_delivery_get(*, delivery_id: UUID | str) -> WebhookDelivery:
    pk = _uuid(delivery_id)
    delivery = (
        WebhookDelivery.objects.select_related("event", "endpoint").filter(pk=pk).first()
        if pk
        else None
    )
    if delivery is None:
        raise WebhookDeliveryNotFound(_("There is no such webhook delivery."))
    return delivery


def webhook_delivery_attempts(*, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))


def webhook_event_body(*, event: WebhookEvent) -> str:
    """The exact JSON text the event is sent as."""
    return pii.pii_decrypt(event.body_encrypted)


def webhook_event_payload(*, event: WebhookEvent) -> dict[str, Any]:
    """The event body as data; an empty object if it cannot be read any more (the
    encryption key was rotated since)."""
    try:
        payload: dict[str, Any] = json.loads(webhook_event_body(event=event))
    except (pii.InvalidToken, ValueError):
        return {}
    return payload


def tenant_admin_emails(*, tenant: Tenant) -> list[tuple[str, str]]:
    """Who hears about a disabled endpoint: the business's admins with a working login,
    as (email, the language of their own dashboard, "" for none), by email."""
    return sorted(
        Membership.objects.filter(
            tenant=tenant, role=Membership.Role.ADMIN, user__is_active=True
        ).values_list("user__email", "user__language")
    )
