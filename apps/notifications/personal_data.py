"""A customer's data in this app, for GDPR requests (apps/bookings/customer_data.py): the
export's sections (the messages about their bookings and the webhook events that carried
their details, with where those went) and what erasing the customer does here.

Erasure runs inside the erasure's transaction, before the booking core shreds the
contact details (`bookings.signals.customer_erased`):
- a message still to go out that tells the customer their booking is cancelled or their
  money refunded keeps its recipient on its row (`Notification.recipient_encrypted`),
  since the booking will no longer say where it goes; the database empties that column
  once the row is sent, failed or cancelled (migration 0005). Other messages still
  pending are cancelled (`customer_erased`);
- provider errors kept on message rows and webhook delivery logs are scrubbed;
- the stored body of every webhook event about their bookings is scrubbed: the customer
  is the pseudonym with no email or phone, and the notes and intake answers are gone.
  Deliveries not made yet (the cancellations the erasure just caused) send the scrubbed
  body. The receivers' response excerpts kept for those deliveries are emptied (a
  receiver may echo anything it was sent).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from apps.bookings import pii, signals
from apps.bookings.customer_data import Erasure
from apps.bookings.models import Customer
from apps.core.personal_data import (
    PersonalDataSubject,
    SectionRows,
    personal_data_section_register,
)
from apps.notifications.messages.recipients import notification_recipient_sealed
from apps.notifications.models import (
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from apps.notifications.webhooks.payloads import event_body

logger = logging.getLogger(__name__)

# Messages still worth sending to a customer whose data is being erased: they report
# what the erasure (or a refund) did to their bookings.
FAREWELL_KINDS = (Notification.Kind.CANCELLED, Notification.Kind.REFUNDED)


def _instant(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- Export sections ---------------------------------------------------------------


def notifications_export(subject: PersonalDataSubject) -> SectionRows:
    """The messages about the customer's bookings. Their content is not stored (it is
    rendered from the booking as it goes out), so each row says what and how."""
    rows = Notification.objects.filter(booking_id__in=subject.booking_ids).order_by(
        "scheduled_for", "id"
    )
    return [
        {
            "id": str(row.pk),
            "booking_id": str(row.booking_id),
            "kind": row.kind,
            "channel": row.channel,
            "status": row.status,
            "status_reason": row.status_reason,
            "scheduled_for": _instant(row.scheduled_for),
            "sent_at": _instant(row.sent_at),
            "attempts": row.attempts,
            "resends": row.resend_count,
            "created_at": _instant(row.created_at),
        }
        for row in rows
    ]


def webhook_events_export(subject: PersonalDataSubject) -> SectionRows:
    """The webhook events about the customer's bookings with the body each carried and
    the business's endpoints it was delivered to (the recipients of their data)."""
    events = (
        WebhookEvent.objects.filter(booking_id__in=subject.booking_ids)
        .prefetch_related("deliveries__endpoint")
        .order_by("created_at", "id")
    )
    rows: SectionRows = []
    for event in events:
        try:
            payload: Any = json.loads(pii.pii_decrypt(event.body_encrypted))
        except (pii.InvalidToken, ValueError):
            payload = None
        rows.append(
            {
                "id": str(event.pk),
                "type": event.type,
                "booking_id": str(event.booking_id),
                "created_at": _instant(event.created_at),
                "payload": payload,
                "deliveries": [
                    {
                        "endpoint": delivery.endpoint.url,
                        "status": delivery.status,
                        "delivered_at": _instant(delivery.delivered_at),
                    }
                    for delivery in event.deliveries.all()
                ],
            }
        )
    return rows


# --- Erasure -------------------------------------------------------------------------


