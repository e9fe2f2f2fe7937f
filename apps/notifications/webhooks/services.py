"""Writes of the webhooks capability: endpoints (create, change, rotate the secret,
disable, enable, delete), the events recorded for booking changes, test pings and replays.

`webhook_event_record` runs inside the booking's transaction (the receivers of the booking
domain events call it), so the event and its deliveries commit or roll back with the
booking change: that is the outbox. Sending happens in apps/notifications/webhooks/delivery.py
on the outbox engine (apps/notifications/outbox.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.selectors import tenant_current
from apps.bookings import pii
from apps.bookings.models import Booking
from apps.core.errors import FieldError, ValidationFailed
from apps.core.ids import uuid7
from apps.core.task_queue import task_enqueue
from apps.notifications.outbox import outbox_enqueue_on_commit
from apps.notifications.webhooks.errors import (
    WebhookDeliveryInFlight,
    WebhookEndpointDisabled,
    WebhookEndpointLimitReached,
    WebhookEndpointNotFound,
)
from apps.notifications.webhooks.models import (
    SUBSCRIBABLE_EVENT_TYPES,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)
from apps.notifications.webhooks.outbox_kind import WEBHOOK_OUTBOX
from apps.notifications.webhooks.payloads import PAYLOAD_VERSION, booking_snapshot, event_body
from apps.notifications.webhooks.selectors import webhook_delivery_get
from apps.notifications.webhooks.signing import webhook_secret_generate
from apps.notifications.webhooks.url_policy import webhook_url_clean

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
DESCRIPTION_MAX_LENGTH = 200
# After a rotation the old secret keeps signing (beside the new one) this long.
SECRET_ROTATION_GRACE = timedelta(hours=24)


def _events_clean(events: Iterable[str] | None) -> list[str]:
    if events is None:
        return list(SUBSCRIBABLE_EVENT_TYPES)
    chosen = [str(event) for event in events]
    unknown = sorted(set(chosen) - set(SUBSCRIBABLE_EVENT_TYPES))
    if unknown:
        raise ValidationFailed(
            _("The events are not valid."),
            [
                FieldError(
                    "events",
                    _("Unknown event %(events)s; choose from %(choices)s.")
                    % {
                        "events": ", ".join(unknown),
                        "choices": ", ".join(SUBSCRIBABLE_EVENT_TYPES),
                    },
                )
            ],
        )
    if not chosen:
        raise ValidationFailed(
            _("The events are not valid."), [FieldError("events", _("Choose at least one event."))]
        )
    # Stored in the canonical order, so equal subscriptions compare equal.
    return [event for event in SUBSCRIBABLE_EVENT_TYPES if event in chosen]


def _description_clean(description: str) -> str:
    text = " ".join((description or "").split())
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed(
            _("The description is too long."),
            [
                FieldError(
                    "description",
                    _("Keep it under %(count)s characters.")
                    % {"count": DESCRIPTION_MAX_LENGTH + 1},
                )
            ],
        )
    return text


def _collect(*checks: Any) -> dict[str, Any]:
    """Runs each (name, check) and raises one ValidationFailed listing every problem."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks:
        try:
            values[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.details)
    if errors:
        raise ValidationFailed(_("The webhook endpoint is not valid."), errors)
    return values


def webhook_endpoint_create(
    *,
    url: str,
    events: Sequence[str] | None = None,
    description: str = "",
    created_by: User | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its signing secret (returned this once). `events`
    defaults to every booking event."""
    values = _collect(
        ("url", lambda: webhook_url_clean(url)),
        ("events", lambda: _events_clean(events)),
        ("description", lambda: _description_clean(description)),
    )
    limit = int(settings.WEBHOOK_MAX_ENDPOINTS)
    if WebhookEndpoint.objects.count() >= limit:
        raise WebhookEndpointLimitReached(
            _("A business can have at most %(count)s webhook endpoints; delete one first.")
            % {"count": limit}
        )
    secret = webhook_secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        **values,
        secret_encrypted=pii.pii_encrypt(secret),
        secret_hint=secret[-4:],
        created_by_id=str(created_by.pk) if created_by is not None else "",
    )
    logger.info(
        "webhook_endpoint.created",
        extra={"endpoint_id": str(endpoint.id), "events": endpoint.events},
    )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Changes the fields given (None leaves a field alone); `active` disables or
    enables the endpoint."""
    checks: list[tuple[str, Callable[[], Any]]] = []
    if url is not None:
        checks.append(("url", lambda: webhook_url_clean(url)))
    if events is not None:
        checks.append(("events", lambda: _events_clean(events)))
    if description is not None:
        checks.append(("description", lambda: _description_clean(description)))
    values = _collect(*checks)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        for name, value in values.items():
            setattr(locked, name, value)
        if values:
            locked.save(update_fields=[*values, "updated_at"])
        if active is False and locked.is_active:
            _disable(locked, reason=WebhookEndpoint.DisabledReason.MANUAL, now=now)
        elif active is True and not locked.is_active:
            _enable(locked)
    if values:
        logger.info(
            "webhook_endpoint.updated",
            extra={"endpoint_id": str(locked.id), "fields": sorted(values)},
        )
    return locked


def _disable(endpoint: WebhookEndpoint, *, reason: str, now: datetime | None) -> int:
    """Disables a locked endpoint; its pending deliveries are cancelled. Returns how many."""
    now = now or timezone.now()
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["disabled_at", "disabled_reason", "updated_at"])
    cancelled = WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.CANCELLED, status_reason="endpoint_disabled", updated_at=now
    )
    logger.warning(
        "webhook_endpoint.disabled",
        extra={"endpoint_id": str(endpoint.id), "reason": reason, "cancelled": cancelled},
    )
    return cancelled


