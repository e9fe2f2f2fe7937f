"""Sending customer messages (email and SMS) from the outbox: one message exactly once,
what a failed attempt leaves behind, and what a message left `sending` by a dead worker
becomes. Claiming, dispatching, backoff and the stale-row scan are the engine's
(apps/notifications/outbox.py).

Life of a row: `pending` → (claimed) `sending` → `sent`; or back to `pending` with a
later `next_attempt_at` after a failed attempt, `failed` after NOTIFICATION_MAX_ATTEMPTS
or on an error no retry can cure; `cancelled` when it no longer applies.

Exactly once rests on three guards in the database, not in the worker:
1. the claim `UPDATE … SET status='sending' WHERE status='pending'` succeeds for one
   caller only, however many send tasks exist for the row (the dispatcher may queue a
   row again when a task message is lost);
2. nothing but recovery ever moves a row out of `sent`, and recovery does not;
3. a row left in `sending` by a killed worker is resolved by asking the provider whether
   it has the message (our .eml, locmem and test backends can answer; most ESPs and
   SMS gateways cannot): delivered → `sent`; not delivered → `pending`; unknown → as
   NOTIFICATION_UNCERTAIN_DELIVERY says ("fail": visible in the dashboard for a person
   to retry — at most once; "resend": at least once).
Everything slow (rendering, building the .ics) happens before the claim, so the window
in which a crash leaves a row `sending` is the provider call itself.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core import mail
from django.utils import timezone

from apps.accounts.addresses import tenant_domain
from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.core import metrics
from apps.core.entitlements import Limit, PlanLimitReached, entitlement_require
from apps.notifications.messages.content import MessageFacts, message_facts, sms_text
from apps.notifications.messages.emails import notification_email, notification_message_id
from apps.notifications.messages.errors import SendFailed, Undeliverable
from apps.notifications.messages.outbox_kind import MESSAGE_OUTBOX
from apps.notifications.messages.provider_status import DeliveryStatus
from apps.notifications.messages.recipients import mask_contacts
from apps.notifications.messages.relevance import notification_obsolete_reason
from apps.notifications.messages.sms import SmsMessage, get_sms_backend, sms_validate_number
from apps.notifications.models import Notification
from apps.notifications.outbox import (
    outbox_claim,
    outbox_dispatch_due,
    outbox_recover_stale,
    outbox_requeue_or_fail,
    outbox_retry_changes,
    outbox_retry_delay,
    outbox_settle,
)

logger = logging.getLogger(__name__)

Status = Notification.Status


class SendOutcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # not pending (already sent, being sent, cancelled) or not due
    CANCELLED = "cancelled"  # no longer applies to the booking
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt: NOTIFICATION_RETRY_BASE_SECONDS
    · 2^(n-1), capped at NOTIFICATION_RETRY_MAX_SECONDS."""
    return outbox_retry_delay(MESSAGE_OUTBOX, attempts)


def _error_text(error: BaseException) -> str:
    return mask_contacts(f"{type(error).__name__}: {error}")[:1000]


class _Outgoing:
    """A composed message, ready to hand to its provider."""

    def __init__(self, notification: Notification, facts: MessageFacts) -> None:
        self.notification = notification
        self.facts = facts
        self.channel = notification.channel
        if self.channel == Notification.Channel.EMAIL:
            recipient = facts.recipient.email
            if not recipient:
                raise Undeliverable("The customer gave no email address.", reason="no_email")
            self.email = notification_email(facts=facts, recipient=recipient)
            self.lookup_key = notification_message_id(notification, domain=facts.domain)
        else:
            number = sms_validate_number(facts.recipient.phone)
            self.sms = SmsMessage(to=number, body=sms_text(facts), reference=str(notification.id))
            self.lookup_key = str(notification.id)

    def send(self) -> str:
        """The provider's message id; SendFailed when the provider did not take it."""
        if self.channel == Notification.Channel.SMS:
            return get_sms_backend().send(self.sms)
        try:
            self.email.send()
        except (AnymailRecipientsRefused, AnymailInvalidAddress) as exc:
            raise SendFailed(str(exc), permanent=True, reason="recipient_refused") from exc
        except AnymailAPIError as exc:
            status = getattr(exc, "status_code", None) or 0
            permanent = 400 <= status < 500 and status not in (408, 429)
            raise SendFailed(str(exc), permanent=permanent) from exc
        status_id = getattr(getattr(self.email, "anymail_status", None), "message_id", None)
        return str(status_id) if status_id else self.lookup_key


