"""Webhooks delivered to a real HTTP receiver on 127.0.0.1: the signature, one event per
booking change, subscriptions, retries with backoff, replay, auto-disabling with an email
to the admins, the outbox's atomicity and tenant isolation."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.bookings.services import (
    booking_cancel,
    booking_confirm,
    booking_reschedule,
    holds_expire,
)
from apps.notifications.webhooks.delivery import (
    DeliveryOutcome,
    retry_delay,
    webhook_deliveries_dispatch_due,
    webhook_deliveries_recover_stale,
    webhook_delivery_send,
)
from apps.notifications.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from apps.notifications.webhooks.services import (
    webhook_delivery_replay,
    webhook_endpoint_ping,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from apps.notifications.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature_verify,
)
from tests.notifications.factories import STAFF, ResourceFactory, ServiceFactory, hour_from_now
from tests.notifications.webhooks.conftest import Place, subscribe
from tests.plugins.factories import MembershipFactory

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def _only_delivery() -> WebhookDelivery:
    (delivery,) = WebhookDelivery.objects.all()
    return delivery


def test_confirmed_booking_is_delivered_signed_with_the_endpoint_secret(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    # given an endpoint subscribed to confirmations
    hook = subscribe(receiver.url, ["booking.confirmed"])

    # when a booking is confirmed (and its transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        booking = place.book()

    # then the receiver got one POST whose signature verifies with the secret
    (request,) = receiver.requests
    assert request.path == "/hooks/timenest"
    assert request.header("Content-Type") == "application/json"
    assert webhook_signature_verify(
        secret=hook.secret,
        timestamp=request.header(TIMESTAMP_HEADER),
        signature_header=request.header(SIGNATURE_HEADER),
        body=request.body,
        now=time.time(),
    )
    assert not webhook_signature_verify(
        secret="whsec_someone-else",
        timestamp=request.header(TIMESTAMP_HEADER),
        signature_header=request.header(SIGNATURE_HEADER),
        body=request.body,
        now=time.time(),
    )
    # as a receiver in any language checks it: HMAC-SHA256(secret, "{timestamp}.{body}")
    signed = f"{request.header(TIMESTAMP_HEADER)}.".encode() + request.body
    expected = hmac.new(hook.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert f"v1={expected}" in request.header(SIGNATURE_HEADER).split(",")
    payload = request.payload
    assert payload["type"] == "booking.confirmed"
    assert payload["version"] == 1
    assert payload["business"] == "acme"
    assert payload["id"] == request.header(EVENT_ID_HEADER)
    assert request.header(EVENT_TYPE_HEADER) == "booking.confirmed"
    assert payload["data"]["booking"]["id"] == str(booking.pk)
    assert payload["data"]["booking"]["status"] == "confirmed"
    assert payload["data"]["booking"]["customer"]["email"] == "jane@example.test"
    delivery = _only_delivery()
    assert delivery.status == Status.SUCCEEDED
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.succeeded) == (1, 200, True)
    assert attempt.response_excerpt == '{"received": true}'


def test_signature_fails_when_the_body_or_timestamp_is_tampered_with(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    hook = subscribe(receiver.url, ["booking.held"])
    with django_capture_on_commit_callbacks(execute=True):
        place.hold()
    (request,) = receiver.requests
    timestamp = request.header(TIMESTAMP_HEADER)
    signature = request.header(SIGNATURE_HEADER)

    tampered_body = webhook_signature_verify(
        secret=hook.secret,
        timestamp=timestamp,
        signature_header=signature,
        body=request.body.replace(b"Jane", b"John"),
        now=time.time(),
    )
    other_time = webhook_signature_verify(
        secret=hook.secret,
        timestamp=str(int(timestamp) - 1),
        signature_header=signature,
        body=request.body,
        now=time.time(),
    )
    replayed_later = webhook_signature_verify(
        secret=hook.secret,
        timestamp=timestamp,
        signature_header=signature,
        body=request.body,
        now=time.time() + 3600,
    )

    assert (tampered_body, other_time, replayed_later) == (False, False, False)


def test_each_booking_change_is_delivered_as_its_own_event(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    # given an endpoint subscribed to every booking event (the default)
    subscribe(receiver.url)
    first = hour_from_now(days=3, hour=10)
    moved = hour_from_now(days=3, hour=11)

    # when one booking is held, confirmed, moved and cancelled, and another hold lapses
    with django_capture_on_commit_callbacks(execute=True):
        booking = place.hold(starts_at=first)
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_confirm(booking=booking, actor=STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        place.hold(starts_at=moved, email="late@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        holds_expire(now=timezone.now() + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_reschedule(booking=booking, starts_at=moved, actor=STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=STAFF, reason="Customer called")

    # then each change arrived once, in order, with the booking as it was then
    assert receiver.types() == [
        "booking.held",
        "booking.confirmed",
        "booking.held",
        "booking.expired",
        "booking.rescheduled",
        "booking.cancelled",
    ]
    payloads = [request.payload for request in receiver.requests]
    assert payloads[0]["data"]["booking"]["status"] == "held"
    assert payloads[1]["data"]["booking"]["status"] == "confirmed"
    assert payloads[3]["data"]["booking"]["status"] == "expired"
    assert payloads[3]["data"]["booking"]["customer"]["email"] == "late@example.test"
    rescheduled = payloads[4]["data"]
    assert rescheduled["booking"]["start"] == moved.isoformat()
    assert rescheduled["previous"]["start"] == first.isoformat()
    cancelled = payloads[5]["data"]["booking"]
    assert (cancelled["status"], cancelled["cancellation_reason"]) == (
        "cancelled",
        "Customer called",
    )
    assert len({payload["id"] for payload in payloads}) == 6


def test_endpoint_subscribed_to_some_events_gets_only_those(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    # given one endpoint for cancellations only and one for everything
    only_cancellations = subscribe(receiver.url + "?only=cancelled", ["booking.cancelled"])
    subscribe(receiver.url + "?only=all")

    # when a booking is held, confirmed and cancelled
    with django_capture_on_commit_callbacks(execute=True):
        booking = place.book()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=STAFF, reason="")

    # then the first endpoint heard of the cancellation alone
    by_path: dict[str, list[str]] = {}
    for request in receiver.requests:
        by_path.setdefault(request.path, []).append(request.payload["type"])
    assert by_path["/hooks/timenest?only=cancelled"] == ["booking.cancelled"]
    assert by_path["/hooks/timenest?only=all"] == [
        "booking.held",
        "booking.confirmed",
        "booking.cancelled",
    ]
    assert only_cancellations.endpoint.deliveries.count() == 1


def test_failed_attempt_is_retried_after_its_backoff_with_the_same_event(place: Place, receiver):
    # given a receiver that fails once with a 500, then recovers
    subscribe(receiver.url, ["booking.confirmed"])
    receiver.answer(500)
    place.book()  # its on-commit send does not run: the test drives the clock
    delivery = _only_delivery()
    t0 = delivery.next_attempt_at

    # when the first attempt is made
    first = webhook_delivery_send(delivery_id=delivery.pk, now=t0)

    # then it is logged and the next one waits for the backoff
    delivery.refresh_from_db()
    assert first == DeliveryOutcome.RETRY_SCHEDULED
    assert delivery.status == Status.PENDING
    assert delivery.next_attempt_at == t0 + retry_delay(1) == t0 + timedelta(minutes=1)
    assert delivery.last_status_code == 500
    early = webhook_delivery_send(delivery_id=delivery.pk, now=t0 + timedelta(seconds=59))
    assert early == DeliveryOutcome.SKIPPED
    assert webhook_deliveries_dispatch_due(now=t0 + timedelta(seconds=59)) == []

    # when the dispatcher runs after the backoff and the retry is sent
    due = webhook_deliveries_dispatch_due(now=t0 + timedelta(seconds=61))
    second = webhook_delivery_send(delivery_id=delivery.pk, now=t0 + timedelta(seconds=61))

    # then it succeeds, and both requests carried the same event id and body
    assert due == [delivery.pk]
    assert second == DeliveryOutcome.SUCCEEDED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in log] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert log[0].error == "The endpoint answered HTTP 500."
    assert log[0].response_excerpt == "receiver is down"
    first_request, second_request = receiver.requests
    assert first_request.body == second_request.body
    assert first_request.header(EVENT_ID_HEADER) == second_request.header(EVENT_ID_HEADER)
    assert (
        int(second_request.header(TIMESTAMP_HEADER)) - int(first_request.header(TIMESTAMP_HEADER))
        == 61
    )


def test_retry_schedule_doubles_up_to_the_cap_and_spans_about_a_day(settings):
    delays = [retry_delay(n) for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]

    assert [d.total_seconds() / 60 for d in delays[:9]] == [1, 2, 4, 8, 16, 32, 64, 128, 240]
    assert max(delays) == timedelta(hours=4)
    assert timedelta(hours=23) <= sum(delays, timedelta()) <= timedelta(hours=26)


def test_delivery_fails_for_good_after_its_last_attempt(place: Place, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.default_status = 503
    subscribe(receiver.url, ["booking.confirmed"])
    place.book()
    delivery = _only_delivery()
    clock = delivery.next_attempt_at

    outcomes = []
    for attempt in range(1, 4):
        outcomes.append(webhook_delivery_send(delivery_id=delivery.pk, now=clock))
        clock += retry_delay(attempt)

    delivery.refresh_from_db()
    assert outcomes == [
        DeliveryOutcome.RETRY_SCHEDULED,
        DeliveryOutcome.RETRY_SCHEDULED,
        DeliveryOutcome.FAILED,
    ]
    assert (delivery.status, delivery.status_reason) == (Status.FAILED, "attempts_exhausted")
    assert len(receiver.requests) == 3
    assert webhook_deliveries_dispatch_due(now=clock + timedelta(days=2)) == []


def test_replay_sends_the_same_event_again_as_a_new_attempt(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    # given a delivered confirmation
    hook = subscribe(receiver.url, ["booking.confirmed"])
    with django_capture_on_commit_callbacks(execute=True):
        place.book()
    delivery = _only_delivery()

    # when a person replays it
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_replay(delivery_id=delivery.pk)

    # then the receiver got the same event (id and body) a second time, freshly signed
    original, replayed = receiver.requests
    assert replayed.body == original.body
    assert replayed.header(EVENT_ID_HEADER) == original.header(EVENT_ID_HEADER)
    assert webhook_signature_verify(
        secret=hook.secret,
        timestamp=replayed.header(TIMESTAMP_HEADER),
        signature_header=replayed.header(SIGNATURE_HEADER),
        body=replayed.body,
        now=time.time(),
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.replays) == (Status.SUCCEEDED, 2, 1)
    triggers = list(
        WebhookAttempt.objects.filter(delivery=delivery)
        .order_by("number")
        .values_list("trigger", flat=True)
    )
    assert triggers == ["automatic", "manual"]


def test_replay_of_a_failed_delivery_is_one_more_attempt(place: Place, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answer(500, 500)
    subscribe(receiver.url, ["booking.confirmed"])
    place.book()
    delivery = _only_delivery()
    webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    replayed = webhook_delivery_replay(delivery_id=delivery.pk)
    outcome = webhook_delivery_send(delivery_id=delivery.pk, now=replayed.next_attempt_at)

    delivery.refresh_from_db()
    assert outcome == DeliveryOutcome.FAILED
    assert (delivery.status, delivery.attempts, delivery.attempts_allowed) == (Status.FAILED, 2, 2)
    assert len(receiver.requests) == 2


def test_endpoint_is_disabled_after_sustained_failure_and_the_admins_are_emailed(
    acme, place: Place, receiver, settings, mailoutbox, django_capture_on_commit_callbacks
):
    # given: two attempts per event, disable after 2 failed events over at least an hour
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = 2
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 3600
    admin = MembershipFactory.create(tenant=acme, role="admin")
    frontdesk = MembershipFactory.create(tenant=acme, role="frontdesk")
    receiver.default_status = 500
    hook = subscribe(receiver.url, ["booking.confirmed", "booking.cancelled"])
    place.book(starts_at=hour_from_now(hour=9))
    place.book(starts_at=hour_from_now(hour=10))
    first, second = WebhookDelivery.objects.order_by("created_at", "id")
    t0 = first.next_attempt_at

    # when the first event fails for good: one failed event is not enough
    webhook_delivery_send(delivery_id=first.pk, now=t0)
    webhook_delivery_send(delivery_id=first.pk, now=t0 + retry_delay(1))
    hook.endpoint.refresh_from_db()
    assert (hook.endpoint.failure_streak, hook.endpoint.is_active) == (1, True)

    # when the second fails for good, over an hour after the failing began
    later = t0 + timedelta(hours=2)
    webhook_delivery_send(delivery_id=second.pk, now=later)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_send(delivery_id=second.pk, now=later + retry_delay(1))

    # then the endpoint is disabled for failing, and each admin got an email
    hook.endpoint.refresh_from_db()
    assert hook.endpoint.is_active is False
    assert hook.endpoint.disabled_reason == WebhookEndpoint.DisabledReason.FAILING
    assert hook.endpoint.failure_streak == 2
    recipients = [message.to for message in mailoutbox]
    assert [admin.user.email] in recipients
    assert [frontdesk.user.email] not in recipients
    assert all(len(to) == 1 for to in recipients)
    message = next(m for m in mailoutbox if m.to == [admin.user.email])
    assert receiver.url in message.body
    assert f"/dashboard/integrations/webhooks/{hook.endpoint.pk}/" in message.body
    assert "Webhook endpoint disabled" in message.subject

    # and later events are not sent to it
    requests_before = len(receiver.requests)
    with django_capture_on_commit_callbacks(execute=True):
        place.book(starts_at=hour_from_now(hour=12))
    assert len(receiver.requests) == requests_before
    assert WebhookDelivery.objects.filter(endpoint=hook.endpoint).count() == 2


def test_failures_do_not_disable_an_endpoint_before_the_period(place: Place, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = 2
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 24 * 3600
    receiver.default_status = 500
    hook = subscribe(receiver.url, ["booking.confirmed"])
    for hour in (9, 10, 11):
        place.book(starts_at=hour_from_now(hour=hour))

    for delivery in WebhookDelivery.objects.order_by("created_at", "id"):
        webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    hook.endpoint.refresh_from_db()
    assert hook.endpoint.failure_streak == 3
    assert hook.endpoint.is_active


def test_a_success_resets_the_failure_streak(place: Place, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answer(500, 200)
    hook = subscribe(receiver.url, ["booking.confirmed"])
    for hour in (9, 10):
        place.book(starts_at=hour_from_now(hour=hour))
    first, second = WebhookDelivery.objects.order_by("created_at", "id")

    webhook_delivery_send(delivery_id=first.pk, now=first.next_attempt_at)
    hook.endpoint.refresh_from_db()
    streak_after_failure = hook.endpoint.failure_streak
    webhook_delivery_send(delivery_id=second.pk, now=second.next_attempt_at)
    hook.endpoint.refresh_from_db()

    assert streak_after_failure == 1
    assert (hook.endpoint.failure_streak, hook.endpoint.failing_since) == (0, None)
    assert hook.endpoint.last_success_at is not None


def test_rolled_back_booking_transaction_leaves_no_event_and_no_delivery(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    subscribe(receiver.url)

    written_inside: list[int] = []

    def book_then_fail() -> None:
        with transaction.atomic():
            place.book()
            written_inside.append(WebhookDelivery.objects.count())
            raise RuntimeError("the surrounding work failed")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        book_then_fail()

    assert written_inside == [2]  # held and confirmed, inside the transaction
    assert WebhookDelivery.objects.count() == 0
    assert WebhookEvent.objects.count() == 0
    assert callbacks == []
    assert receiver.requests == []


def test_disabled_endpoint_gets_no_new_events_and_its_queue_is_cancelled(place: Place, receiver):
    hook = subscribe(receiver.url, ["booking.confirmed"])
    place.book(starts_at=hour_from_now(hour=9))
    queued = _only_delivery()

    webhook_endpoint_update(endpoint=hook.endpoint, active=False)
    place.book(starts_at=hour_from_now(hour=10))
    outcome = webhook_delivery_send(delivery_id=queued.pk, now=queued.next_attempt_at)

    queued.refresh_from_db()
    assert (queued.status, queued.status_reason) == (Status.CANCELLED, "endpoint_disabled")
    assert outcome == DeliveryOutcome.SKIPPED
    assert WebhookDelivery.objects.count() == 1
    assert receiver.requests == []


def test_acme_endpoint_never_receives_globex_events(
    acme, globex, receiver, django_capture_on_commit_callbacks
):
    # given an endpoint of acme's, and a place to book at globex
    subscribe(receiver.url)
    with tenant_context(globex):
        resource = ResourceFactory.create()
        service = ServiceFactory.create(resources=[resource], name="Audit")
        globex_place = Place(resource=resource, service=service)

        # when globex takes bookings
        with django_capture_on_commit_callbacks(execute=True):
            globex_place.book()
        globex_rows = WebhookDelivery.objects.count()

    # then nothing reached acme's receiver, and acme has no deliveries either
    assert receiver.requests == []
    assert globex_rows == 0
    assert WebhookDelivery.objects.count() == 0


def test_secret_rotation_signs_with_both_secrets_for_a_day(
    place: Place, receiver, django_capture_on_commit_callbacks
):
    hook = subscribe(receiver.url, ["booking.held"])
    _endpoint, new_secret = webhook_endpoint_rotate_secret(endpoint=hook.endpoint)

    with django_capture_on_commit_callbacks(execute=True):
        place.hold()
    place.hold(starts_at=hour_from_now(hour=15))
    late = WebhookDelivery.objects.filter(status=Status.PENDING).get()
    webhook_delivery_send(delivery_id=late.pk, now=timezone.now() + timedelta(hours=25))

    during, after = receiver.requests
    for secret in (hook.secret, new_secret):
        assert webhook_signature_verify(
            secret=secret,
            timestamp=during.header(TIMESTAMP_HEADER),
            signature_header=during.header(SIGNATURE_HEADER),
            body=during.body,
            now=int(during.header(TIMESTAMP_HEADER)),
        )
    assert len(after.header(SIGNATURE_HEADER).split()) == 1
    assert webhook_signature_verify(
        secret=new_secret,
        timestamp=after.header(TIMESTAMP_HEADER),
        signature_header=after.header(SIGNATURE_HEADER),
        body=after.body,
        now=int(after.header(TIMESTAMP_HEADER)),
    )
    assert new_secret != hook.secret


def test_ping_reaches_even_a_disabled_endpoint_once(
    acme, receiver, django_capture_on_commit_callbacks
):
    receiver.answer(500)
    hook = subscribe(receiver.url)
    webhook_endpoint_update(endpoint=hook.endpoint, active=False)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_endpoint_ping(endpoint=hook.endpoint)

    delivery.refresh_from_db()
    (request,) = receiver.requests
    assert request.payload["type"] == "webhook.ping"
    assert request.payload["data"]["endpoint"]["id"] == str(hook.endpoint.pk)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    hook.endpoint.refresh_from_db()
    assert hook.endpoint.failure_streak == 0


def test_an_address_refused_at_send_time_is_logged_and_never_contacted(
    place: Place, receiver, settings
):
    # given an endpoint saved while loopback was allowed, then production rules
    subscribe(receiver.url, ["booking.confirmed"])
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    place.book()
    delivery = _only_delivery()

    outcome = webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert outcome == DeliveryOutcome.RETRY_SCHEDULED
    assert attempt.status_code is None
    assert "127.0.0.1" in attempt.error
    assert receiver.requests == []


def test_unreachable_receiver_is_a_failed_attempt_with_the_error(place: Place, receiver):
    subscribe(receiver.url, ["booking.confirmed"])
    receiver.stop()
    place.book()
    delivery = _only_delivery()

    outcome = webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert outcome == DeliveryOutcome.RETRY_SCHEDULED
    assert attempt.status_code is None
    assert attempt.error


def test_redirects_are_not_followed(place: Place, receiver):
    receiver.answer(302)
    subscribe(receiver.url, ["booking.confirmed"])
    place.book()
    delivery = _only_delivery()

    outcome = webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    assert outcome == DeliveryOutcome.RETRY_SCHEDULED
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 302
    assert "redirect" in attempt.error
    assert len(receiver.requests) == 1


def test_delivery_left_sending_by_a_dead_worker_is_queued_again(place: Place, receiver):
    subscribe(receiver.url, ["booking.confirmed"])
    place.book()
    delivery = _only_delivery()
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.SENDING, attempts=1, lease_expires_at=now - timedelta(seconds=1)
    )

    recovered = webhook_deliveries_recover_stale(now=now)
    outcome = webhook_delivery_send(delivery_id=delivery.pk, now=now)

    assert recovered == 1
    assert outcome == DeliveryOutcome.SUCCEEDED
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert len(receiver.requests) == 1


def test_event_body_is_stored_encrypted(place: Place, receiver):
    subscribe(receiver.url, ["booking.confirmed"])
    place.book()

    (event,) = WebhookEvent.objects.all()

    assert "jane@example.test" not in event.body_encrypted
    assert event.version == 1