def _enable(endpoint: WebhookEndpoint) -> None:
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    # A fresh start: the failures that disabled it are not held against it again.
    endpoint.failure_streak = 0
    endpoint.failing_since = None
    endpoint.save(
        update_fields=[
            "disabled_at",
            "disabled_reason",
            "failure_streak",
            "failing_since",
            "updated_at",
        ]
    )
    logger.info("webhook_endpoint.enabled", extra={"endpoint_id": str(endpoint.id)})


def webhook_endpoint_disable_failing(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> None:
    """For the delivery worker, on an endpoint it holds locked: disable it for failing and
    tell the business's admins once the transaction commits."""
    _disable(endpoint, reason=WebhookEndpoint.DisabledReason.FAILING, now=now)
    endpoint_id = str(endpoint.id)

    def notify() -> None:
        try:
            task_enqueue("webhooks.endpoint_disabled_notice", endpoint_id)
        except Exception:  # the disabling stands; the email is a courtesy
            logger.warning("webhook_endpoint.notice_enqueue_failed", extra={"id": endpoint_id})

    transaction.on_commit(notify)


def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned this once); the current one keeps signing beside it for
    SECRET_ROTATION_GRACE, so receivers can switch over without refusing events."""
    now = now or timezone.now()
    secret = webhook_secret_generate()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        locked.previous_secret_encrypted = locked.secret_encrypted
        locked.previous_secret_expires_at = now + SECRET_ROTATION_GRACE
        locked.secret_encrypted = pii.pii_encrypt(secret)
        locked.secret_hint = secret[-4:]
        locked.save(
            update_fields=[
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "secret_encrypted",
                "secret_hint",
                "updated_at",
            ]
        )
    logger.info("webhook_endpoint.secret_rotated", extra={"endpoint_id": str(locked.id)})
    return locked, secret


def webhook_endpoint_signing_secrets(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> list[str]:
    """The secrets a request is signed with: the current one, and the previous one
    during its grace period."""
    now = now or timezone.now()
    found = [pii.pii_decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(pii.pii_decrypt(endpoint.previous_secret_encrypted))
    return found


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Deletes the endpoint with its delivery log; nothing more is sent to it.

    The row lock waits for booking transactions that are recording an event for the
    endpoint (they hold it FOR KEY SHARE, see `_subscribers_locked`), so their deliveries
    are deleted with it instead of failing either transaction's foreign key check."""
    endpoint_id = str(endpoint.id)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk)
        if list(locked.values_list("pk", flat=True)):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
    logger.info("webhook_endpoint.deleted", extra={"endpoint_id": endpoint_id})


# --- Events ------------------------------------------------------------------------


def _event_create(
    *, event_type: str, data: dict[str, Any], booking: Booking | None, now: datetime
) -> WebhookEvent:
    event_id = uuid7()
    body = event_body(
        event_id=event_id,
        event_type=event_type,
        created_at=now,
        business=tenant_current().slug,
        data=data,
    )
    return WebhookEvent.objects.create(
        id=event_id,
        type=event_type,
        version=PAYLOAD_VERSION,
        booking=booking,
        body_encrypted=pii.pii_encrypt(body),
        created_at=now,
    )


def _subscribers_locked(*, event_type: str) -> list[UUID]:
    """Ids of the active endpoints that want this event, each held FOR KEY SHARE until
    the booking's transaction ends: an endpoint deleted meanwhile either is gone before
    we look or waits for us, so the deliveries' foreign keys always hold. KEY SHARE
    locks do not conflict with each other, so concurrent bookings never wait on one
    another here (nor on a worker recording an attempt, which locks FOR NO KEY UPDATE)."""
    table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE disabled_at IS NULL AND events @> %s "  # noqa: S608
            "ORDER BY id FOR KEY SHARE",
            [[event_type]],
        )
        return [row[0] for row in cursor.fetchall()]