def _mark_sent(notification_id: UUID, *, attempt: int, provider_id: str, now: datetime) -> bool:
    # Also from `pending`/`failed` with the same attempt count: recovery may have resolved
    # the row while a slow provider call was still finishing; the message did go out.
    updated = Notification.objects.filter(
        pk=notification_id,
        attempts=attempt,
        status__in=[Status.SENDING, Status.PENDING, Status.FAILED],
    ).update(
        status=Status.SENT,
        sent_at=now,
        provider_message_id=provider_id[:255],
        lease_expires_at=None,
        last_error="",
        status_reason="",
        updated_at=now,
    )
    return bool(updated)


def _mark_attempt_failed(
    notification_id: UUID,
    *,
    attempt: int,
    error: BaseException,
    permanent: bool,
    reason: str,
    now: datetime,
) -> SendOutcome:
    exhausted = attempt >= settings.NOTIFICATION_MAX_ATTEMPTS
    changes: dict[str, Any] = {
        "last_error": _error_text(error),
        "lease_expires_at": None,
        "updated_at": now,
    }
    if permanent or exhausted:
        changes.update(status=Status.FAILED, status_reason=reason or "attempts_exhausted")
        outcome = SendOutcome.FAILED
    else:
        changes.update(outbox_retry_changes(MESSAGE_OUTBOX, attempt=attempt, at=now))
        outcome = SendOutcome.RETRY_SCHEDULED
    outbox_settle(MESSAGE_OUTBOX, notification_id, attempt=attempt, changes=changes)
    log = logger.error if outcome == SendOutcome.FAILED else logger.warning
    log(
        f"notification.{outcome.value}",
        extra={
            "notification_id": str(notification_id),
            "attempt": attempt,
            "error": changes["last_error"],
        },
    )
    return outcome


def _cancel_if_pending(notification_id: UUID, *, reason: str, now: datetime) -> bool:
    return bool(
        Notification.objects.filter(pk=notification_id, status=Status.PENDING).update(
            status=Status.CANCELLED, status_reason=reason, updated_at=now
        )
    )


def _fail_if_pending(notification_id: UUID, *, error: Undeliverable, now: datetime) -> bool:
    return bool(
        Notification.objects.filter(pk=notification_id, status=Status.PENDING).update(
            status=Status.FAILED,
            status_reason=error.reason,
            last_error=error.message,
            updated_at=now,
        )
    )


def _load(notification_id: UUID | str) -> Notification | None:
    return (
        Notification.objects.select_related(
            "booking__service", "booking__resource__location", "booking__customer"
        )
        .filter(pk=notification_id)
        .first()
    )


def _over_plan_reason(notification: Notification) -> str:
    """A text message over the plan's monthly allowance is not sent ("plan_limit")."""
    if notification.channel != Notification.Channel.SMS:
        return ""
    try:
        entitlement_require(Limit.SMS_PER_MONTH)
    except PlanLimitReached:
        return "plan_limit"
    return ""


def notification_send(
    *, notification_id: UUID | str, now: datetime | None = None, tenant: Tenant | None = None
) -> SendOutcome:
    """Sends one due notification at most once. Safe to call any number of times, from
    any number of workers, for the same row."""
    outcome = _notification_send(notification_id=notification_id, now=now, tenant=tenant)
    if outcome != SendOutcome.SKIPPED:
        metrics.notifications_total.labels(result=outcome.value).inc()
    return outcome


