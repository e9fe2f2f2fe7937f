"""Sending webhook deliveries: dispatching due rows, one signed POST per attempt, the
attempt log, retries with exponential backoff, auto-disabling of failing endpoints, and
recovering rows whose worker died mid-send.

Life of a delivery: `pending` -> (claimed) `sending` -> `succeeded`; or back to `pending`
with a later `next_attempt_at` after a failed attempt; `failed` once `attempts_allowed`
attempts failed; `cancelled` when its endpoint is disabled. Webhooks are delivered at
least once: a worker killed after the receiver answered but before the answer was recorded
leaves the row `sending`, and recovery sends it again (receivers dedupe by event id).

Retry schedule: after the n-th failed attempt the next one is due after
WEBHOOK_RETRY_BASE_SECONDS * 2^(n-1), at most WEBHOOK_RETRY_MAX_SECONDS apart: with the
defaults 1, 2, 4 ... 128 min, then every 4 h, WEBHOOK_MAX_ATTEMPTS (14) attempts in all,
the last about 24 h after the first.

Auto-disabling: an endpoint is disabled when WEBHOOK_DISABLE_AFTER_FAILED_EVENTS (5)
events in a row failed for good (every retry used up, no successful attempt to the
endpoint in between) and it has been failing for at least WEBHOOK_DISABLE_AFTER_SECONDS
(24 h) since its last success. Its admins get an email. Test pings and replays never
count towards the streak (a person is watching those); any successful attempt resets it.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

import urllib3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.bookings import pii
from apps.core.errors import ValidationFailed
from apps.notifications.webhooks.errors import WebhookAddressRefused
from apps.notifications.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from apps.notifications.webhooks.selectors import webhook_event_body
from apps.notifications.webhooks.services import (
    webhook_endpoint_disable_failing,
    webhook_endpoint_signing_secrets,
)
from apps.notifications.webhooks.signing import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature_header,
)
from apps.notifications.webhooks.url_policy import (
    WebhookTarget,
    webhook_target,
    webhook_target_resolve,
)

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
USER_AGENT = "TimeNest-Webhooks/1"
EXCERPT_CHARS = 1000
ERROR_CHARS = 500


class DeliveryOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # not pending (done, in flight, cancelled) or not due yet


@dataclass(frozen=True)
class HttpAnswer:
    status_code: int | None
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: BASE * 2^(n-1), capped at MAX."""
    base = int(settings.WEBHOOK_RETRY_BASE_SECONDS)
    seconds = min(base * 2 ** max(attempts - 1, 0), int(settings.WEBHOOK_RETRY_MAX_SECONDS))
    return timedelta(seconds=seconds)


