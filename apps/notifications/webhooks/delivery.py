"""Sending webhook deliveries: one signed POST per attempt, the attempt log, what a
failed attempt leaves behind, auto-disabling of failing endpoints, and what a delivery
left `sending` by a dead worker becomes. Claiming, dispatching, backoff and the stale-row
scan are the engine's (apps/notifications/outbox.py).

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
from django.db import transaction
from django.utils import timezone

from apps.bookings import pii
from apps.core import metrics
from apps.core.errors import ValidationFailed
from apps.notifications.outbox import (
    outbox_claim,
    outbox_dispatch_due,
    outbox_recover_stale,
    outbox_requeue_or_fail,
    outbox_retry_changes,
    outbox_retry_delay,
    outbox_settle,
)
from apps.notifications.webhooks.errors import WebhookAddressRefused
from apps.notifications.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from apps.notifications.webhooks.outbox_kind import WEBHOOK_OUTBOX
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
    """Wait after the `attempts`-th failed attempt: WEBHOOK_RETRY_BASE_SECONDS * 2^(n-1),
    capped at WEBHOOK_RETRY_MAX_SECONDS."""
    return outbox_retry_delay(WEBHOOK_OUTBOX, attempts)


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
                    outbox_retry_changes(WEBHOOK_OUTBOX, attempt=attempt, at=finished_at)
                )
            if not is_ping:
                endpoint.last_failure_at = finished_at
                endpoint.failing_since = endpoint.failing_since or started_at
                endpoint_fields = ["last_failure_at", "failing_since"]
                if exhausted and automatic:
                    endpoint.failure_streak += 1
                    endpoint_fields.append("failure_streak")
        outbox_settle(WEBHOOK_OUTBOX, delivery.id, attempt=attempt, changes=changes)
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
    outcome = _webhook_delivery_send(delivery_id=delivery_id, now=now)
    if outcome != DeliveryOutcome.SKIPPED:
        metrics.webhook_deliveries_total.labels(result=outcome.value).inc()
    return outcome


def _webhook_delivery_send(*, delivery_id: UUID | str, now: datetime | None) -> DeliveryOutcome:
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

    attempt = outbox_claim(WEBHOOK_OUTBOX, delivery.id, now=now)
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

    def resolve(delivery: WebhookDelivery) -> str:
        return outbox_requeue_or_fail(
            delivery,
            max_attempts=delivery.attempts_allowed,
            now=now,
            lost="The worker stopped while sending this event.",
        )

    outcomes = outbox_recover_stale(WEBHOOK_OUTBOX, now=now, limit=limit, resolve=resolve)
    recovered = outcomes.total()
    if recovered:
        logger.warning("webhook_deliveries.recovered", extra={"count": recovered})
    return recovered


def webhook_deliveries_dispatch_due(
    *, now: datetime | None = None, limit: int | None = None
) -> list[UUID]:
    """Marks up to `limit` due deliveries queued and returns their ids (see
    apps.notifications.outbox.outbox_dispatch_due)."""
    return outbox_dispatch_due(WEBHOOK_OUTBOX, now=now, limit=limit)
