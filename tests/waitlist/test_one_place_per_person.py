"""One place in line per person and time: the very same ask again gives the entry back,
an overlapping one is refused (WAITLIST_ALREADY_WAITING) with nothing written, and the
database refuses a second live entry even when the service's check is passed by; the
booking pages say so above the form."""

from __future__ import annotations

import importlib
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from apps.bookings.models import Customer
from apps.bookings.services import CustomerInput
from apps.waitlist.errors import WaitlistAlreadyWaiting
from apps.waitlist.models import WaitlistEntry
from apps.waitlist.services import PERSON_CONSTRAINTS, waitlist_entry_remove, waitlist_join
from tests.bookings.factories import CUSTOMER, STAFF, customer
from tests.waitlist.factories import FullTime, full_time

pytestmark = pytest.mark.django_db

HALF_HOUR = timedelta(minutes=30)


def _join(full: FullTime, first: int, last: int, *, who=None, anyone: bool = False):
    """Joins for the full starts `first` to `last` (indexes into its slots)."""
    return waitlist_join(
        service=full.service,
        resource=None if anyone else full.resource,
        earliest_at=full.slots[first].starts_at,
        latest_at=full.slots[last].starts_at,
        customer=who or customer("ann"),
        actor=CUSTOMER,
    )


def test_an_overlapping_join_is_refused_and_writes_nothing(acme):
    # given someone waiting for the first two of three full times
    full = full_time(count=3)
    entry = _join(full, 0, 1)
    customers_before = Customer.objects.count()

    # when they ask for the second and third (the address typed differently)
    with pytest.raises(WaitlistAlreadyWaiting) as caught:
        _join(full, 1, 2, who=CustomerInput(name="Ann", email=" CustomerAnn@Example.TEST "))

    # then they are told they wait already, and nothing was written
    assert caught.value.code == "WAITLIST_ALREADY_WAITING"
    assert caught.value.http_status == 409
    assert caught.value.message == "Already on the waitlist for some of these times."
    assert list(WaitlistEntry.objects.values_list("pk", flat=True)) == [entry.pk]
    assert Customer.objects.count() == customers_before


def test_the_very_same_ask_gives_the_entry_back(acme):
    full = full_time(count=2)
    entry = _join(full, 0, 1)

    again = _join(full, 0, 1)

    assert again.pk == entry.pk
    assert WaitlistEntry.objects.count() == 1


def test_separate_times_a_resource_and_anyone_are_separate_places_in_line(acme):
    # given someone waiting for the first of two full times with the room
    full = full_time(count=2)
    first = _join(full, 0, 0)

    # when they also wait for the second time, and for the first with anyone
    second = _join(full, 1, 1)
    anyone = _join(full, 0, 0, anyone=True)
    # and someone else for the very same times
    other = _join(full, 0, 1, who=customer("bob"))

    # then each is an entry of its own
    assert len({first.pk, second.pk, anyone.pk, other.pk}) == 4
    assert anyone.resource_id is None


def test_someone_taken_off_the_line_may_join_again(acme):
    full = full_time(count=2)
    entry = _join(full, 0, 1)
    waitlist_entry_remove(entry=entry, actor=STAFF)

    again = _join(full, 1, 1)

    assert again.pk != entry.pk
    assert again.status == WaitlistEntry.Status.WAITING


@pytest.mark.parametrize("anyone", [False, True])
def test_the_database_refuses_a_second_live_entry_for_overlapping_times(acme, anyone):
    # given someone waiting (with the room, or with anyone)
    full = full_time(count=2)
    entry = _join(full, 0, 1, anyone=anyone)

    # when a second live entry of theirs is written past the service (its check raced)
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        WaitlistEntry.objects.create(
            service=entry.service,
            resource=entry.resource,
            customer=entry.customer,
            earliest_at=entry.latest_at,
            latest_at=entry.latest_at + HALF_HOUR,
            contact_name=entry.contact_name,
            email_hash=entry.email_hash,
            created_by_type="customer",
        )

    # then the exclusion constraint names itself
    expected = (
        "waitlist_entry_one_live_per_person_anyone"
        if anyone
        else "waitlist_entry_one_live_per_person"
    )
    assert caught.value.__cause__.diag.constraint_name == expected
    assert WaitlistEntry.objects.count() == 1