def _clip(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; a receiver may answer anything.
    return text.replace("\x00", "")[:limit]


def _host_header(target: WebhookTarget) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def webhook_http_post(*, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
    """POSTs to the address the URL's host was checked to resolve to (see url_policy),
    without following redirects. Never raises: failures are answers without a status."""
    try:
        target = webhook_target(url)
        address = webhook_target_resolve(target)
    except WebhookAddressRefused as exc:
        return HttpAnswer(None, error=_clip(str(exc), ERROR_CHARS))
    except ValidationFailed as exc:  # a URL saved under an older policy
        reason = exc.details[0].message if exc.details else exc.message
        host = urlsplit(url).hostname or url
        return HttpAnswer(None, error=_clip(f"Not sent to {host}: {reason}", ERROR_CHARS))
    timeout = urllib3.Timeout(
        connect=float(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS),
        read=float(settings.WEBHOOK_TIMEOUT_SECONDS),
        total=float(settings.WEBHOOK_TIMEOUT_SECONDS),
    )
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port=target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port=target.port, timeout=timeout, retries=False)
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": _host_header(target)},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        cause = getattr(exc, "reason", None) or exc
        return HttpAnswer(None, error=_clip(f"{type(exc).__name__}: {cause}", ERROR_CHARS))
    except Exception as exc:  # whatever a receiver or the network does, the attempt ends
        return HttpAnswer(None, error=_clip(f"{type(exc).__name__}: {exc}", ERROR_CHARS))
    finally:
        pool.close()
    status = int(response.status)
    error = ""
    if 300 <= status < 400:
        error = "The endpoint answered with a redirect; redirects are not followed."
    elif not 200 <= status < 300:
        error = f"The endpoint answered HTTP {status}."
    return HttpAnswer(status, excerpt=_clip(excerpt, EXCERPT_CHARS), error=error)


def _claim(delivery_id: UUID, *, now: datetime) -> int | None:
    """pending -> sending, for one caller only. Returns the attempt number, or None."""
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    lease = now + timedelta(seconds=int(settings.WEBHOOK_SENDING_LEASE_SECONDS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = 'sending', attempts = attempts + 1, "  # noqa: S608
            "lease_expires_at = %s, last_attempt_at = %s, updated_at = %s "
            "WHERE id = %s AND status = 'pending' AND next_attempt_at <= %s "
            "RETURNING attempts",
            [lease, now, now, delivery_id, now],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _endpoint_disabled_reached(endpoint: WebhookEndpoint, *, now: datetime) -> bool:
    return (
        endpoint.failure_streak >= int(settings.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS)
        and endpoint.failing_since is not None
        and now - endpoint.failing_since
        >= timedelta(seconds=int(settings.WEBHOOK_DISABLE_AFTER_SECONDS))
    )


def _record(
    delivery: WebhookDelivery,
    *,
    attempt: int,
    answer: HttpAnswer,
    started_at: datetime,
    finished_at: datetime,
    latency_ms: int,
) -> DeliveryOutcome:
    """Logs the attempt and moves the delivery and its endpoint on, in one transaction
    that holds the endpoint's row (concurrent deliveries update its streak in turn)."""
    is_ping = delivery.event.type == WebhookEventType.PING
    automatic = delivery.replays == 0 and not is_ping
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(no_key=True)
            .filter(pk=delivery.endpoint_id)
            .first()
        )
        if endpoint is None:  # deleted meanwhile, with its log
            return DeliveryOutcome.CANCELLED
        WebhookAttempt.objects.create(
            delivery_id=delivery.id,
            number=attempt,
            trigger=(
                WebhookAttempt.Trigger.MANUAL
                if delivery.replays or is_ping
                else WebhookAttempt.Trigger.AUTOMATIC
            ),
            started_at=started_at,
            succeeded=answer.succeeded,
            status_code=answer.status_code,
            latency_ms=max(latency_ms, 0),
            error=answer.error,
            response_excerpt=answer.excerpt,
        )
        changes: dict[str, object] = {
            "last_status_code": answer.status_code,
            "last_error": answer.error,
            "lease_expires_at": None,
            "updated_at": finished_at,
        }
        endpoint_fields: list[str] = []
        if answer.succeeded:
            outcome = DeliveryOutcome.SUCCEEDED
            changes.update(status=Status.SUCCEEDED, status_reason="", delivered_at=finished_at)
            endpoint.last_success_at = finished_at
            endpoint.failure_streak = 0
            endpoint.failing_since = None
            endpoint_fields = ["last_success_at", "failure_streak", "failing_since"]
        else:
            exhausted = attempt >= delivery.attempts_allowed
            if exhausted:
                outcome = DeliveryOutcome.FAILED
                changes.update(status=Status.FAILED, status_reason="attempts_exhausted")
            else:
                outcome = DeliveryOutcome.RETRY_SCHEDULED
                changes.update(
                    status=Status.PENDING,
                    status_reason="retrying",
                    next_attempt_at=finished_at + retry_delay(attempt),
                    dispatched_at=None,
                )
            if not is_ping:
                endpoint.last_failure_at = finished_at
                endpoint.failing_since = endpoint.failing_since or started_at
                endpoint_fields = ["last_failure_at", "failing_since"]
                if exhausted and automatic:
                    endpoint.failure_streak += 1
                    endpoint_fields.append("failure_streak")
        WebhookDelivery.objects.filter(
            pk=delivery.id, status=Status.SENDING, attempts=attempt
        ).update(**changes)
        if endpoint_fields:
            endpoint.save(update_fields=[*endpoint_fields, "updated_at"])
        if (
            outcome == DeliveryOutcome.FAILED
            and automatic
            and endpoint.is_active
            and _endpoint_disabled_reached(endpoint, now=finished_at)
        ):
            webhook_endpoint_disable_failing(endpoint=endpoint, now=finished_at)
    log = logger.info if outcome == DeliveryOutcome.SUCCEEDED else logger.warning
    log(
        f"webhook_delivery.{outcome.value}",
        extra={
            "delivery_id": str(delivery.id),
            "endpoint_id": str(delivery.endpoint_id),
            "event_id": str(delivery.event_id),
            "event_type": delivery.event.type,
            "attempt": attempt,
            "status_code": answer.status_code,
            "latency_ms": latency_ms,
            "error": answer.error,
        },
    )
    return outcome


def webhook_delivery_send(
    *, delivery_id: UUID | str, now: datetime | None = None
) -> DeliveryOutcome:
    """Makes one attempt of a due delivery. Safe to call any number of times, from any
    number of workers: only the caller that claims the row sends. `now` (tests) stands
    for the clock everywhere: due checks, the signed timestamp and the log."""
    clock_injected = now is not None
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.status != Status.PENDING or delivery.next_attempt_at > now:
        return DeliveryOutcome.SKIPPED
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event.type != WebhookEventType.PING:
        cancelled = WebhookDelivery.objects.filter(pk=delivery.id, status=Status.PENDING).update(
            status=Status.CANCELLED, status_reason="endpoint_disabled", updated_at=now
        )
        return DeliveryOutcome.CANCELLED if cancelled else DeliveryOutcome.SKIPPED
    try:
        body = webhook_event_body(event=delivery.event).encode()
        signing_secrets = webhook_endpoint_signing_secrets(endpoint=endpoint, now=now)
    except pii.InvalidToken:
        # Encrypted under a key that has since been replaced: retrying cannot help.
        WebhookDelivery.objects.filter(pk=delivery.id, status=Status.PENDING).update(
            status=Status.FAILED,
            status_reason="unreadable",
            last_error="The event or the endpoint's secret can no longer be decrypted "
            "(the encryption key changed); rotate the endpoint's secret.",
            updated_at=now,
        )
        logger.error("webhook_delivery.unreadable", extra={"delivery_id": str(delivery.id)})
        return DeliveryOutcome.FAILED

    attempt = _claim(delivery.id, now=now)
    if attempt is None:
        return DeliveryOutcome.SKIPPED
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature_header(
            secrets=signing_secrets, timestamp=timestamp, body=body
        ),
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event.type,
        DELIVERY_ID_HEADER: str(delivery.id),
    }
    started = time.monotonic()
    answer = webhook_http_post(url=endpoint.url, body=body, headers=headers)
    latency_ms = round((time.monotonic() - started) * 1000)
    finished_at = now if clock_injected else timezone.now()
    return _record(
        delivery,
        attempt=attempt,
        answer=answer,
        started_at=now,
        finished_at=finished_at,
        latency_ms=latency_ms,
    )


def webhook_deliveries_recover_stale(*, now: datetime | None = None, limit: int = 200) -> int:
    """Rows left `sending` past their lease by a worker that died mid-send go back to the
    queue (at least once), or fail if that was their last attempt."""
    now = now or timezone.now()
    recovered = 0
    with transaction.atomic():
        stale = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SENDING, lease_expires_at__lt=now)
            .order_by("lease_expires_at")[:limit]
        )
        for delivery in stale:
            exhausted = delivery.attempts >= delivery.attempts_allowed
            delivery.status = Status.FAILED if exhausted else Status.PENDING
            delivery.status_reason = "worker_lost" if exhausted else "recovered"
            delivery.last_error = "The worker stopped while sending this event."
            delivery.next_attempt_at = now
            delivery.dispatched_at = None
            delivery.lease_expires_at = None
            delivery.save(
                update_fields=[
                    "status",
                    "status_reason",
                    "last_error",
                    "next_attempt_at",
                    "dispatched_at",
                    "lease_expires_at",
                    "updated_at",
                ]
            )
            recovered += 1
    if recovered:
        logger.warning("webhook_deliveries.recovered", extra={"count": recovered})
    return recovered


def webhook_deliveries_dispatch_due(
    *, now: datetime | None = None, limit: int | None = None
) -> list[UUID]:
    """Claims up to `limit` due rows for queueing (rows queued recently are left to their
    task), marks them queued and returns their ids. Concurrent dispatchers skip each
    other's rows (SKIP LOCKED) instead of queueing them twice."""
    now = now or timezone.now()
    limit = limit or int(settings.WEBHOOK_DISPATCH_BATCH)
    requeue_before = now - timedelta(seconds=int(settings.WEBHOOK_REDISPATCH_SECONDS))
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=requeue_before))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(dispatched_at=now)
    return ids
