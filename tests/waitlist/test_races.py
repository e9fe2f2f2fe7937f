"""The waitlist under concurrency, with real threads each on its own PostgreSQL
connection, started together (tests/bookings/races.py): two places freed at once go to
two different people; an offer racing a direct booking for the last place never
over-books and never leaves two live offers; a lapsed offer moves to the next person
exactly once; two joins of one person at once leave one entry (the very same ask gets
it back, an overlapping one WAITLIST_ALREADY_WAITING). One business of this module's
own, committed as it is written."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, TenantWorkDue, User
from apps.accounts.services import tenant_create
from apps.bookings import pii
from apps.bookings.models import Booking
from apps.bookings.services import booking_cancel, booking_hold, customer_get_or_create
from apps.calendars.models import SlotInstance
from apps.core.tenancy import use_public_schema, use_tenant
from apps.waitlist import services as waitlist_services
from apps.waitlist.errors import WaitlistAlreadyWaiting
from apps.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistWake
from apps.waitlist.services import waitlist_join, waitlist_offers_make
from tests.bookings.factories import CUSTOMER, customer
from tests.bookings.races import race
from tests.waitlist.factories import full_time, wait_in_line

pytestmark = pytest.mark.slow

ROUNDS = 4
Live = WaitlistOffer.Status.LIVE


@pytest.fixture(scope="module")
def line_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    slug = f"line-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        owner = User.objects.get(email="owner@acme.test")
        tenant = tenant_create(slug=slug, name="Waitlist races", owner=owner, timezone="UTC")
        tenant.live_at = tenant.created_at
        tenant.save(update_fields=["live_at"])
    yield tenant
    with django_db_blocker.unblock():
        use_public_schema()
        TenantWorkDue.objects.filter(schema_name=tenant.schema_name).delete()
        tenant.delete(force_drop=True)


@pytest.fixture
def line(line_tenant: Tenant, django_db_blocker: Any) -> Iterator[Tenant]:
    """The module's business, in autocommit; each test's people leave the line after."""
    with django_db_blocker.unblock():
        line_tenant.refresh_from_db()
        with tenant_context(line_tenant):
            yield line_tenant
            WaitlistEntry.objects.filter(status__in=WaitlistEntry.OPEN_STATUSES).update(
                status=WaitlistEntry.Status.REMOVED
            )


@pytest.fixture
def no_task_on_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The offer maker runs only when a test calls it (not eagerly on every commit)."""
    monkeypatch.setattr(waitlist_services, "task_enqueue", lambda *args, **kwargs: None)


def _places_within_capacity(slots: list[SlotInstance]) -> None:
    for slot in slots:
        fresh = SlotInstance.objects.get(pk=slot.pk)
        assert fresh.booked + fresh.held <= 1
        assert (
            Booking.objects.filter(
                resource_id=slot.resource_id,
                starts_at=slot.starts_at,
                status__in=Booking.ACTIVE_STATUSES,
            ).count()
            <= 1
        )


def _round_closed(entries: list[WaitlistEntry]) -> None:
    """A round's people leave the line and their held places go, so that a later round's
    clock (moved past an offer window) lapses nothing of theirs."""
    WaitlistEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(
        status=WaitlistEntry.Status.REMOVED
    )
    for offer in WaitlistOffer.objects.filter(entry__in=entries, status=Live):
        booking_cancel(booking=offer.booking, actor=CUSTOMER)