def on_customer_erased(
    sender: Any,
    *,
    customer: Customer,
    booking_ids: list[UUID],
    erasure: Erasure,
    **_: Any,
) -> None:
    kept = _farewells_keep(booking_ids)
    cancelled = (
        Notification.objects.filter(booking_id__in=booking_ids, status=Notification.Status.PENDING)
        .exclude(pk__in=kept)
        .update(
            status=Notification.Status.CANCELLED,
            status_reason="customer_erased",
            updated_at=timezone.now(),
        )
    )
    _messages_errors_scrub(booking_ids, erasure)
    events = _webhook_bodies_scrub(booking_ids, erasure)
    logger.info(
        "notifications.customer_erased",
        extra={
            "customer_id": str(customer.pk),
            "messages_kept": len(kept),
            "messages_cancelled": cancelled,
            "webhook_events_scrubbed": events,
        },
    )


def _farewells_keep(booking_ids: list[UUID]) -> list[UUID]:
    """Pending cancellation and refund notices keep where they go, on their row."""
    pending = Notification.objects.select_related("booking__customer").filter(
        booking_id__in=booking_ids,
        status=Notification.Status.PENDING,
        kind__in=FAREWELL_KINDS,
    )
    kept = []
    for notification in pending:
        Notification.objects.filter(pk=notification.pk).update(
            recipient_encrypted=notification_recipient_sealed(notification)
        )
        kept.append(notification.pk)
    return kept


def _messages_errors_scrub(booking_ids: list[UUID], erasure: Erasure) -> None:
    """Provider errors may quote a name or an address (emails and numbers are masked
    already, names are not)."""
    rows = Notification.objects.filter(booking_id__in=booking_ids).exclude(last_error="")
    for pk, error in rows.values_list("pk", "last_error"):
        clean = erasure.scrub_text(error)
        if clean != error:
            Notification.objects.filter(pk=pk).update(last_error=clean)


def _webhook_bodies_scrub(booking_ids: list[UUID], erasure: Erasure) -> int:
    events = WebhookEvent.objects.filter(booking_id__in=booking_ids)
    scrubbed = 0
    for event in events.only("pk", "body_encrypted"):
        try:
            body = json.loads(pii.pii_decrypt(event.body_encrypted))
        except (pii.InvalidToken, ValueError):
            # Unreadable (its key is gone): nobody can read it either; it is left alone.
            continue
        booking = (body.get("data") or {}).get("booking")
        if isinstance(booking, dict):
            customer = booking.get("customer") or {}
            booking["customer"] = {
                "id": customer.get("id", str(erasure.customer_id)),
                "name": erasure.pseudonym,
                "email": "",
                "phone": "",
            }
            booking["notes"] = ""
            booking["answers"] = []
        body["data"] = erasure.scrub(body.get("data"))
        text = event_body(
            event_id=body["id"],
            event_type=body["type"],
            created_at=datetime.fromisoformat(body["created_at"]),
            business=body["business"],
            data=body["data"],
        )
        WebhookEvent.objects.filter(pk=event.pk).update(body_encrypted=pii.pii_encrypt(text))
        scrubbed += 1
    deliveries = WebhookDelivery.objects.filter(event__booking_id__in=booking_ids)
    for pk, error in deliveries.exclude(last_error="").values_list("pk", "last_error"):
        if erasure.mentions(error):
            WebhookDelivery.objects.filter(pk=pk).update(last_error=erasure.scrub_text(error))
    # A receiver's answer may echo what it was sent, intake answers and notes included,
    # which no scrub of names and contacts can find: the excerpts of these bookings'
    # deliveries go (they only help debug a receiver; status codes and errors stay).
    attempts = WebhookAttempt.objects.filter(delivery__event__booking_id__in=booking_ids)
    attempts.exclude(response_excerpt="").update(response_excerpt="")
    for pk, error in attempts.exclude(error="").values_list("pk", "error"):
        if erasure.mentions(error):
            WebhookAttempt.objects.filter(pk=pk).update(error=erasure.scrub_text(error))
    return scrubbed


def connect() -> None:
    personal_data_section_register("notifications", notifications_export)
    personal_data_section_register("webhook_events", webhook_events_export)
    signals.customer_erased.connect(on_customer_erased, dispatch_uid="notifications.erasure")
