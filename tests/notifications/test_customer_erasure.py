"""An erased customer appears nowhere in clear: not in any text column of the business's
schema or of `public` (nor in what the encrypted ones decrypt to, nor as a lookup hash),
not in the outbox, not in webhook bodies, not in the logs of the whole flow. Their
bookings still to come are cancelled first, and the notice reaches their address."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.api.services import api_key_create
from apps.bookings import pii
from apps.bookings.customer_data import customer_erase
from apps.bookings.models import Booking, Customer
from apps.bookings.services import (
    CustomerInput,
    booking_hold,
    booking_mark_completed,
)
from apps.core.tenancy import current_schema
from apps.notifications.messages import sms
from apps.notifications.models import Notification, WebhookAttempt
from apps.notifications.webhooks.services import webhook_endpoint_create
from tests.notifications.factories import CUSTOMER, STAFF, hour_from_now
from tests.notifications.webhooks.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db

NAME = "Zebulon Quixote-Marchbanks"
ALIAS = "Zeb Quixote"
EMAIL = "zebulon.qm@erasure-test.example"
PHONE = "+447400123987"
NEEDLES = [NAME, "Zebulon", "Quixote", "Marchbanks", EMAIL, "zebulon.qm", PHONE, PHONE[1:]]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


def _hashes() -> list[str]:
    return [pii.lookup_hash(EMAIL), pii.lookup_hash(PHONE)]


def _like(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_columns(schemas: list[str]) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_schema, c.table_name, c.column_name "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'character', 'json', "
            "'jsonb', 'ARRAY') ORDER BY 1, 2, 3",
            [schemas],
        )
        return list(cursor.fetchall())


def _database_mentions(needles: list[str]) -> list[str]:
    """Every text, varchar, json(b) and array column of the tenant's schema (the one the
    connection is on) and public that holds one of `needles` (case-insensitive), as
    `schema.table.column: value`."""
    found = []
    patterns = [_like(needle) for needle in needles]
    schema = current_schema()
    assert schema != "public"
    columns = _text_columns([schema, "public"])
    # the scan really reads both schemas, the customers' and bookings' tables included
    scanned = {(table_schema, table) for table_schema, table, _ in columns}
    assert {(schema, "bookings_customer"), (schema, "notifications_webhookevent")} <= scanned
    assert {("public", "accounts_tenant"), ("public", "django_session")} <= scanned
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for schema, table, column in columns:
            cursor.execute(
                f"SELECT {qn(column)}::text FROM {qn(schema)}.{qn(table)} "  # noqa: S608
                f"WHERE {qn(column)}::text ILIKE ANY(%s)",
                [patterns],
            )
            found += [f"{schema}.{table}.{column}: {row[0][:200]}" for row in cursor.fetchall()]
    return found


def _decrypted_mentions(needles: list[str]) -> list[str]:
    """The same search in the clear text of every column that holds encrypted values."""
    found = []
    lowered = [needle.lower() for needle in needles]
    for columns in pii.encrypted_columns():
        model = apps.get_model(columns.model)
        for field in columns.fields:
            for token in model.objects.exclude(**{field: ""}).values_list(field, flat=True):
                try:
                    clear = pii.pii_decrypt(token).lower()
                except pii.InvalidToken:
                    continue
                if any(needle in clear for needle in lowered):
                    found.append(f"{columns.model}.{field}: {clear[:200]}")
    return found


def _log_mentions(records: list[logging.LogRecord], needles: list[str]) -> list[str]:
    lowered = [needle.lower() for needle in needles]
    found = []
    for record in records:
        text = f"{record.getMessage()} {record.__dict__!r}".lower()
        found += [f"{record.name}: {record.msg}" for needle in lowered if needle in text]
    return found


def test_an_erased_customer_appears_nowhere_in_clear(
    place, receiver, caplog, acme_host, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    # given an integrator receiving every booking event (deliveries stored)
    webhook_endpoint_create(url=receiver.url, description="CRM")
    with django_capture_on_commit_callbacks(execute=True):
        # a past booking that took place, with its messages sent
        past = place.book(starts_at=hour_from_now(days=2), email=EMAIL, phone=PHONE, name=NAME)
    Booking.objects.filter(pk=past.pk).update(
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=3) + timedelta(minutes=30),
    )
    booking_mark_completed(booking=past, actor=STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        # two bookings to come (one typed with another name: the same customer by email)
        # and a hold
        upcoming = place.book(starts_at=hour_from_now(days=4), email=EMAIL, phone=PHONE, name=NAME)
        typed_otherwise = place.book(
            starts_at=hour_from_now(days=5), email=EMAIL.upper(), phone=PHONE, name=ALIAS
        )
        place.slots(hour_from_now(days=6))
        held = booking_hold(
            service=place.service,
            resource=place.resource,
            starts_at=hour_from_now(days=6),
            customer=CustomerInput(name=NAME, email=EMAIL, phone=PHONE),
            actor=CUSTOMER,
        )
    # an admin changed a booking through the API with an Idempotency-Key: the stored
    # answer (kept 24 h, encrypted) names the customer
    _key, secret = api_key_create(role="admin", name="erasure test")
    api = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {secret}")
    patched = api.patch(
        f"/api/v1/admin/bookings/{upcoming.pk}",
        data=json.dumps({"status": "confirmed"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="confirm-again-1",
    )
    assert patched.status_code == 200
    assert patched.json()["customer"]["email"] == EMAIL
    # and an integrator whose answers echo what it was sent
    WebhookAttempt.objects.update(response_excerpt=receiver.requests[0].body.decode()[:1000])
    customer = Customer.objects.get()
    sent_before = {tuple(message.to) for message in mail.outbox}
    assert sent_before == {(EMAIL,)} and {text.to for text in sms.outbox} == {PHONE}
    # (each probe finds them before: names in clear, hashes, contacts once decrypted)
    assert _database_mentions([NAME]) and _database_mentions(_hashes())
    assert {hit.split(":")[0] for hit in _decrypted_mentions([EMAIL, PHONE])} >= {
        "bookings.Customer.email_encrypted",
        "bookings.Booking.contact_phone_encrypted",
        "bookings.IdempotencyRecord.response_body",
        "notifications.WebhookEvent.body_encrypted",
    }
    mail.outbox.clear()
    sms.outbox.clear()
    deliveries_before = len(receiver.requests)

    # when an admin erases the customer
    with django_capture_on_commit_callbacks(execute=True):
        outcome = customer_erase(customer=customer, actor=STAFF, reason="GDPR request #4521")
        # (the notices still to go out keep where they go until they are sent)
        kept = Notification.objects.filter(kind="cancelled").exclude(recipient_encrypted="")
        assert kept.count() == 4  # email and SMS of each confirmed booking to come

    # then the bookings to come were cancelled, and the customer told at their address
    assert outcome.bookings_cancelled == 3
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {
        past.pk: "completed",
        upcoming.pk: "cancelled",
        typed_otherwise.pk: "cancelled",
        held.pk: "cancelled",
    }
    assert sorted(tuple(message.to) for message in mail.outbox) == [(EMAIL,), (EMAIL,)]
    assert all("cancelled" in message.subject.lower() for message in mail.outbox)
    greetings = sorted(NAME in m.body or ALIAS in m.body for m in mail.outbox)
    assert greetings == [True, True]
    assert sorted(text.to for text in sms.outbox) == [PHONE, PHONE]
    assert not Notification.objects.exclude(recipient_encrypted="").exists()
    # the integrator heard of the cancellations, without the person's details
    after = receiver.requests[deliveries_before:]
    assert sorted(request.payload["type"] for request in after) == ["booking.cancelled"] * 3
    for request in after:
        sent = request.body.decode().lower()
        assert not [needle for needle in NEEDLES if needle.lower() in sent], sent
        assert request.payload["data"]["booking"]["customer"]["name"].startswith("Erased customer ")
    # and nothing anywhere names them, holds their address or number, or their hashes
    assert _database_mentions(NEEDLES + _hashes()) == []
    assert _decrypted_mentions(NEEDLES) == []
    assert _log_mentions(caplog.records, NEEDLES) == []
    assert {"customer.erased", "notification.sent", "webhook_delivery.succeeded"} <= {
        str(record.msg) for record in caplog.records
    }
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert customer.name == f"Erased customer {customer.pk.hex[-4:]}"
    # a replay of the stored answer answers the pseudonym
    replay = api.patch(
        f"/api/v1/admin/bookings/{upcoming.pk}",
        data=json.dumps({"status": "confirmed"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="confirm-again-1",
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["customer"] == {
        "id": str(customer.pk),
        "name": customer.name,
        "email": "",
        "phone": "",
    }


def test_the_same_address_books_again_as_a_new_customer(place):
    first = place.book(starts_at=hour_from_now(days=3), email=EMAIL, name=NAME)
    customer_erase(customer=first.customer, actor=STAFF, reason="GDPR request #4522")

    again = place.book(starts_at=hour_from_now(days=4), email=EMAIL, name=NAME)

    assert again.customer_id != first.customer_id
    assert again.customer.email == EMAIL
    assert Customer.objects.get(pk=first.customer_id).email == ""