def _notification_send(
    *, notification_id: UUID | str, now: datetime | None, tenant: Tenant | None
) -> SendOutcome:
    clock_injected = now is not None
    now = now or timezone.now()
    notification = _load(notification_id)
    if notification is None or notification.status != Status.PENDING:
        return SendOutcome.SKIPPED
    if notification.next_attempt_at > now:
        return SendOutcome.SKIPPED
    reason = notification_obsolete_reason(
        notification=notification, booking=notification.booking, now=now
    ) or _over_plan_reason(notification)
    if reason:
        _cancel_if_pending(notification.id, reason=reason, now=now)
        logger.info(
            "notification.cancelled",
            extra={"notification_id": str(notification.id), "reason": reason},
        )
        return SendOutcome.CANCELLED
    tenant = tenant or tenant_current()
    try:
        outgoing = _Outgoing(notification, message_facts(notification=notification, tenant=tenant))
    except Undeliverable as exc:
        _fail_if_pending(notification.id, error=exc, now=now)
        logger.error(
            "notification.undeliverable",
            extra={"notification_id": str(notification.id), "reason": exc.reason},
        )
        return SendOutcome.FAILED

    attempt = outbox_claim(MESSAGE_OUTBOX, notification.id, now=now)
    if attempt is None:
        return SendOutcome.SKIPPED
    try:
        provider_id = outgoing.send()
    except SendFailed as exc:
        return _mark_attempt_failed(
            notification.id,
            attempt=attempt,
            error=exc,
            permanent=exc.permanent,
            reason=exc.reason if exc.permanent else "",
            now=now,
        )
    except Exception as exc:  # any provider/transport error is worth another attempt
        return _mark_attempt_failed(
            notification.id, attempt=attempt, error=exc, permanent=False, reason="", now=now
        )
    sent_at = now if clock_injected else timezone.now()
    if not _mark_sent(notification.id, attempt=attempt, provider_id=provider_id, now=sent_at):
        logger.warning(
            "notification.sent_unrecorded", extra={"notification_id": str(notification.id)}
        )
    logger.info(
        "notification.sent",
        extra={
            "notification_id": str(notification.id),
            "kind": notification.kind,
            "channel": notification.channel,
            "attempt": attempt,
            "lag_seconds": round((sent_at - notification.scheduled_for).total_seconds(), 3),
        },
    )
    return SendOutcome.SENT


def _email_delivery_status(message_id: str) -> DeliveryStatus:
    backend = mail.get_connection()
    lookup = getattr(backend, "delivery_status", None)
    if callable(lookup):
        status: DeliveryStatus = lookup(message_id)
        return status
    backend_path = f"{type(backend).__module__}.{type(backend).__name__}"
    if backend_path in (
        "django.core.mail.backends.locmem.EmailBackend",
        "anymail.backends.test.EmailBackend",
    ):
        delivered = any(
            message.extra_headers.get("Message-ID") == message_id
            for message in getattr(mail, "outbox", [])
        )
        return DeliveryStatus.DELIVERED if delivered else DeliveryStatus.NOT_DELIVERED
    return DeliveryStatus.UNKNOWN


def notification_delivery_status(*, notification: Notification, tenant: Tenant) -> DeliveryStatus:
    if notification.channel == Notification.Channel.EMAIL:
        message_id = notification_message_id(notification, domain=tenant_domain(tenant))
        return _email_delivery_status(message_id)
    return get_sms_backend().delivery_status(str(notification.id))


def _resolve_stale(notification: Notification, *, tenant: Tenant, now: datetime) -> str:
    delivery = notification_delivery_status(notification=notification, tenant=tenant)
    if delivery == DeliveryStatus.DELIVERED:
        notification.status = Status.SENT
        notification.sent_at = now
        notification.status_reason = "recovered_delivered"
        return "delivered"
    if delivery == DeliveryStatus.NOT_DELIVERED or (
        settings.NOTIFICATION_UNCERTAIN_DELIVERY == "resend"
    ):
        return outbox_requeue_or_fail(
            notification,
            max_attempts=settings.NOTIFICATION_MAX_ATTEMPTS,
            now=now,
            lost="The worker stopped while sending this message.",
        )
    notification.status = Status.FAILED
    notification.status_reason = "delivery_uncertain"
    notification.last_error = (
        "The worker stopped while handing this message to the provider; it may "
        "or may not have arrived. Retry sends it again."
    )
    return "failed"


def notifications_recover_stale(
    *, now: datetime | None = None, limit: int = 200, tenant: Tenant | None = None
) -> dict[str, int]:
    """Resolves rows left `sending` past their lease by a worker that died mid-send, by
    asking the provider whether it has the message (see the module's docstring)."""
    now = now or timezone.now()
    resolved_tenant = tenant

    def resolve(notification: Notification) -> str:
        nonlocal resolved_tenant
        # Looked up only when there is something to recover (every beat tick gets here).
        resolved_tenant = resolved_tenant or tenant_current()
        return _resolve_stale(notification, tenant=resolved_tenant, now=now)

    outcomes = outbox_recover_stale(MESSAGE_OUTBOX, now=now, limit=limit, resolve=resolve)
    counts = {label: outcomes[label] for label in ("delivered", "requeued", "failed")}
    if outcomes:
        logger.warning("notifications.recovered", extra=counts)
    return counts


def notifications_dispatch_due(
    *, now: datetime | None = None, limit: int | None = None
) -> list[UUID]:
    """Marks up to `limit` due messages queued and returns their ids (see
    apps.notifications.outbox.outbox_dispatch_due)."""
    return outbox_dispatch_due(MESSAGE_OUTBOX, now=now, limit=limit)
