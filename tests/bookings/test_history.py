"""Booking history is append-only in the database; model changes are audited."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction

from apps.bookings.actors import ActorRef
from apps.bookings.audit import audit_actor
from apps.bookings.models import Booking, BookingEvent, Customer
from apps.bookings.services import booking_cancel, booking_hold
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.resources.models import Location, Resource, Service
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)
from tests.plugins.factories import UserFactory, verified_staff_client


@pytest.fixture
def booking(acme):
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    return booking_hold(
        service=service, resource=resource, starts_at=start, customer=customer(), actor=CUSTOMER
    )


def test_booking_event_update_is_refused_by_the_database(booking):
    event = booking.events.get()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        BookingEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    event.kind = BookingEvent.Kind.CONFIRMED
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        event.save()

    event.refresh_from_db()
    assert (event.kind, event.reason) == ("held", "")


def test_booking_event_delete_is_refused_by_the_database(booking):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        BookingEvent.objects.filter(booking=booking).delete()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM bookings_bookingevent")

    assert booking.events.count() == 1


def test_booking_event_trigger_lives_in_every_tenant_schema(acme, globex):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE t.tgname = 'bookings_bookingevent_append_only'"
        )
        schemas = {row[0] for row in cursor.fetchall()}
    assert {acme.schema_name, globex.schema_name, "tenant_template"} <= schemas


def test_audit_covers_bookings_and_scheduling_models_but_not_slot_counters():
    for model in (Customer, Booking, Location, Resource, Service, AvailabilityRule):
        assert auditlog.contains(model), model
    assert not auditlog.contains(SlotInstance)
    assert not auditlog.contains(BookingEvent)


def test_audit_records_booking_changes_without_contact_columns(booking):
    booking_cancel(booking=booking, actor=CUSTOMER, reason="Changed plans")

    booking_type = ContentType.objects.get_for_model(Booking)
    changes = LogEntry.objects.filter(content_type=booking_type, object_pk=str(booking.pk))
    created = changes.get(action=LogEntry.Action.CREATE)
    # the encrypted contact the booking was made with stays out too
    assert "starts_at" in created.changes_dict
    assert not {"contact_email_encrypted", "contact_phone_encrypted"} & set(created.changes_dict)
    update = changes.filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert update.changes_dict["status"] == ["held", "cancelled"]
    customer_entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Customer), object_pk=str(booking.customer_id)
    )
    assert not {"email_encrypted", "phone_encrypted", "email_hash", "phone_hash"} & set(
        customer_entry.changes_dict
    )


def test_audit_actor_attributes_task_changes_to_the_staff_user(booking):
    user = UserFactory()

    with audit_actor(ActorRef.staff(str(user.pk), label="front desk")):
        booking_cancel(booking=booking, actor=ActorRef.staff(str(user.pk)), reason="Closed")
    with audit_actor(ActorRef.system()):
        ResourceFactory()

    entry = LogEntry.objects.filter(
        object_pk=str(booking.pk), action=LogEntry.Action.UPDATE
    ).latest("timestamp")
    assert entry.actor_id == user.pk
    assert LogEntry.objects.filter(content_type__model="resource").latest("timestamp").actor is None


def test_audit_actor_of_a_change_made_in_a_request_is_the_signed_in_person(acme, acme_host):
    # given a support agent in acme's admin (password and second factor passed)
    client = verified_staff_client(acme_host, email="agent@timenest.test")

    # when they add a location there
    response = client.post(
        "/admin/resources/location/add/",
        {"name": "Harbour Clinic", "timezone": "Europe/London", "address": "1 Quay St"},
    )

    # then its history names them as the actor
    assert response.status_code == 302
    location = Location.objects.get(name="Harbour Clinic")
    entry = LogEntry.objects.get_for_object(location).get()
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor is not None
    assert entry.actor.email == "agent@timenest.test"
