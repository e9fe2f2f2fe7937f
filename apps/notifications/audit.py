"""Model history (django-auditlog) of the business's notification settings, webhook
endpoints and staff calendar feeds. Secrets (a webhook's signing secrets, a feed's token
hash) never enter the history, nor does a webhook's delivery bookkeeping, which each
delivery writes (an endpoint disabled for failing is recorded: `disabled_at`)."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.notifications.models import CalendarFeed, NotificationPreference
from apps.notifications.webhooks.models import WebhookEndpoint

WEBHOOK_UNAUDITED_FIELDS = [
    "secret_encrypted",
    "previous_secret_encrypted",
    "failure_streak",
    "failing_since",
    "last_success_at",
    "last_failure_at",
]


def audit_register() -> None:
    """Called from NotificationsConfig.ready(); registering twice is harmless."""
    registrations: list[tuple[type, dict[str, list[str]]]] = [
        (NotificationPreference, {}),
        (WebhookEndpoint, {"exclude_fields": WEBHOOK_UNAUDITED_FIELDS}),
        (CalendarFeed, {"exclude_fields": ["token_hash"]}),
    ]
    for model, options in registrations:
        if not auditlog.contains(model):
            auditlog.register(model, **options)
