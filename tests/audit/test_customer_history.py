"""Customers' names and contact details stay out of the model history: left out of the
diffs and of the entries' labels from now on, and blanked once in entries written
before (apps/audit/migrations/0003)."""

from __future__ import annotations

import importlib

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils.module_loading import import_string

from apps.bookings.models import Booking, Customer
from apps.bookings.services import CustomerInput, booking_hold
from apps.resources.models import Location
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.plugins.audit_guard import audit_guard_lifted

MIGRATION = importlib.import_module("apps.audit.migrations.0003_audit_trails_append_only")


def _history_mentions(pattern: str) -> int:
    """Entries of this schema's model history whose text matches `pattern` anywhere."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM auditlog_logentry WHERE concat_ws(' ', changes::text, "
            "changes_text, object_repr, serialized_data::text, additional_data::text) ~* %s",
            [pattern],
        )
        return int(cursor.fetchone()[0])


def test_a_customers_name_and_contact_stay_out_of_the_history(acme):
    # given a customer who books with their name, email and phone
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(
            name="Ada Lovelace", email="ada.lovelace@example.test", phone="+44 7911 123456"
        ),
        actor=CUSTOMER,
        notes="Ada has a knee injury from 2019",
    )
    # and a member of staff who corrects the name later
    customer = booking.customer
    customer.name = "Augusta Ada King"
    customer.save()

    # then the history has the customer's creation and the change of name, without the
    # names, labelled by id
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_pk=str(customer.pk)
    )
    assert {entry.action for entry in entries} == {LogEntry.Action.CREATE, LogEntry.Action.UPDATE}
    assert entries.get(action=LogEntry.Action.UPDATE).changes_dict == {"name": ["", ""]}
    assert {entry.object_repr for entry in entries} == {f"customer {customer.pk}"}
    # and nothing in it names them or holds their contact details (the booking's own
    # entry included: it carries the contact given with it)
    # (the phone as typed or normalized: "7911" alone also turns up inside ids)
    assert _history_mentions("lovelace|augusta|447911|7911 123|ada\\.|knee injury") == 0
    assert LogEntry.objects.filter(object_pk=str(booking.pk)).exists()


def test_the_migration_blanks_names_in_customer_entries_written_before(acme):
    # given entries written before the change (labelled with the name, the name in the diff)
    customer_type = ContentType.objects.get_for_model(Customer)
    legacy, unrelated = LogEntry.objects.bulk_create(
        [
            LogEntry(
                content_type=customer_type,
                object_pk="c-1",
                object_repr="Ada Lovelace",
                action=LogEntry.Action.UPDATE,
                changes={"name": ["Ada Byron", "Ada Lovelace"], "updated_at": ["t1", "t2"]},
                changes_text="name: Ada Lovelace",
            ),
            LogEntry(
                content_type=ContentType.objects.get_for_model(Location),
                object_pk="l-1",
                object_repr="Lovelace House",
                action=LogEntry.Action.CREATE,
                changes={"name": ["None", "Lovelace House"]},
            ),
        ]
    )

    # when the migration's clean-up runs (before its guard exists; here with it lifted)
    with audit_guard_lifted(), connection.cursor() as cursor:
        cursor.execute(MIGRATION.CUSTOMER_ENTRIES_BLANK_SQL)

    # then the customer's entry keeps what changed, without the name
    legacy.refresh_from_db()
    assert legacy.changes == {"name": ["", ""], "updated_at": ["t1", "t2"]}
    assert (legacy.object_repr, legacy.changes_text) == ("customer c-1", "")
    # and entries about other things are left as they were
    unrelated.refresh_from_db()
    assert unrelated.changes == {"name": ["None", "Lovelace House"]}
    assert unrelated.object_repr == "Lovelace House"


def test_the_clean_up_runs_before_the_guard_in_the_migration():
    sql = [operation.sql for operation in MIGRATION.Migration.operations]
    assert sql.index(MIGRATION.CUSTOMER_ENTRIES_BLANK_SQL) < sql.index(MIGRATION.TRIGGERS_SQL)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Customer, "name"),
        (Customer, "email_encrypted"),
        (Customer, "phone_encrypted"),
        (Customer, "email_hash"),
        (Customer, "phone_hash"),
        (Booking, "contact_name"),
        (Booking, "contact_email_encrypted"),
        (Booking, "contact_phone_encrypted"),
        (Booking, "notes"),
    ],
)
def test_contact_fields_of_customers_and_bookings_are_left_out_or_blanked(model, field):
    registration = auditlog.get_model_fields(model)
    assert field in registration["exclude_fields"] or (
        field in registration["mask_fields"]
        and import_string(registration["mask_callable"])("Ada Lovelace") == ""
    )
