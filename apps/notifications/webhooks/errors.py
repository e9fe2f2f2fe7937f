"""Errors of the webhooks capability (codes are stable; the edges translate them)."""

from __future__ import annotations

from apps.core.errors import DomainError, NotFound


class WebhookEndpointNotFound(NotFound):
    pass


class WebhookDeliveryNotFound(NotFound):
    pass


class WebhookEndpointLimitReached(DomainError):
    code = "WEBHOOK_ENDPOINT_LIMIT"
    http_status = 409


class WebhookEndpointDisabled(DomainError):
    """A replay to an endpoint that is disabled: it would be cancelled unsent."""

    code = "WEBHOOK_ENDPOINT_DISABLED"
    http_status = 409


class WebhookDeliveryInFlight(DomainError):
    """A replay of a delivery a worker is sending right now."""

    code = "WEBHOOK_DELIVERY_IN_FLIGHT"
    http_status = 409


class WebhookAddressRefused(Exception):
    """The endpoint's host resolves to an address webhooks may not reach (SSRF guard)."""
