"""A customer's data for GDPR requests: the export (every section, decrypted, as JSON and
as a zip of CSV files) and erasure (future bookings cancelled whatever the window, the
contact shredded, audited without personal data, idempotent)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.customer_data import (
    customer_erase,
    customer_erasure_preview,
    customer_export,
    customer_export_file,
)
from apps.bookings.models import Booking, BookingEvent, Customer, Payment
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.core.errors import ValidationFailed
from apps.notifications.models import Notification
from apps.notifications.webhooks.services import webhook_endpoint_create
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.plugins.factories import UserFactory

pytestmark = pytest.mark.django_db

NAME = "Ottilie Vandersloot"
EMAIL = "ottilie.v@export-test.example"
PHONE = "+33612987654"


@pytest.fixture
def admin(acme: Tenant) -> ActorRef:
    user = UserFactory.create(email="boss@acme.test", full_name="Bo Boss")
    return ActorRef.staff(str(user.pk), label=user.email)


@pytest.fixture
def book(acme: Tenant):
    resource = ResourceFactory.create(name="Room 7")
    service = ServiceFactory.create(name="Massage", resources=[resource])

    def make(*, days: int = 3, hours: int = 0, name: str = NAME, phone: str = PHONE, notes=""):
        start = future_start(days=days) + timedelta(hours=hours)
        if days == 0:
            start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=hours)
        slots_create(resource=resource, starts_at=start)
        held = booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=CustomerInput(name=name, email=EMAIL, phone=phone),
            notes=notes,
            actor=CUSTOMER,
        )
        return booking_confirm(booking=held, actor=CUSTOMER)

    return make


def _audit_text(entry: LogEntry) -> str:
    return json.dumps(
        [entry.changes, entry.changes_text, entry.object_repr, entry.additional_data]
    ).lower()


# --- Export ----------------------------------------------------------------------------


def test_export_holds_every_section_decrypted(book, admin):
    # given a customer with a paid booking, a booking typed with another name, a webhook
    # endpoint that heard of them and the model history
    webhook_endpoint_create(url="https://hooks.example.com/crm", description="CRM")
    first = book(days=3, notes="Left knee")
    second = book(days=4, name="Otti V", phone="")
    Payment.objects.create(
        booking=first,
        kind=Payment.Kind.CHARGE,
        status=Payment.Status.SUCCEEDED,
        amount=Decimal("45.00"),
        currency="EUR",
        payment_intent_id="pi_123",
        actor_type="customer",
    )
    Notification.objects.filter(booking=first, kind="confirmed").update(
        status=Notification.Status.SENT, sent_at=timezone.now()
    )
    customer = first.customer

    # when it is exported
    document = customer_export(customer=customer)

    # then every section is there, in clear
    assert set(document) >= {
        "customer",
        "bookings",
        "notifications",
        "webhook_events",
        "audit_entries",
        "unreadable",
    }
    assert document["customer"] | {"created_at": None, "updated_at": None} == {
        "id": str(customer.pk),
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "created_at": None,
        "updated_at": None,
        "erased_at": None,
    }
    by_id = {booking["id"]: booking for booking in document["bookings"]}
    assert by_id[str(first.pk)]["contact"] == {"name": NAME, "email": EMAIL, "phone": PHONE}
    assert by_id[str(second.pk)]["contact"] == {"name": "Otti V", "email": EMAIL, "phone": ""}
    assert by_id[str(first.pk)]["notes"] == "Left knee"
    assert by_id[str(first.pk)]["service"] == {"id": str(first.service_id), "name": "Massage"}
    assert by_id[str(first.pk)]["resource"]["name"] == "Room 7"
    (payment,) = by_id[str(first.pk)]["payments"]
    assert (payment["kind"], payment["status"], payment["amount"], payment["currency"]) == (
        "charge",
        "succeeded",
        "45.00",
        "EUR",
    )
    assert [event["kind"] for event in by_id[str(first.pk)]["history"]] == ["held", "confirmed"]
    messages = {
        (row["booking_id"], row["kind"], row["status"]) for row in document["notifications"]
    }
    assert (str(first.pk), "confirmed", "sent") in messages
    assert (str(second.pk), "reminder", "pending") in messages
    webhook_types = [(event["booking_id"], event["type"]) for event in document["webhook_events"]]
    assert (str(first.pk), "booking.confirmed") in webhook_types
    confirmed = next(e for e in document["webhook_events"] if e["type"] == "booking.confirmed")
    assert confirmed["payload"]["data"]["booking"]["customer"]["email"] == EMAIL
    assert confirmed["deliveries"][0]["endpoint"] == "https://hooks.example.com/crm"
    audited = {(entry["model"], entry["object_id"]) for entry in document["audit_entries"]}
    assert ("customer", str(customer.pk)) in audited
    assert ("booking", str(first.pk)) in audited
    assert document["unreadable"] == []
    json.dumps(document)  # one JSON document


def test_export_lists_values_no_key_can_read_instead_of_failing(book):
    booking = book()
    Customer.objects.filter(pk=booking.customer_id).update(phone_encrypted="0badc0de:gone")

    document = customer_export(customer=Customer.objects.get(pk=booking.customer_id))

    assert document["customer"]["phone"] is None
    assert document["unreadable"] == ["customer.phone"]


def test_csv_export_is_a_zip_of_one_csv_per_section_safe_for_spreadsheets(book, admin):
    booking = book(name="=HYPERLINK(1)")

    export = customer_export_file(customer=booking.customer, actor=admin, file_format="csv")

    assert (export.filename, export.content_type) == (
        f"customer-{booking.customer_id}.zip",
        "application/zip",
    )
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert set(archive.namelist()) >= {
        "customer.csv",
        "bookings.csv",
        "payments.csv",
        "booking_history.csv",
        "notifications.csv",
        "webhook_events.csv",
        "audit_entries.csv",
    }
    (customer_row,) = csv.DictReader(io.StringIO(archive.read("customer.csv").decode()))
    assert customer_row["name"] == "'=HYPERLINK(1)"
    assert customer_row["email"] == EMAIL
    (booking_row,) = csv.DictReader(io.StringIO(archive.read("bookings.csv").decode()))
    assert (booking_row["id"], booking_row["contact_email"], booking_row["service_name"]) == (
        str(booking.pk),
        EMAIL,
        booking.service.name,
    )
    history = list(csv.DictReader(io.StringIO(archive.read("booking_history.csv").decode())))
    assert [(row["booking_id"], row["kind"]) for row in history] == [
        (str(booking.pk), "held"),
        (str(booking.pk), "confirmed"),
    ]


def test_export_is_recorded_as_an_access_by_whoever_asked(book, admin):
    booking = book()

    customer_export_file(customer=booking.customer, actor=admin, file_format="json")

    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS, object_pk=str(booking.customer_id))
    assert str(entry.actor_id) == admin.id
    assert entry.additional_data["action"] == "customer.exported"
    assert entry.additional_data["format"] == "json"
    assert NAME.lower() not in _audit_text(entry)


def test_export_refuses_an_unknown_format(book, admin):
    booking = book()

    with pytest.raises(ValidationFailed) as refused:
        customer_export_file(customer=booking.customer, actor=admin, file_format="xml")

    assert refused.value.details[0].field == "format"


# --- Erasure ---------------------------------------------------------------------------


def test_erase_shreds_the_contact_and_keeps_the_bookings_anonymous(book, admin):
    past_like = book(days=3, notes="Allergic to nuts")
    customer = past_like.customer

    outcome = customer_erase(customer=customer, actor=admin, reason="Ticket 881")

    customer.refresh_from_db()
    assert outcome.already_erased is False
    assert customer.name == f"Erased customer {customer.pk.hex[-4:]}"
    assert (customer.email_encrypted, customer.phone_encrypted) == ("", "")
    assert (customer.email_hash, customer.phone_hash) == ("", "")
    assert customer.erased_at is not None
    booking = Booking.objects.get(pk=past_like.pk)
    assert (booking.contact_name, booking.contact_email_encrypted) == ("", "")
    assert (booking.contact_phone_encrypted, booking.notes) == ("", "")
    # the booking stays for the business's figures, its contact now the pseudonym's
    assert (booking.contact.name, booking.contact.email) == (customer.name, "")
    assert (booking.service_id, booking.starts_at) == (past_like.service_id, past_like.starts_at)


def test_erase_cancels_bookings_to_come_even_inside_the_cancellation_window(book, acme):
    # given a business whose customers may cancel up to a day ahead, and an API key
    Tenant.objects.filter(pk=acme.pk).update(cancellation_window_minutes=24 * 60)
    soon = book(days=0, hours=3)
    later = book(days=5)
    api_key = ActorRef.api_key("0190a0f0-0000-7000-8000-00000000beef", label="crm key")
    assert customer_erasure_preview(customer=soon.customer) == 2

    # when the key's holder erases the customer
    outcome = customer_erase(customer=soon.customer, actor=api_key, reason="Ticket 882")

    # then both are cancelled by the system on the key's behalf, their places freed
    assert outcome.bookings_cancelled == 2
    for booking in (soon, later):
        fresh = Booking.objects.get(pk=booking.pk)
        assert fresh.status == Booking.Status.CANCELLED
        event = BookingEvent.objects.filter(booking=booking).latest("id")
        assert (event.kind, event.actor_type) == ("cancelled", "system")
        assert event.actor_id == api_key.key
        assert event.reason == "The customer's personal data was erased."
    assert customer_erasure_preview(customer=soon.customer) == 0


def test_erase_is_audited_with_actor_and_reason_and_no_personal_data(book, admin):
    booking = book()

    customer_erase(customer=booking.customer, actor=admin, reason="GDPR ticket 883")

    entry = LogEntry.objects.get(
        object_pk=str(booking.customer_id), additional_data__action="customer.erased"
    )
    assert str(entry.actor_id) == admin.id
    assert entry.object_repr == f"customer {booking.customer_id}"
    assert entry.additional_data["reason"] == "GDPR ticket 883"
    assert entry.additional_data["bookings_cancelled"] == 1
    assert entry.additional_data["by"]["type"] == "staff"
    text = _audit_text(entry)
    for needle in (NAME, "ottilie", "vandersloot", EMAIL, PHONE, PHONE[1:]):
        assert needle.lower() not in text


def test_erasing_twice_changes_nothing_the_second_time(book, admin):
    booking = book()
    customer_erase(customer=booking.customer, actor=admin, reason="Ticket 884")
    erased = Customer.objects.get(pk=booking.customer_id)
    entries = LogEntry.objects.count()

    again = customer_erase(customer=erased, actor=admin, reason="Ticket 884")

    assert again.already_erased is True
    assert again.bookings_cancelled == 0
    assert Customer.objects.get(pk=erased.pk).erased_at == erased.erased_at
    assert Customer.objects.get(pk=erased.pk).name == erased.name
    assert LogEntry.objects.count() == entries


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "x" * 501, f"Asked by {NAME}", f"mail from {EMAIL.upper()}", f"call {PHONE}"],
)
def test_erase_refuses_a_reason_that_is_missing_too_long_or_names_the_person(book, admin, reason):
    booking = book()

    with pytest.raises(ValidationFailed) as refused:
        customer_erase(customer=booking.customer, actor=admin, reason=reason)

    assert refused.value.details[0].field == "reason"
    customer = Customer.objects.get(pk=booking.customer_id)
    assert (customer.erased_at, customer.email) == (None, EMAIL)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


def test_an_erased_customer_exports_as_the_pseudonym_with_no_contact(book, admin):
    booking = book()
    customer_erase(customer=booking.customer, actor=admin, reason="Ticket 885")
    erased = Customer.objects.get(pk=booking.customer_id)

    document = customer_export(customer=erased)

    assert document["customer"]["name"] == erased.name
    assert (document["customer"]["email"], document["customer"]["phone"]) == ("", "")
    assert document["bookings"][0]["contact"] is None
    assert document["customer"]["erased_at"] == erased.erased_at.isoformat()
    text = json.dumps(document).lower()
    assert EMAIL not in text and "vandersloot" not in text and pii.lookup_hash(EMAIL) not in text


def test_erase_takes_the_person_out_of_reasons_typed_on_bookings_and_payments(book, admin):
    booking = book()
    Booking.objects.filter(pk=booking.pk).update(
        status=Booking.Status.NO_SHOW, cancellation_reason=f"{NAME} phoned ({PHONE})"
    )
    Payment.objects.create(
        booking=booking,
        kind=Payment.Kind.REFUND,
        status=Payment.Status.SUCCEEDED,
        amount=Decimal("5.00"),
        currency="EUR",
        reason=f"Goodwill for {NAME.upper()}",
        actor_type="staff",
    )

    customer_erase(customer=booking.customer, actor=admin, reason="Ticket 886")

    pseudonym = Customer.objects.get(pk=booking.customer_id).name
    assert Booking.objects.get(pk=booking.pk).cancellation_reason == f"{pseudonym} phoned ()"
    assert Payment.objects.get(booking=booking).reason == f"Goodwill for {pseudonym}"
