"""The booking services, one behaviour at a time (inside acme, rolled back after each)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.bookings import pii, signals
from apps.bookings.actors import ActorRef
from apps.bookings.errors import (
    HoldExpired,
    InvalidTransition,
    OutsideBookingWindow,
    SlotFull,
    SlotNotFound,
    TooLateToCancel,
)
from apps.bookings.models import Booking, BookingEvent, Customer
from apps.bookings.services import (
    CustomerInput,
    _capacity_errors_as_slot_full,
    booking_cancel,
    booking_confirm,
    booking_hold,
    booking_mark_completed,
    booking_mark_no_show,
    booking_reschedule,
    customer_get_or_create,
    holds_expire,
)
from apps.calendars.models import SlotHold, SlotInstance
from apps.core.errors import ValidationFailed
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)

SIGNALS = {
    "held": signals.booking_held,
    "confirmed": signals.booking_confirmed,
    "cancelled": signals.booking_cancelled,
    "rescheduled": signals.booking_rescheduled,
    "expired": signals.booking_expired,
    "completed": signals.booking_completed,
    "no_show": signals.booking_no_show,
}


@pytest.fixture
def sent():
    """Every booking signal sent during the test, as (name, kwargs)."""
    received: list[tuple[str, dict]] = []
    receivers = {}
    for name, signal in SIGNALS.items():

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal")
            received.append((_name, kwargs))

        receivers[name] = receiver
        signal.connect(receiver, weak=False, dispatch_uid=f"test-{name}")
    yield received
    for name, signal in SIGNALS.items():
        signal.disconnect(dispatch_uid=f"test-{name}")


@pytest.fixture
def room(acme):
    """A resource with a one-to-one 30-minute service and four free 30-minute slots."""
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    start = future_start()
    slots = slots_create(resource=resource, starts_at=start, count=4)
    return resource, service, start, slots


def _hold(resource, service, start, who: int | str = 0, actor=CUSTOMER, **kwargs):
    return booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=customer(who),
        actor=actor,
        **kwargs,
    )


def _slot(slot: SlotInstance) -> SlotInstance:
    slot.refresh_from_db()
    return slot


def _kinds(booking: Booking) -> list[str]:
    return list(booking.events.order_by("id").values_list("kind", flat=True))


# --- hold ------------------------------------------------------------------------------


def test_booking_hold_takes_a_place_for_the_tenants_ttl(acme, room, sent):
    resource, service, start, slots = room
    acme.hold_ttl_minutes = 7
    before = timezone.now()

    booking = _hold(resource, service, start, notes="Window seat", idempotency_key="k1")

    assert booking.status == Booking.Status.HELD
    assert (booking.starts_at, booking.ends_at) == (start, start + timedelta(minutes=30))
    assert before + timedelta(minutes=7) <= booking.hold_expires_at
    assert booking.hold_expires_at <= timezone.now() + timedelta(minutes=7)
    assert (booking.exclusive, booking.notes, booking.idempotency_key) == (
        True,
        "Window seat",
        "k1",
    )
    assert (booking.created_by_type, booking.source) == ("customer", "page")
    slot = _slot(slots[0])
    assert (slot.held, slot.booked, slot.status) == (1, 0, "full")
    assert (slot.session_service_id, slot.session_starts_at, slot.session_capacity) == (
        service.pk,
        start,
        1,
    )
    assert (slot.busy_from, slot.busy_until) == (booking.starts_at, booking.ends_at)
    [hold] = SlotHold.objects.filter(slot=slot)
    assert (hold.booking_id, hold.expires_at) == (booking.pk, booking.hold_expires_at)
    assert _slot(slots[1]).session_service_id is None
    [event] = booking.events.all()
    assert (event.kind, event.actor_type, event.actor_label) == ("held", "customer", "booking page")
    assert sent == [("held", {"booking": booking, "actor": CUSTOMER})]


@pytest.mark.parametrize(
    ("offset_minutes", "slot_minutes"),
    [(0, None), (15, 30), (0, "gap")],
    ids=["no slot at all", "start inside a slot", "gap in the grid"],
)
def test_booking_hold_on_a_time_not_on_the_grid_is_slot_not_found(
    acme, offset_minutes, slot_minutes
):
    resource = ResourceFactory()
    service = ServiceFactory(duration_minutes=60, resources=[resource])
    start = future_start()
    if slot_minutes == 30:
        slots_create(resource=resource, starts_at=start, count=3)
    elif slot_minutes == "gap":
        slots_create(resource=resource, starts_at=start)
        slots_create(resource=resource, starts_at=start + timedelta(minutes=45))

    with pytest.raises(SlotNotFound) as caught:
        _hold(resource, service, start + timedelta(minutes=offset_minutes))

    assert (caught.value.code, caught.value.http_status) == ("SLOT_NOT_FOUND", 404)
    assert not Booking.objects.filter(resource=resource).exists()


def test_booking_hold_on_a_blocked_slot_is_slot_not_found(acme, room):
    resource, service, start, slots = room
    SlotInstance.objects.filter(pk=slots[0].pk).update(status=SlotInstance.Status.BLOCKED)

    with pytest.raises(SlotNotFound):
        _hold(resource, service, start)


def test_booking_hold_too_soon_or_too_far_is_outside_booking_window(acme):
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    soon = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=30)
    far = future_start(days=acme.horizon_days + 2)
    for start in (soon, far):
        slots_create(resource=resource, starts_at=start)

    for start in (soon, far):
        with pytest.raises(OutsideBookingWindow) as caught:
            _hold(resource, service, start)
        assert (caught.value.code, caught.value.http_status) == ("OUTSIDE_BOOKING_WINDOW", 422)
        assert caught.value.details[0].field == "start"


def test_booking_hold_uses_the_services_own_notice_and_staff_skip_it_with_a_reason(acme):
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource], min_notice_minutes=3 * 24 * 60)
    start = future_start(days=2)
    slots_create(resource=resource, starts_at=start, count=2)

    with pytest.raises(OutsideBookingWindow):
        _hold(resource, service, start)
    # staff too are held to it unless they say why (the exception is then on record)
    with pytest.raises(OutsideBookingWindow) as staff_refused:
        _hold(resource, service, start, actor=STAFF, source=Booking.Source.ADMIN)
    assert staff_refused.value.field_messages() == {"start": ["Book at least 4320 minutes ahead."]}
    booking = _hold(
        resource,
        service,
        start,
        actor=STAFF,
        source=Booking.Source.ADMIN,
        window_override_reason="Walked in",
    )

    assert booking.status == Booking.Status.HELD
    assert booking.window_override_reason == "Walked in"


def test_booking_reschedule_by_staff_within_the_minimum_notice_needs_no_reason(acme):
    # given a confirmed booking of a service with a day's notice
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource], min_notice_minutes=24 * 60)
    start = future_start(days=3)
    soon = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=3)
    slots_create(resource=resource, starts_at=start)
    slots_create(resource=resource, starts_at=soon)
    booking = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)

    # when it is moved into the notice: the customer cannot, staff can (as they always
    # could: the booking was let in already, and moving it has no reason to give)
    with pytest.raises(OutsideBookingWindow):
        booking_reschedule(booking=booking, starts_at=soon, actor=CUSTOMER)
    moved = booking_reschedule(booking=booking, starts_at=soon, actor=STAFF)

    assert moved.starts_at == soon


def test_booking_hold_refuses_what_cannot_be_booked(acme, room):
    resource, service, start, _ = room
    other = ResourceFactory()
    slots_create(resource=other, starts_at=start)

    with pytest.raises(ValidationFailed) as caught:
        _hold(other, service, start)
    assert caught.value.field_messages().keys() == {"resource"}

    resource.is_active = False
    resource.save(update_fields=["is_active"])
    with pytest.raises(ValidationFailed):
        _hold(resource, service, start)


def test_booking_hold_reports_every_invalid_contact_field_at_once(acme, room):
    resource, service, start, _ = room

    with pytest.raises(ValidationFailed) as caught:
        booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=CustomerInput(name=" ", email="not-an-email", phone="12"),
            actor=CUSTOMER,
        )

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.field_messages().keys() == {"name", "email", "phone"}
    assert not Booking.objects.filter(resource=resource).exists()


def test_booking_hold_group_session_is_shared_until_full(acme):
    resource = ResourceFactory()
    yoga = ServiceFactory(capacity=3, resources=[resource])
    pilates = ServiceFactory(capacity=3, resources=[resource])
    start = future_start()
    [slot] = slots_create(resource=resource, starts_at=start)

    members = [_hold(resource, yoga, start, who=i) for i in range(3)]
    with pytest.raises(SlotFull):
        _hold(resource, yoga, start, who=9)
    _slot(slot)
    assert (slot.held, slot.session_capacity, slot.status) == (3, 3, "full")
    assert all(not member.exclusive for member in members)

    booking_cancel(booking=members[0], actor=CUSTOMER)
    # another service may not join, nor start while the class has anyone in it
    with pytest.raises(SlotFull):
        _hold(resource, pilates, start, who=10)
    assert _hold(resource, yoga, start, who=11).status == Booking.Status.HELD


def test_booking_hold_session_capacity_is_capped_by_the_slots_rule(acme):
    resource = ResourceFactory()
    service = ServiceFactory(capacity=6, resources=[resource], duration_minutes=60)
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    slots_create(resource=resource, starts_at=start + timedelta(minutes=30), capacity=2)

    _hold(resource, service, start, who=1)
    _hold(resource, service, start, who=2)
    with pytest.raises(SlotFull):
        _hold(resource, service, start, who=3)

    caps = SlotInstance.objects.filter(resource=resource).values_list("session_capacity", "held")
    assert list(caps) == [(2, 2), (2, 2)]


def test_booking_hold_longer_service_occupies_every_slot_it_covers(acme):
    resource = ResourceFactory()
    long = ServiceFactory(duration_minutes=45, resources=[resource])
    short = ServiceFactory(duration_minutes=30, resources=[resource])
    start = future_start()
    slots = slots_create(resource=resource, starts_at=start, count=3)

    booking = _hold(resource, long, start)

    assert booking.ends_at == start + timedelta(minutes=45)
    first, second, third = (_slot(s) for s in slots)
    assert first.session_ends_at == second.session_ends_at == booking.ends_at
    assert (first.held, second.held, third.held) == (1, 1, 0)
    with pytest.raises(SlotFull):
        _hold(resource, short, start + timedelta(minutes=30), who=2)
    assert _hold(resource, short, start + timedelta(minutes=60), who=3).status == "held"


def test_booking_hold_buffers_add_up_but_touching_is_fine(acme):
    resource = ResourceFactory()
    massage = ServiceFactory(buffer_after_minutes=15, resources=[resource])
    call = ServiceFactory(buffer_before_minutes=15, resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start, count=6)
    _hold(resource, massage, start)  # busy until +45 min

    # 30 min after: the call's buffer [+15, +60] overlaps the massage's [0, +45]
    with pytest.raises(SlotFull):
        _hold(resource, call, start + timedelta(minutes=30), who=2)
    with pytest.raises(SlotFull):
        _hold(resource, massage, start + timedelta(minutes=30), who=3)
    # 60 min after: the call's buffered interval starts exactly where the massage's ends
    assert _hold(resource, call, start + timedelta(minutes=60), who=4).status == "held"


def test_booking_hold_is_refused_where_a_later_sessions_buffer_before_reaches_back(acme):
    # given a call at +60 min whose 15-minute buffer before reaches back to +45
    resource = ResourceFactory()
    call = ServiceFactory(buffer_before_minutes=15, resources=[resource])
    hour = ServiceFactory(duration_minutes=60, resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start, count=6)
    _hold(resource, call, start + timedelta(minutes=60))

    # when an hour-long session would end exactly where the call starts, then its
    # interval [0, +60] overlaps the call's buffered [+45, +90]: refused
    with pytest.raises(SlotFull):
        _hold(resource, hour, start, who=2)
    # and half an hour earlier it ends at +30: fine
    assert _hold(resource, call, start, who=3).status == "held"


def test_booking_hold_paid_service_waits_for_payment(acme, room):
    resource, _, start, _ = room
    paid = ServiceFactory(resources=[resource], price=Decimal("40.00"), requires_payment=True)

    booking = _hold(resource, paid, start)

    assert booking.payment_status == Booking.PaymentStatus.PENDING
    with pytest.raises(InvalidTransition):
        booking_confirm(booking=booking, actor=CUSTOMER)
    assert booking_confirm(booking=booking, actor=ActorRef.system("payments")).status == "confirmed"


def test_booking_hold_maps_the_exclusion_constraint_to_slot_full(acme, room):
    # given a held booking whose slot counters were lost (so only the exclusion
    # constraint still knows the time is taken)
    resource, service, start, slots = room
    first = _hold(resource, service, start)
    SlotHold.objects.filter(booking_id=first.pk).delete()
    SlotInstance.objects.filter(pk=slots[0].pk).update(
        held=0, status="open", session_service=None, session_starts_at=None,
        session_ends_at=None, session_capacity=None, busy_from=None, busy_until=None,
    )  # fmt: skip

    # when another customer holds the same time, then PostgreSQL refuses and it is SLOT_FULL
    with pytest.raises(SlotFull):
        _hold(resource, service, start, who=2)
    assert list(Booking.objects.filter(resource=resource).values_list("pk", flat=True)) == [
        first.pk
    ]
    assert _slot(slots[0]).held == 0  # the refused attempt left nothing behind


def test_capacity_check_violation_is_slot_full_and_other_violations_are_not(acme, room):
    resource, service, start, slots = room
    booking = _hold(resource, service, start)

    with pytest.raises(SlotFull), _capacity_errors_as_slot_full(), transaction.atomic():
        SlotInstance.objects.filter(pk=slots[0].pk).update(held=F("held") + 1)
    with pytest.raises(IntegrityError), _capacity_errors_as_slot_full(), transaction.atomic():
        Booking.objects.filter(pk=booking.pk).update(ends_at=F("starts_at"))


def test_booking_hold_on_a_slot_whose_hold_elapsed_succeeds_before_the_sweeper(acme, room, sent):
    resource, service, start, slots = room
    acme.hold_ttl_minutes = 0
    stale = _hold(resource, service, start, who="stale")
    acme.hold_ttl_minutes = 10

    fresh = _hold(resource, service, start, who="fresh")

    stale.refresh_from_db()
    assert (stale.status, fresh.status) == ("expired", "held")
    assert _kinds(stale) == ["held", "expired"]
    assert stale.events.get(kind="expired").actor_type == "system"
    slot = _slot(slots[0])
    assert (slot.held, slot.status) == (1, "full")
    assert list(SlotHold.objects.filter(slot=slot).values_list("booking_id", flat=True)) == [
        fresh.pk
    ]
    assert [name for name, _ in sent] == ["held", "expired", "held"]


def test_booking_hold_releases_elapsed_holds_that_could_be_in_its_way_and_no_others(acme, room):
    # given elapsed, unswept holds: one right next door whose buffer after reaches into
    # the new time, and one a week later on the same resource
    resource, service, start, slots = room
    buffered = ServiceFactory(resources=[resource], buffer_after_minutes=30)
    later = slots_create(resource=resource, starts_at=start + timedelta(days=7))
    acme.hold_ttl_minutes = 0
    neighbour = _hold(resource, buffered, start, who="neighbour")
    far = _hold(resource, service, later[0].starts_at, who="far")
    acme.hold_ttl_minutes = 10

    # when somebody holds the slot just after the neighbour
    fresh = _hold(resource, service, start + timedelta(minutes=30), who="fresh")

    # then the neighbour's elapsed hold was released first, and the far one is the
    # sweeper's: still counted on its slot until the sweeper (or a hold near it) comes
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {neighbour.pk: "expired", far.pk: "held", fresh.pk: "held"}
    assert (_slot(slots[0]).held, _slot(slots[1]).held, _slot(later[0]).held) == (0, 1, 1)
    assert holds_expire() == 1
    assert (_slot(later[0]).held, Booking.objects.get(pk=far.pk).status) == (0, "expired")


# --- confirm ---------------------------------------------------------------------------


def test_booking_confirm_turns_the_held_place_into_a_booked_one(acme, room, sent):
    resource, service, start, slots = room
    booking = _hold(resource, service, start)

    confirmed = booking_confirm(booking=booking, actor=CUSTOMER)

    assert (confirmed.pk, confirmed.status, confirmed.hold_expires_at) == (
        booking.pk,
        "confirmed",
        None,
    )
    slot = _slot(slots[0])
    assert (slot.held, slot.booked, slot.status) == (0, 1, "full")
    assert not SlotHold.objects.filter(booking_id=booking.pk).exists()
    assert _kinds(booking) == ["held", "confirmed"]
    assert sent[-1] == ("confirmed", {"booking": confirmed, "actor": CUSTOMER})
    # confirming again changes nothing
    assert booking_confirm(booking=booking, actor=CUSTOMER).status == "confirmed"
    assert _kinds(booking) == ["held", "confirmed"]


def test_booking_confirm_after_the_hold_expired_is_hold_expired(acme, room, sent):
    resource, service, start, slots = room
    acme.hold_ttl_minutes = 0
    booking = _hold(resource, service, start)

    with pytest.raises(HoldExpired) as caught:
        booking_confirm(booking=booking, actor=CUSTOMER)

    assert (caught.value.code, caught.value.http_status) == ("HOLD_EXPIRED", 409)
    booking.refresh_from_db()
    assert booking.status == "expired"
    assert _kinds(booking) == ["held", "expired"]
    assert (_slot(slots[0]).held, _slot(slots[0]).session_service_id) == (0, None)
    assert [name for name, _ in sent] == ["held", "expired"]
    with pytest.raises(HoldExpired):
        booking_confirm(booking=booking, actor=CUSTOMER)


def test_booking_confirm_of_a_cancelled_booking_is_invalid_transition(acme, room):
    resource, service, start, _ = room
    booking = booking_cancel(booking=_hold(resource, service, start), actor=CUSTOMER)

    with pytest.raises(InvalidTransition) as caught:
        booking_confirm(booking=booking, actor=CUSTOMER)

    assert (caught.value.code, caught.value.http_status) == ("INVALID_TRANSITION", 409)


# --- cancel ----------------------------------------------------------------------------


def test_booking_cancel_frees_the_place_and_clears_the_session(acme, room, sent):
    resource, service, start, slots = room
    booking = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)

    cancelled = booking_cancel(booking=booking, actor=CUSTOMER, reason="Feeling better")

    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Feeling better")
    slot = _slot(slots[0])
    assert (slot.booked, slot.held, slot.status, slot.session_service_id, slot.busy_from) == (
        0,
        0,
        "open",
        None,
        None,
    )
    assert booking.events.get(kind="cancelled").reason == "Feeling better"
    assert sent[-1] == (
        "cancelled",
        {"booking": cancelled, "actor": CUSTOMER, "reason": "Feeling better"},
    )
    assert _hold(resource, service, start, who=2).status == "held"


def test_booking_cancel_inside_the_window_needs_staff_and_a_reason(acme):
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    slots_create(resource=resource, starts_at=start)
    booking = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)

    with pytest.raises(TooLateToCancel) as caught:
        booking_cancel(booking=booking, actor=CUSTOMER)
    assert (caught.value.code, caught.value.http_status) == ("TOO_LATE_TO_CANCEL", 409)
    with pytest.raises(TooLateToCancel):
        booking_cancel(booking=booking, actor=STAFF)
    with pytest.raises(ValidationFailed) as missing:
        booking_cancel(booking=booking, actor=STAFF, override_window=True)
    assert missing.value.field_messages().keys() == {"reason"}
    with pytest.raises(ValidationFailed) as not_staff:
        booking_cancel(booking=booking, actor=CUSTOMER, reason="x", override_window=True)
    assert "override_window" in not_staff.value.field_messages()

    cancelled = booking_cancel(
        booking=booking, actor=STAFF, reason="Practitioner ill", override_window=True
    )

    assert cancelled.status == "cancelled"
    event = booking.events.get(kind="cancelled")
    assert (event.actor_type, event.reason) == ("staff", "Practitioner ill")


def test_booking_cancel_of_one_member_keeps_the_class_for_the_others(acme):
    resource = ResourceFactory()
    service = ServiceFactory(capacity=4, resources=[resource])
    start = future_start()
    [slot] = slots_create(resource=resource, starts_at=start)
    first, second = (_hold(resource, service, start, who=i) for i in range(2))
    booking_confirm(booking=second, actor=CUSTOMER)

    booking_cancel(booking=first, actor=CUSTOMER)

    _slot(slot)
    assert (slot.held, slot.booked, slot.status, slot.session_service_id) == (
        0,
        1,
        "partial",
        service.pk,
    )


# --- reschedule ------------------------------------------------------------------------


def test_booking_reschedule_moves_the_booking_keeping_its_id_and_history(acme, room, sent):
    resource, service, start, slots = room
    booking = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)
    later = start + timedelta(minutes=60)

    moved = booking_reschedule(booking=booking, starts_at=later, actor=CUSTOMER)

    assert (moved.pk, moved.status, moved.starts_at, moved.sequence) == (
        booking.pk,
        "confirmed",
        later,
        1,
    )
    assert moved.ends_at == later + timedelta(minutes=30)
    assert (_slot(slots[0]).booked, _slot(slots[0]).session_service_id) == (0, None)
    assert (_slot(slots[2]).booked, _slot(slots[2]).session_starts_at) == (1, later)
    event = booking.events.get(kind="rescheduled")
    assert (event.from_starts_at, event.to_starts_at) == (start, later)
    assert sent[-1] == (
        "rescheduled",
        {
            "booking": moved,
            "actor": CUSTOMER,
            "previous_starts_at": start,
            "previous_ends_at": start + timedelta(minutes=30),
        },
    )


def test_booking_reschedule_to_a_taken_time_leaves_the_booking_untouched(acme, room):
    resource, service, start, slots = room
    booking = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)
    _hold(resource, service, start + timedelta(minutes=30), who="other")

    with pytest.raises(SlotFull):
        booking_reschedule(booking=booking, starts_at=start + timedelta(minutes=30), actor=CUSTOMER)

    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence, booking.status) == (start, 0, "confirmed")
    assert _slot(slots[0]).booked == 1
    assert _kinds(booking) == ["held", "confirmed"]


def test_booking_reschedule_can_overlap_its_own_old_time(acme):
    resource = ResourceFactory()
    service = ServiceFactory(duration_minutes=60, resources=[resource])
    start = future_start()
    slots = slots_create(resource=resource, starts_at=start, count=3)
    booking = _hold(resource, service, start)

    moved = booking_reschedule(
        booking=booking, starts_at=start + timedelta(minutes=30), actor=CUSTOMER
    )

    assert moved.status == "held"
    held = [(_slot(s).held, s.session_starts_at) for s in slots]
    assert held == [(0, None), (1, moved.starts_at), (1, moved.starts_at)]
    assert set(
        SlotHold.objects.filter(booking_id=booking.pk).values_list("slot_id", flat=True)
    ) == {
        slots[1].pk,
        slots[2].pk,
    }
    assert (
        SlotHold.objects.filter(booking_id=booking.pk).first().expires_at == booking.hold_expires_at
    )


def test_booking_reschedule_to_another_resource(acme, room):
    resource, service, start, slots = room
    other = ResourceFactory(location=resource.location)
    service.resources.add(other)
    [other_slot] = slots_create(resource=other, starts_at=start)
    booking = _hold(resource, service, start)

    moved = booking_reschedule(booking=booking, starts_at=start, resource=other, actor=CUSTOMER)

    assert (moved.resource_id, moved.sequence) == (other.pk, 1)
    assert (_slot(slots[0]).held, _slot(other_slot).held) == (0, 1)


def test_booking_reschedule_of_an_elapsed_hold_is_hold_expired(acme, room):
    resource, service, start, _ = room
    acme.hold_ttl_minutes = 0
    booking = _hold(resource, service, start)

    with pytest.raises(HoldExpired):
        booking_reschedule(booking=booking, starts_at=start + timedelta(minutes=30), actor=CUSTOMER)

    booking.refresh_from_db()
    assert (booking.status, booking.starts_at) == ("expired", start)


def test_booking_reschedule_inside_the_window_is_for_staff_only(acme):
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    slots_create(resource=resource, starts_at=start, count=2)
    booking = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)

    with pytest.raises(TooLateToCancel):
        booking_reschedule(booking=booking, starts_at=start + timedelta(minutes=30), actor=CUSTOMER)
    moved = booking_reschedule(
        booking=booking, starts_at=start + timedelta(minutes=30), actor=STAFF
    )

    assert moved.sequence == 1


# --- completed / no-show ---------------------------------------------------------------


def test_booking_mark_completed_or_no_show_only_after_the_start(acme, room, sent):
    resource, service, start, _ = room
    first = booking_confirm(booking=_hold(resource, service, start), actor=CUSTOMER)
    second = booking_confirm(
        booking=_hold(resource, service, start + timedelta(minutes=30), who=2), actor=CUSTOMER
    )
    with pytest.raises(InvalidTransition):
        booking_mark_completed(booking=first, actor=STAFF)
    # time passes: both appointments began earlier today
    past = timezone.now() - timedelta(hours=2)
    for offset, booking in enumerate((first, second)):
        Booking.objects.filter(pk=booking.pk).update(
            starts_at=past + timedelta(minutes=30 * offset),
            ends_at=past + timedelta(minutes=30 * (offset + 1)),
        )

    completed = booking_mark_completed(booking=first, actor=STAFF)
    no_show = booking_mark_no_show(booking=second, actor=STAFF)

    assert (completed.status, no_show.status) == ("completed", "no_show")
    assert _kinds(first)[-1] == "completed"
    assert _kinds(second)[-1] == "no_show"
    assert [name for name, _ in sent][-2:] == ["completed", "no_show"]
    with pytest.raises(InvalidTransition):
        booking_cancel(booking=completed, actor=STAFF)


# --- sweeper ---------------------------------------------------------------------------


def test_holds_expire_releases_only_elapsed_holds(acme, room, sent):
    resource, service, start, slots = room
    elapsed = _hold(resource, service, start, who=1)
    live = _hold(resource, service, start + timedelta(minutes=30), who=2)
    confirmed = booking_confirm(
        booking=_hold(resource, service, start + timedelta(minutes=60), who=3), actor=CUSTOMER
    )
    past = timezone.now() - timedelta(seconds=1)
    Booking.objects.filter(pk=elapsed.pk).update(hold_expires_at=past)
    SlotHold.objects.filter(booking_id=elapsed.pk).update(expires_at=past)

    assert holds_expire() == 1
    assert holds_expire() == 0

    statuses = dict(Booking.objects.filter(resource=resource).values_list("pk", "status"))
    assert statuses == {elapsed.pk: "expired", live.pk: "held", confirmed.pk: "confirmed"}
    assert [(_slot(s).held, _slot(s).booked) for s in slots] == [(0, 0), (1, 0), (0, 1), (0, 0)]
    assert (
        "expired",
        {"booking": Booking.objects.get(pk=elapsed.pk), "actor": ActorRef.system("hold expiry")},
    ) in sent


# --- customers -------------------------------------------------------------------------


def test_customer_get_or_create_matches_the_email_whatever_its_case(acme):
    first = customer_get_or_create(name="Jane Doe", email="Jane.Doe@Example.com")

    again = customer_get_or_create(name="J. Doe", email="  jane.doe@example.COM ")

    assert again.pk == first.pk
    assert again.name == "Jane Doe"
    assert again.email == "jane.doe@example.com"
    assert "jane" not in again.email_encrypted.lower()
    assert Customer.objects.filter(email_hash=first.email_hash).count() == 1


def test_customer_get_or_create_never_changes_an_existing_customer(acme):
    first = customer_get_or_create(name="Jo", email="jo@example.com")
    with_phone = customer_get_or_create(name="Jo", email="jo@example.com", phone="+44 7911 123456")
    other = customer_get_or_create(name="Joe", email="sam@example.com", phone="+1 212 555 0100")

    renamed = customer_get_or_create(name="Mallory", email="sam@example.com", phone="+447911123456")

    assert with_phone.pk == first.pk
    assert renamed.pk == other.pk
    stored = {c.pk: (c.name, c.phone) for c in Customer.objects.all()}
    # a phone missing is not added, one there is not replaced, and nobody is renamed
    assert stored == {first.pk: ("Jo", ""), other.pk: ("Joe", "+12125550100")}


def _victim_and_intruder(room, *, victim_phone: str) -> tuple[Booking, Booking]:
    """The victim books first; then someone types the victim's address with their own
    name and phone on the booking form."""
    resource, service, start, _ = room
    victim = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name="Vera Victim", email="vera@example.com", phone=victim_phone),
        actor=CUSTOMER,
    )
    intruder = booking_hold(
        service=service,
        resource=resource,
        starts_at=start + timedelta(minutes=30),
        customer=CustomerInput(
            name="Mallory", email="  VERA@example.com ", phone="+1 212 555 0100"
        ),
        actor=ActorRef.customer("", label="api"),
        source=Booking.Source.API,
    )
    return victim, intruder


@pytest.mark.parametrize("victim_phone", ["", "+44 7911 123456"], ids=["no-phone", "phone"])
def test_booking_hold_with_someone_elses_email_never_changes_their_customer_record(
    acme, room, victim_phone
):
    victim, intruder = _victim_and_intruder(room, victim_phone=victim_phone)

    customer = Customer.objects.get(pk=victim.customer_id)
    # the address matches the victim's record (one customer per address)...
    assert intruder.customer_id == customer.pk
    # ...which keeps the victim's own name and phone, or none
    assert customer.name == "Vera Victim"
    assert customer.phone == pii.phone_normalize(victim_phone)
    assert customer.phone_hash == pii.lookup_hash(pii.phone_normalize(victim_phone))
    # each booking keeps what was typed with it, encrypted
    intruder = Booking.objects.get(pk=intruder.pk)
    assert (intruder.contact.name, intruder.contact.email, intruder.contact.phone) == (
        "Mallory",
        "vera@example.com",
        "+12125550100",
    )
    assert "212555" not in intruder.contact_phone_encrypted
    victim = Booking.objects.get(pk=victim.pk)
    assert (victim.contact.name, victim.contact.phone) == (
        "Vera Victim",
        pii.phone_normalize(victim_phone),
    )


def test_booking_hold_with_a_known_email_and_another_name_does_not_rename_the_customer(acme, room):
    resource, service, start, _ = room
    first = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name="Jane Doe", email="jane@example.com"),
        actor=CUSTOMER,
    )

    second = booking_hold(
        service=service,
        resource=resource,
        starts_at=start + timedelta(minutes=60),
        customer=CustomerInput(name="Janet Smith", email="jane@example.com"),
        actor=CUSTOMER,
    )

    assert second.customer_id == first.customer_id
    assert Customer.objects.get(pk=first.customer_id).name == "Jane Doe"
    assert Customer.objects.count() == 1
    assert Booking.objects.get(pk=second.pk).contact.name == "Janet Smith"


def test_booking_made_before_bookings_kept_a_contact_uses_its_customers(acme, room):
    resource, service, start, _ = room
    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name="Old Timer", email="old@example.com", phone="+447911123456"),
        actor=CUSTOMER,
    )
    Booking.objects.filter(pk=booking.pk).update(
        contact_name="", contact_email_encrypted="", contact_phone_encrypted=""
    )

    contact = Booking.objects.get(pk=booking.pk).contact

    assert (contact.name, contact.email, contact.phone) == (
        "Old Timer",
        "old@example.com",
        "+447911123456",
    )


def test_booking_events_are_kept_for_every_change(acme, room):
    resource, service, start, _ = room
    booking = _hold(resource, service, start)
    booking = booking_confirm(booking=booking, actor=CUSTOMER)
    booking = booking_reschedule(
        booking=booking, starts_at=start + timedelta(minutes=30), actor=STAFF
    )
    booking_cancel(booking=booking, actor=CUSTOMER, reason="Moving away")

    events = list(BookingEvent.objects.filter(booking=booking).order_by("id"))
    assert [(e.kind, e.actor_type) for e in events] == [
        ("held", "customer"),
        ("confirmed", "customer"),
        ("rescheduled", "staff"),
        ("cancelled", "customer"),
    ]