def webhook_event_record(
    *,
    event_type: str,
    booking: Booking,
    previous: dict[str, Any] | None = None,
    payment: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> WebhookEvent | None:
    """Records a booking event for every active endpoint subscribed to it, one delivery
    per endpoint, queued to be sent once the surrounding transaction commits. Without a
    subscriber nothing is written."""
    endpoint_ids = _subscribers_locked(event_type=event_type)
    if not endpoint_ids:
        return None
    now = now or timezone.now()
    data: dict[str, Any] = {"booking": booking_snapshot(booking)}
    if previous is not None:
        data["previous"] = previous
    if payment is not None:
        data["payment"] = payment
    event = _event_create(event_type=event_type, data=data, booking=booking, now=now)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event=event,
            attempts_allowed=settings.WEBHOOK_MAX_ATTEMPTS,
            next_attempt_at=now,
            # Sent on commit (below); the dispatcher leaves it alone unless that is lost.
            dispatched_at=now,
            created_at=now,
            updated_at=now,
        )
        for endpoint_id in endpoint_ids
    )
    outbox_enqueue_on_commit(WEBHOOK_OUTBOX, [delivery.id for delivery in deliveries])
    logger.info(
        "webhook_event.recorded",
        extra={"event_id": str(event.id), "type": event_type, "endpoints": len(endpoint_ids)},
    )
    return event


def webhook_endpoint_ping(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> WebhookDelivery:
    """Queues a `webhook.ping` event to this endpoint only (even a disabled one, so a
    fix can be tested before enabling it again). One attempt, no retries; the result is
    in the delivery log."""
    now = now or timezone.now()
    with transaction.atomic():
        # Waits for a delete in progress (and then finds nothing) rather than writing a
        # delivery for an endpoint that is going away.
        locked = WebhookEndpoint.objects.select_for_update(no_key=True).filter(pk=endpoint.pk)
        if not list(locked.values_list("pk", flat=True)):
            raise WebhookEndpointNotFound(_("There is no such webhook endpoint."))
        event = _event_create(
            event_type=WebhookEventType.PING,
            data={"endpoint": {"id": str(endpoint.id), "url": endpoint.url}},
            booking=None,
            now=now,
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            attempts_allowed=1,
            next_attempt_at=now,
            dispatched_at=now,
        )
        outbox_enqueue_on_commit(WEBHOOK_OUTBOX, [delivery.id])
    logger.info(
        "webhook_endpoint.ping_queued",
        extra={"endpoint_id": str(endpoint.id), "delivery_id": str(delivery.id)},
    )
    return delivery


def webhook_delivery_replay(
    *, delivery_id: UUID | str, now: datetime | None = None
) -> WebhookDelivery:
    """Sends the event to the endpoint again, now: the same body and event id, one more
    attempt in the log. A delivery still waiting for its next retry is simply sent now
    (it keeps its remaining retries)."""
    now = now or timezone.now()
    webhook_delivery_get(delivery_id=delivery_id)  # WebhookDeliveryNotFound
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .get(pk=delivery_id)
        )
        is_ping = delivery.event.type == WebhookEventType.PING
        if not delivery.endpoint.is_active and not is_ping:
            raise WebhookEndpointDisabled(
                _("The endpoint is disabled; enable it before replaying events to it.")
            )
        if delivery.status == Status.SENDING:
            raise WebhookDeliveryInFlight(_("This delivery is being sent right now."))
        if delivery.status != Status.PENDING:
            delivery.attempts_allowed = delivery.attempts + 1
            delivery.replays += 1
        delivery.status = Status.PENDING
        delivery.status_reason = "replay_requested"
        delivery.next_attempt_at = now
        delivery.dispatched_at = now
        delivery.lease_expires_at = None
        delivery.save(
            update_fields=[
                "status",
                "status_reason",
                "attempts_allowed",
                "replays",
                "next_attempt_at",
                "dispatched_at",
                "lease_expires_at",
                "updated_at",
            ]
        )
        outbox_enqueue_on_commit(WEBHOOK_OUTBOX, [delivery.id])
    logger.info("webhook_delivery.replay_queued", extra={"delivery_id": str(delivery.id)})
    return delivery


def _purgeable_events() -> QuerySet[WebhookEvent]:
    """Events the purge may delete once old enough: none of their deliveries is queued
    or in flight."""
    return WebhookEvent.objects.exclude(deliveries__status__in=[Status.PENDING, Status.SENDING])


def webhook_events_next_purge() -> datetime | None:
    """When the oldest event the purge may delete passes WEBHOOK_RETENTION_DAYS (None:
    none; an event whose delivery is still queued is noted by the hourly backstop once it
    is not: apps/notifications/due_work.py)."""
    oldest = _purgeable_events().order_by("created_at").values_list("created_at", flat=True)
    first = oldest.first()
    return None if first is None else first + timedelta(days=int(settings.WEBHOOK_RETENTION_DAYS))


def webhook_events_purge(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Deletes events (with their deliveries and attempts) older than
    WEBHOOK_RETENTION_DAYS, except those with a delivery still queued or in flight."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=int(settings.WEBHOOK_RETENTION_DAYS))
    deleted = 0
    while True:
        ids = list(
            _purgeable_events()
            .filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            break
        WebhookEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    if deleted:
        logger.info("webhook_events.purged", extra={"count": deleted})
    return deleted