def _one_live_offer_per_place() -> None:
    doubled = (
        WaitlistOffer.objects.filter(status=Live)
        .values("booking__resource_id", "booking__starts_at")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(doubled) == []


def test_two_places_freed_at_once_go_to_two_different_people(line):
    for round_ in range(ROUNDS):
        # given two full times and three people waiting for either
        full = full_time(count=2, tag=f"two-{round_}")
        first, second, third = wait_in_line(
            full, f"two-{round_}-a", f"two-{round_}-b", f"two-{round_}-c"
        )

        # when both bookings are cancelled at the same instant (each commit runs the
        # offer maker, here in the cancelling threads: Celery is eager in tests)
        result = race(
            line,
            [partial(booking_cancel, booking=booking, actor=CUSTOMER) for booking in full.bookings],
        )

        # then the first two in line each hold one of the places; the third waits
        assert result.crashes == [] and result.count() == 2
        offers = list(WaitlistOffer.objects.filter(entry__in=[first, second, third], status=Live))
        assert sorted(str(offer.entry_id) for offer in offers) == sorted(
            [str(first.pk), str(second.pk)]
        )
        assert len({offer.booking.starts_at for offer in offers}) == 2
        assert WaitlistEntry.objects.get(pk=third.pk).status == WaitlistEntry.Status.WAITING
        _places_within_capacity(full.slots)
        _one_live_offer_per_place()
        _round_closed([first, second, third])


def test_an_offer_racing_a_direct_booking_never_overbooks(line, no_task_on_commit):
    offered = direct = 0
    for round_ in range(ROUNDS * 2):
        # given a freed place with someone waiting for it, not yet offered
        full = full_time(tag=f"direct-{round_}")
        [entry] = wait_in_line(full, f"direct-{round_}-waiting")
        booking_cancel(booking=full.bookings[0], actor=CUSTOMER)

        # when the offer maker and a customer booking directly go for it together
        result = race(
            line,
            [
                waitlist_offers_make,
                partial(
                    booking_hold,
                    service=full.service,
                    resource=full.resource,
                    starts_at=full.starts_at,
                    customer=customer(f"direct-{round_}-walk-in"),
                    actor=CUSTOMER,
                ),
            ],
        )

        # then exactly one of them has the place, and never two live offers
        assert result.crashes == []
        offers = WaitlistOffer.objects.filter(entry=entry, status=Live).count()
        booked_directly = result.outcomes[1].ok
        assert offers + int(booked_directly) == 1
        if booked_directly:
            assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistEntry.Status.WAITING
        else:
            assert result.outcomes[1].code == "SLOT_FULL"
        offered += offers
        direct += int(booked_directly)
        _places_within_capacity(full.slots)
        _one_live_offer_per_place()
        _round_closed([entry])
    assert offered + direct == ROUNDS * 2


def test_a_lapsed_offer_moves_to_the_next_person_exactly_once(line, no_task_on_commit):
    for round_ in range(ROUNDS):
        # given the first of three waiting holds the freed place, and its window passed
        full = full_time(tag=f"lapse-{round_}")
        first, second, third = wait_in_line(
            full, f"lapse-{round_}-a", f"lapse-{round_}-b", f"lapse-{round_}-c"
        )
        booking_cancel(booking=full.bookings[0], actor=CUSTOMER)
        assert waitlist_offers_make() == 1
        offer = WaitlistOffer.objects.get(entry=first)
        # (just past it: the new offer, made later, must not count as lapsed too)
        later = offer.expires_at + timedelta(microseconds=1)

        # when three offer makers run at once after the lapse
        result = race(line, [partial(waitlist_offers_make, now=later) for _ in range(3)])

        # then one new offer was made, to the second in line; the third still waits
        assert result.crashes == []
        assert sum(outcome.value for outcome in result.outcomes) == 1
        offer.refresh_from_db()
        assert offer.status == WaitlistOffer.Status.LAPSED
        live = WaitlistOffer.objects.filter(
            Q(entry=first) | Q(entry=second) | Q(entry=third), status=Live
        )
        assert [row.entry_id for row in live] == [second.pk]
        assert WaitlistEntry.objects.get(pk=third.pk).status == WaitlistEntry.Status.WAITING
        _places_within_capacity(full.slots)
        _one_live_offer_per_place()
        _round_closed([first, second, third])


def test_the_first_in_line_locked_by_a_staff_change_is_not_passed_over(line, no_task_on_commit):
    # given two people waiting for a full time that frees
    full = full_time(tag="busy")
    first, second = wait_in_line(full, "busy-a", "busy-b")
    booking_cancel(booking=full.bookings[0], actor=CUSTOMER)

    # when the offer maker runs while a staff change holds the first person's row
    locked, release = threading.Event(), threading.Event()

    def staff_change() -> None:
        try:
            use_tenant(line)
            with transaction.atomic():
                WaitlistEntry.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    staff = threading.Thread(target=staff_change, daemon=True)
    staff.start()
    assert locked.wait(timeout=60)
    try:
        made = waitlist_offers_make()
    finally:
        release.set()
        staff.join(timeout=60)

    # then nobody behind them was offered the place, and a later run is due
    assert made == 0
    assert not WaitlistOffer.objects.filter(entry__in=[first, second]).exists()
    assert WaitlistWake.objects.filter(reason="entry_busy").exists()

    # and once the change is done, the next run offers it to the first in line
    assert waitlist_offers_make(now=timezone.now() + waitlist_services.BUSY_RETRY) == 1
    assert [offer.entry_id for offer in WaitlistOffer.objects.filter(status=Live)] == [first.pk]
    _places_within_capacity(full.slots)
    _round_closed([first, second])


def _join(full, first: int, last: int, name: str):
    return partial(
        waitlist_join,
        service=full.service,
        resource=full.resource,
        earliest_at=full.slots[first].starts_at,
        latest_at=full.slots[last].starts_at,
        customer=customer(name),
        actor=CUSTOMER,
    )


def _entries_of(name: str) -> list[WaitlistEntry]:
    email_hash = pii.lookup_hash(customer(name).email)
    return list(
        WaitlistEntry.objects.filter(email_hash=email_hash, status__in=WaitlistEntry.OPEN_STATUSES)
    )


def test_two_identical_joins_at_once_leave_one_entry(line, no_task_on_commit):
    for round_ in range(ROUNDS):
        # given a full time
        full = full_time(count=2, tag=f"same-{round_}")
        name = f"same-{round_}-ann"

        # when the same person's join is sent twice at the same instant (a double click)
        result = race(line, [_join(full, 0, 1, name), _join(full, 0, 1, name)])

        # then one entry waits, and both answers are that entry
        assert result.crashes == [] and result.count() == 2
        [entry] = _entries_of(name)
        assert [outcome.value.pk for outcome in result.outcomes] == [entry.pk, entry.pk]
        _round_closed([entry])


def test_two_overlapping_joins_at_once_leave_one_entry_and_refuse_the_other(
    line, no_task_on_commit
):
    for round_ in range(ROUNDS):
        # given three full times
        full = full_time(count=3, tag=f"overlap-{round_}")
        name = f"overlap-{round_}-ann"

        # when one person asks for the first two and the last two at the same instant
        result = race(line, [_join(full, 0, 1, name), _join(full, 1, 2, name)])

        # then one entry waits, and the other join is refused with the clear error
        assert result.crashes == []
        assert result.count() == 1 and result.count("WAITLIST_ALREADY_WAITING") == 1
        [entry] = _entries_of(name)
        [winner] = [outcome.value for outcome in result.outcomes if outcome.ok]
        assert winner.pk == entry.pk
        _round_closed([entry])


@pytest.mark.parametrize("outer", [False, True], ids=["alone", "in-a-transaction"])
@pytest.mark.parametrize(("start", "last"), [(0, 1), (1, 2)], ids=["same", "overlapping"])
def test_a_join_behind_an_uncommitted_one_is_stopped_by_the_constraint(
    line, no_task_on_commit, start, last, outer
):
    # given a person (a customer already) whose first join has written its entry but
    # not committed yet: a second join cannot see it, so only the database can stop it
    # (the second made alone, or inside a caller's transaction, as the API's
    # Idempotency-Key makes it, which must stay usable after the refusal)
    where = "outer" if outer else "alone"
    full = full_time(count=3, tag=f"behind-{last}-{where}")
    name = f"behind-{last}-{where}-ann"
    customer_get_or_create(name=name, email=customer(name).email)
    written, commit = threading.Event(), threading.Event()
    first: dict[str, Any] = {}

    def first_join() -> None:
        try:
            use_tenant(line)
            with transaction.atomic():
                first["entry"] = _join(full, 0, 1, name)()
                written.set()
                commit.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=first_join, daemon=True)
    holder.start()
    assert written.wait(timeout=60)
    second: dict[str, Any] = {}

    def second_join() -> None:
        try:
            use_tenant(line)
            with transaction.atomic() if outer else contextlib.nullcontext():
                try:
                    second["entry"] = _join(full, start, last, name)()
                except WaitlistAlreadyWaiting as exc:
                    second["error"] = exc
                # (the caller's transaction goes on: it reads, and commits)
                second["seen"] = WaitlistEntry.objects.filter(pk=first["entry"].pk).exists()
        finally:
            connection.close()

    joiner = threading.Thread(target=second_join, daemon=True)
    joiner.start()
    try:
        # (the second join waits on the first's row, inside the exclusion constraint)
        assert _someone_waits_on_a_lock(), "the second join never reached the constraint"
    finally:
        commit.set()
        holder.join(timeout=60)
        joiner.join(timeout=60)

    # then one entry waits; the very same ask gets it back, an overlapping one the error
    [entry] = _entries_of(name)
    assert entry.pk == first["entry"].pk
    assert second["seen"] is True
    if last == 1:
        assert "error" not in second and second["entry"].pk == entry.pk
    else:
        assert second["error"].code == "WAITLIST_ALREADY_WAITING" and "entry" not in second
    _round_closed([entry])


def _someone_waits_on_a_lock() -> bool:
    """Whether a session of this test database waits on a lock, asked until one does
    (or for at most about 30 s)."""
    for _ in range(600):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        threading.Event().wait(0.05)
    return False