def test_the_migration_takes_overlapping_duplicates_off_the_line_first(acme):
    # given, from before the constraints, a person waiting twice for overlapping times
    # (and once for a later time), and someone else for the same times
    migration = importlib.import_module(
        "apps.waitlist.migrations.0003_entry_one_live_per_person_answers"
    )
    full = full_time(count=3)
    first = _join(full, 0, 1)
    later = _join(full, 2, 2)
    other = _join(full, 0, 1, who=customer("bob"))
    with connection.cursor() as cursor:
        # (the rows just written have their deferred foreign key checks run first)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in (
            "waitlist_entry_one_live_per_person",
            "waitlist_entry_one_live_per_person_anyone",
        ):
            cursor.execute(f"ALTER TABLE waitlist_waitlistentry DROP CONSTRAINT {name}")
    duplicate = WaitlistEntry.objects.create(
        service=first.service,
        resource=first.resource,
        customer=first.customer,
        earliest_at=full.slots[1].starts_at,
        latest_at=full.slots[1].starts_at,
        contact_name=first.contact_name,
        email_hash=first.email_hash,
        created_by_type="customer",
    )

    # when the migration's first step runs
    with connection.cursor() as cursor:
        cursor.execute(migration.DUPLICATES_REMOVED)

    # then only the later duplicate left the line
    statuses = dict(WaitlistEntry.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: "waiting",
        later.pk: "waiting",
        other.pk: "waiting",
        duplicate.pk: "removed",
    }


def test_the_join_page_says_so_and_keeps_what_was_typed(shop, visitor):
    # given someone waiting for the first of two full times
    full = full_time(count=2)
    _join(full, 0, 0, who=CustomerInput(name="Ann", email="ann@example.test"))
    local = full.starts_at.astimezone(ZoneInfo(full.resource.location.timezone))
    url = reverse("booking:waitlist", args=[full.service.pk, full.resource.pk])

    # when they ask again for the whole day from the booking pages
    response = visitor.post(
        url, {"day": local.date().isoformat(), "name": "Ann W.", "email": "ann@example.test"}
    )

    # then they are told they wait already, with what they typed kept
    assert response.status_code == 409
    body = response.content.decode()
    assert "Already on the waitlist for some of these times." in body
    assert 'value="Ann W."' in body
    assert WaitlistEntry.objects.count() == 1


def test_the_migration_leaves_no_overlap_the_constraints_refuse(acme):
    # given, from before the constraints, a person offered two places for overlapping
    # ranges (offered the first start for the first two, the third for the last two),
    # and waiting a third time for the middle one
    migration = importlib.import_module(
        "apps.waitlist.migrations.0003_entry_one_live_per_person_answers"
    )
    full = full_time(count=3)
    constraints = [
        constraint
        for constraint in WaitlistEntry._meta.constraints
        if constraint.name in PERSON_CONSTRAINTS
    ]
    first = _join(full, 0, 1)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.remove_constraint(WaitlistEntry, constraint)

    def duplicate(first_slot: int, last_slot: int) -> WaitlistEntry:
        return WaitlistEntry.objects.create(
            service=first.service,
            resource=first.resource,
            customer=first.customer,
            earliest_at=full.slots[first_slot].starts_at,
            latest_at=full.slots[last_slot].starts_at,
            contact_name=first.contact_name,
            email_hash=first.email_hash,
            created_by_type="customer",
        )

    second = duplicate(1, 2)
    middle = duplicate(1, 1)
    WaitlistEntry.objects.filter(pk__in=[first.pk, second.pk]).update(status="offered")

    # when the migration's first step runs, then its constraints are added
    with connection.cursor() as cursor:
        cursor.execute(migration.DUPLICATES_REMOVED)
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.add_constraint(WaitlistEntry, constraint)

    # then the first offered entry stays, the later ones left the line (the later
    # offer's hold stays the customer's until it lapses, as when staff remove it)
    statuses = dict(WaitlistEntry.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "offered", second.pk: "removed", middle.pk: "removed"}


def test_the_migration_locks_the_line_from_its_clean_up_to_its_constraints():
    # (a join by the app still running during a deploy, between the clean-up and the
    # constraints, would make their creation fail)
    migration = importlib.import_module(
        "apps.waitlist.migrations.0003_entry_one_live_per_person_answers"
    )
    operations = migration.Migration.operations
    assert migration.Migration.atomic
    assert operations[0].sql == [migration.LINE_LOCKED, migration.DUPLICATES_REMOVED]
    assert "SHARE ROW EXCLUSIVE" in migration.LINE_LOCKED
    added = [i for i, op in enumerate(operations) if type(op).__name__ == "AddConstraint"]
    assert len(added) == 2 and min(added) > 0


def test_the_same_from_now_ask_is_the_same_whichever_moment_came_first(acme):
    # given someone waiting from the moment they joined (the start they asked had passed)
    full = full_time(count=2)
    asked = {
        "service": full.service,
        "resource": full.resource,
        "earliest_at": timezone.now() - timedelta(hours=1),
        "latest_at": full.slots[1].starts_at,
        "customer": customer("ann"),
        "actor": CUSTOMER,
    }
    entry = waitlist_join(**asked)
    assert entry.earliest_at > asked["earliest_at"]

    # when the very same ask, sent together with it, took its moment just before theirs
    # (two requests of a double click, the second's insert refused by the constraint)
    again = waitlist_join(**asked, now=entry.earliest_at - timedelta(milliseconds=5))

    # then it is given the entry back, not told it waits already
    assert again.pk == entry.pk
    assert WaitlistEntry.objects.count() == 1
