"""The waitlist in the service layer: joining (and refusing a join on a free time),
offers as timed holds in line order, an offer lapsing to the next person, a customer
who booked elsewhere skipped, confirming from the link, the staff's reordering, and the
customer's data."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.utils import timezone, translation

from apps.accounts.due_work import work_due_at
from apps.bookings.customer_data import customer_erase, customer_export, customer_export_file
from apps.bookings.errors import InvalidTransition
from apps.bookings.models import Booking, Customer
from apps.bookings.services import (
    CustomerInput,
    booking_cancel,
    booking_confirm,
    booking_hold,
    booking_hold_extend,
    holds_expire,
)
from apps.calendars.signals import slots_materialized
from apps.core.errors import ValidationFailed
from apps.notifications.messages.content import message_facts, sms_text
from apps.notifications.models import Notification
from apps.waitlist import services as waitlist_services
from apps.waitlist.due_work import waitlist_work_due_repair
from apps.waitlist.errors import OfferGone, WaitlistTimeFree
from apps.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistWake
from apps.waitlist.offer_links import offer_confirm_url, offer_token, offer_token_read
from apps.waitlist.selectors import waitlist_next_due
from apps.waitlist.services import (
    WAITLIST_WORK,
    waitlist_entry_move,
    waitlist_entry_remove,
    waitlist_join,
    waitlist_offer_accept,
    waitlist_offers_make,
    waitlist_settings_update,
)
from apps.waitlist.tasks import offers_make_task
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    customer,
    slots_create,
)
from tests.waitlist.factories import FullTime, full_time, wait_in_line

Status = WaitlistEntry.Status


def _cancel_first(full):
    return booking_cancel(booking=full.bookings[0], actor=CUSTOMER)


def test_join_keeps_the_contact_encrypted_and_joins_the_end_of_the_line(acme):
    # given a full time
    full = full_time()

    # when two people join its waitlist
    first, second = wait_in_line(full, "ann", "bob")

    # then they wait in that order, their contact encrypted at rest
    assert [first.status, second.status] == [Status.WAITING, Status.WAITING]
    assert second.position > first.position
    stored = WaitlistEntry.objects.get(pk=first.pk)
    assert "customerann@example.test" not in stored.email_encrypted
    assert stored.email == "customerann@example.test"
    assert stored.customer.email == "customerann@example.test"


def test_join_on_a_free_time_is_refused_and_writes_nothing(acme):
    # given a full time and, after it, a free one
    full = full_time()
    [free] = slots_create(resource=full.resource, starts_at=full.starts_at + timedelta(hours=2))
    customers_before = Customer.objects.count()

    # when someone asks to wait for a range that includes the free time
    with pytest.raises(WaitlistTimeFree) as caught:
        waitlist_join(
            service=full.service,
            resource=full.resource,
            earliest_at=full.starts_at,
            latest_at=free.starts_at,
            customer=customer("newcomer"),
            actor=CUSTOMER,
        )

    # then they are told to book it, and nothing was written
    assert caught.value.code == "WAITLIST_TIME_FREE"
    assert WaitlistEntry.objects.count() == 0
    assert Customer.objects.count() == customers_before


def test_join_with_bad_input_names_each_field(acme):
    full = full_time()
    with pytest.raises(ValidationFailed) as caught:
        waitlist_join(
            service=full.service,
            resource=full.resource,
            earliest_at=full.starts_at,
            latest_at=full.starts_at - timedelta(hours=1),
            customer=CustomerInput(name="", email="not-an-email"),
            actor=CUSTOMER,
        )
    fields = {detail.field for detail in caught.value.details}
    assert {"latest", "name", "email"} <= fields
    assert WaitlistEntry.objects.count() == 0


def test_a_freed_place_is_held_for_the_first_in_line_for_the_offer_window(acme):
    # given two people waiting for a full time, and an offer window of 20 minutes
    full = full_time()
    first, second = wait_in_line(full, "ann", "bob")
    waitlist_settings_update(offer_window_minutes=20)

    # when the booking is cancelled (which wakes the offer maker) and it runs
    _cancel_first(full)
    assert WaitlistWake.objects.count() == 1
    before = timezone.now()
    assert waitlist_offers_make() == 1

    # then the first in line holds the place for 20 minutes, and has been sent the link
    offer = WaitlistOffer.objects.get()
    assert offer.entry_id == first.pk and offer.status == WaitlistOffer.Status.LIVE
    booking = offer.booking
    assert booking.status == Booking.Status.HELD
    assert booking.contact.email == "customerann@example.test"
    assert (
        before + timedelta(minutes=19)
        < booking.hold_expires_at
        <= timezone.now() + timedelta(minutes=20)
    )
    assert offer.expires_at == booking.hold_expires_at
    assert WaitlistEntry.objects.get(pk=first.pk).status == Status.OFFERED
    assert WaitlistEntry.objects.get(pk=second.pk).status == Status.WAITING
    [message] = Notification.objects.filter(booking=booking, kind="waitlist_offer")
    assert offer_token_read(message.details["url"].rstrip("/").rsplit("/", 1)[-1]) == offer.pk
    # the wake is consumed; the next thing due is the offer's lapse
    assert WaitlistWake.objects.count() == 0
    assert waitlist_next_due() == offer.expires_at
    # a second run offers nothing more: the only place is held
    assert waitlist_offers_make() == 0


def test_the_offer_speaks_the_language_the_customer_joined_in(acme):
    # given Ann joined from the German booking pages, Bob from the English ones
    full = full_time()
    with translation.override("de"):
        [ann] = wait_in_line(full, "ann")
    with translation.override("en"):
        [bob] = wait_in_line(full, "bob")
    assert (ann.language, bob.language) == ("de", "en")

    # when a place frees and the offer maker runs where French happens to be active
    # (a staff member's screen, a worker's last task)
    _cancel_first(full)
    with translation.override("fr"):
        assert waitlist_offers_make() == 1

    # then Ann's hold, and so its email and text, speak German
    offer = WaitlistOffer.objects.get()
    assert offer.entry_id == ann.pk
    assert offer.booking.language == "de"


def test_a_lapsed_offer_goes_to_the_next_person(acme):
    # given the first in line was offered the freed place
    full = full_time()
    first, second = wait_in_line(full, "ann", "bob")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()

    # when the offer window passes without an answer
    later = offer.expires_at + timedelta(seconds=1)
    waitlist_offers_make(now=later)

    # then the hold lapsed, the first person left the line, the second holds the place
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.LAPSED
    assert offer.booking.status == Booking.Status.EXPIRED
    assert WaitlistEntry.objects.get(pk=first.pk).status == Status.LAPSED
    [live] = WaitlistOffer.objects.filter(status=WaitlistOffer.Status.LIVE)
    assert live.entry_id == second.pk


def test_the_sweeper_lapsing_an_offer_wakes_the_offer_maker(acme):
    full = full_time()
    wait_in_line(full, "ann", "bob")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()
    assert WaitlistWake.objects.count() == 0

    holds_expire(now=offer.expires_at + timedelta(seconds=1))

    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.LAPSED
    assert WaitlistWake.objects.filter(reason="booking_expired").count() == 1


def test_a_customer_who_booked_elsewhere_is_skipped(acme):
    # given two waiting for either of two full times, the first of whom then books a
    # time that freed, directly
    full = full_time(count=2)
    first, second = wait_in_line(full, "ann", "bob")
    booking_cancel(booking=full.bookings[1], actor=CUSTOMER)
    held = booking_hold(
        service=full.service,
        resource=full.resource,
        starts_at=full.slots[1].starts_at,
        # the same person, the address typed differently
        customer=CustomerInput(name="Ann", email="  CustomerAnn@Example.TEST "),
        actor=CUSTOMER,
    )
    booking_confirm(booking=held, actor=CUSTOMER)

    # when another place frees
    _cancel_first(full)
    waitlist_offers_make()

    # then the first is skipped and the second is offered it
    assert WaitlistEntry.objects.get(pk=first.pk).status == Status.BOOKED_ELSEWHERE
    assert WaitlistOffer.objects.get().entry_id == second.pk


def test_a_customer_holding_another_time_keeps_their_place_in_line(acme):
    # given two waiting for either of two full times, the first of whom is in the middle
    # of booking a time that freed (a hold, not yet confirmed)
    full = full_time(count=2)
    first, second = wait_in_line(full, "ann", "bob")
    booking_cancel(booking=full.bookings[1], actor=CUSTOMER)
    held = booking_hold(
        service=full.service,
        resource=full.resource,
        starts_at=full.slots[1].starts_at,
        customer=customer("ann"),
        actor=CUSTOMER,
    )

    # when another place frees
    _cancel_first(full)
    waitlist_offers_make()

    # then the second is offered it, and the first still waits (their hold may lapse)
    assert WaitlistOffer.objects.get().entry_id == second.pk
    assert WaitlistEntry.objects.get(pk=first.pk).status == Status.WAITING

    # and when that hold lapses and its place goes back, the first is offered it
    holds_expire(now=held.hold_expires_at + timedelta(seconds=1))
    waitlist_offers_make(now=held.hold_expires_at + timedelta(seconds=2))
    assert WaitlistOffer.objects.get(entry=first).booking.starts_at == full.slots[1].starts_at


def test_joining_again_for_the_same_times_today_gives_the_same_entry(acme):
    # given someone waiting for "any time from now", sent twice (a double submit)
    full = full_time()
    since = timezone.now() - timedelta(hours=1)

    def join() -> WaitlistEntry:
        return waitlist_join(
            service=full.service,
            resource=full.resource,
            earliest_at=since,
            latest_at=full.starts_at,
            customer=customer("ann"),
            actor=CUSTOMER,
        )

    first = join()
    again = join()

    # then one entry waits
    assert again.pk == first.pk
    assert WaitlistEntry.objects.count() == 1


def test_confirming_the_offer_books_the_place_once(acme):
    full = full_time()
    [entry] = wait_in_line(full, "ann")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()

    booking = waitlist_offer_accept(offer=offer)
    again = waitlist_offer_accept(offer=offer)

    assert booking.status == again.status == Booking.Status.CONFIRMED
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.ACCEPTED
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.BOOKED


def test_confirming_a_lapsed_offer_says_it_is_gone(acme):
    full = full_time()
    wait_in_line(full, "ann")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()
    holds_expire(now=offer.expires_at + timedelta(seconds=1))

    with pytest.raises(OfferGone):
        waitlist_offer_accept(offer=WaitlistOffer.objects.get(pk=offer.pk))


def test_staff_reorder_the_line_and_the_new_first_is_offered(acme):
    full = full_time()
    first, second, third = wait_in_line(full, "ann", "bob", "cy")

    waitlist_entry_move(entry=third, direction="up")
    waitlist_entry_move(entry=third, direction="up")
    waitlist_entry_remove(entry=first, actor=STAFF)
    _cancel_first(full)
    waitlist_offers_make()

    order = list(
        WaitlistEntry.objects.filter(status__in=WaitlistEntry.OPEN_STATUSES).values_list(
            "pk", flat=True
        )
    )
    assert order == [third.pk, second.pk]
    assert WaitlistOffer.objects.get().entry_id == third.pk
    assert WaitlistEntry.objects.get(pk=first.pk).status == Status.REMOVED


def test_bad_offer_window_is_refused(acme):
    with pytest.raises(ValidationFailed) as caught:
        waitlist_settings_update(offer_window_minutes=2)
    assert caught.value.details[0].field == "offer_window_minutes"


def test_offer_links_are_signed_for_one_business(acme, globex):
    full = full_time()
    wait_in_line(full, "ann")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()
    token = offer_token(offer)

    assert offer_token_read(token) == offer.pk
    assert offer_token_read(token[:-2] + "xx") is None
    assert offer_token_read(offer_token(offer, schema="globex")) is None
    assert offer_confirm_url(offer, tenant=acme).endswith(f"/waitlist/offer/{token}/")


def test_nobody_waiting_writes_no_wake(acme):
    full = full_time()
    _cancel_first(full)
    assert WaitlistWake.objects.count() == 0


def test_the_export_holds_the_entries_and_erasure_removes_them(acme):
    full = full_time()
    [entry] = wait_in_line(full, "ann")
    person = entry.customer

    export = customer_export(customer=person)
    [row] = export["waitlist"]
    assert row["email"] == "customerann@example.test"
    assert row["status"] == Status.WAITING

    as_csv = customer_export_file(customer=person, actor=STAFF, file_format="csv")
    with zipfile.ZipFile(io.BytesIO(as_csv.content)) as archive:
        [name] = [n for n in archive.namelist() if "waitlist" in n]
        assert "customerann@example.test" in archive.read(name).decode()

    customer_erase(customer=person, actor=STAFF, reason="Asked by phone")
    assert not WaitlistEntry.objects.filter(customer=person).exists()


def test_a_paid_offer_awaits_its_payment_and_lasts_as_long_as_its_checkout(acme):
    # given a paid service's freed place offered to the first in line
    full = full_time()
    full.service.requires_payment, full.service.price = True, Decimal("40.00")
    full.service.save(update_fields=["requires_payment", "price"])
    [entry] = wait_in_line(full, "ann")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()

    # then the customer cannot take it without paying (the booking pages' checkout)
    assert offer.booking.payment_status == Booking.PaymentStatus.PENDING
    with pytest.raises(InvalidTransition):
        waitlist_offer_accept(offer=offer)

    # and when the checkout keeps the hold longer, the offer lasts as long
    longer = offer.expires_at + timedelta(minutes=30)
    booking_hold_extend(booking=offer.booking, until=longer)
    waitlist_offers_make(now=offer.expires_at + timedelta(seconds=1))
    offer.refresh_from_db()
    assert (offer.status, offer.expires_at) == (WaitlistOffer.Status.LIVE, longer)
    assert waitlist_next_due() == longer

    # and the payment's confirmation is the offer's acceptance
    booking_confirm(booking=offer.booking, actor=STAFF)
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.ACCEPTED
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.BOOKED


def test_a_freed_place_notes_due_work_and_the_task_reschedules_to_the_offers_end(
    acme, django_capture_on_commit_callbacks, monkeypatch
):
    # given someone waiting for a full time (the task queued on commit is left out)
    monkeypatch.setattr(waitlist_services, "task_enqueue", lambda *args, **kwargs: None)
    full = full_time()
    wait_in_line(full, "ann")

    # when the place frees, the business's waitlist work is due at once once it commits
    with django_capture_on_commit_callbacks(execute=True):
        _cancel_first(full)
    due = work_due_at(kind=WAITLIST_WORK)
    assert due is not None and due <= timezone.now()

    # and once the task ran, it is next due when the offer would lapse
    assert offers_make_task() == 1
    assert work_due_at(kind=WAITLIST_WORK) == WaitlistOffer.objects.get().expires_at


def test_the_backstop_notes_a_wake_whose_note_was_lost(acme):
    # given a wake whose commit's note never happened (no on-commit callbacks here)
    full = full_time()
    wait_in_line(full, "ann")
    _cancel_first(full)
    assert work_due_at(kind=WAITLIST_WORK) is None

    # when the hourly backstop reads every business
    waitlist_work_due_repair()

    # then the wake's time is noted
    assert work_due_at(kind=WAITLIST_WORK) == WaitlistWake.objects.get().due_at


def test_new_opening_hours_wake_the_offer_maker(acme):
    full = full_time()
    wait_in_line(full, "ann")

    slots_materialized.send(sender=None, resource_ids=[full.resource.pk])

    assert list(WaitlistWake.objects.values_list("reason", flat=True)) == ["slots_changed"]


def test_staff_moves_are_in_the_history_without_the_contact(acme):
    full = full_time()
    _ann, bob = wait_in_line(full, "ann", "bob")

    waitlist_entry_move(entry=bob, direction="up")

    history = LogEntry.objects.get_for_object(WaitlistEntry.objects.get(pk=bob.pk))
    assert any("position" in (entry.changes_dict or {}) for entry in history)
    assert not any("customerbob" in str(entry.changes) for entry in history)
    assert not any("Customer bob" in str(entry.changes) for entry in history)


def test_the_offer_goes_by_text_too_with_its_link(acme):
    # given someone waiting who gave a phone, in a business that sends texts
    full = full_time()
    waitlist_join(
        service=full.service,
        resource=full.resource,
        earliest_at=full.starts_at,
        latest_at=full.starts_at,
        customer=CustomerInput(name="Ann", email="ann@example.test", phone="+442079460958"),
        actor=CUSTOMER,
    )

    # when the place frees and is offered
    _cancel_first(full)
    waitlist_offers_make()

    # then an email and a text carry the offer's link
    offer = WaitlistOffer.objects.get()
    rows = Notification.objects.filter(booking=offer.booking, kind="waitlist_offer")
    assert {row.channel for row in rows} == {"email", "sms"}
    text = sms_text(message_facts(notification=rows.get(channel="sms"), tenant=acme))
    token = text.rstrip("/").rsplit("/waitlist/offer/", 1)[-1]
    assert offer_token_read(token) == offer.pk


def test_beat_sends_the_offer_maker_only_where_waitlist_work_is_due(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["waitlist-offers-make"]
    assert entry["task"] == "accounts.run_where_due"
    assert entry["args"] == (WAITLIST_WORK, "waitlist.offers_make")


def test_moving_up_past_someone_who_joined_at_the_same_time_moves(acme):
    # given two people who joined at once (equal places in line, ann first by time)
    full = full_time()
    ann, bob = wait_in_line(full, "ann", "bob")
    WaitlistEntry.objects.filter(pk__in=[ann.pk, bob.pk]).update(position=7)

    # when staff move bob up
    waitlist_entry_move(entry=bob, direction="up")

    # then bob is first, and the line's places are distinct
    line = list(WaitlistEntry.objects.filter(status__in=WaitlistEntry.OPEN_STATUSES))
    assert [entry.pk for entry in line] == [bob.pk, ann.pk]
    assert len({entry.position for entry in line}) == 2

    # and moving ann (now second) down at the end of the line changes nothing
    waitlist_entry_move(entry=ann, direction="down")
    assert list(
        WaitlistEntry.objects.filter(status__in=WaitlistEntry.OPEN_STATUSES).values_list(
            "pk", flat=True
        )
    ) == [bob.pk, ann.pk]


def test_a_place_starting_within_the_offer_window_is_held_only_until_it_starts(acme):
    # given a time starting within two hours (no minimum notice), booked, with someone
    # waiting, and an offer window of three hours
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], min_notice_minutes=0)
    starts_at = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    slots = slots_create(resource=resource, starts_at=starts_at)
    held = booking_hold(
        service=service,
        resource=resource,
        starts_at=starts_at,
        customer=customer("soon-booked"),
        actor=CUSTOMER,
    )
    booked = booking_confirm(booking=held, actor=CUSTOMER)
    full = FullTime(service=service, resource=resource, slots=slots, bookings=[booked])
    [entry] = wait_in_line(full, "ann")
    waitlist_settings_update(offer_window_minutes=180)

    # when the place frees (staff cancel it, so late) and is offered
    booking_cancel(booking=booked, actor=STAFF, override_window=True, reason="called in ill")
    assert waitlist_offers_make() == 1

    # then the hold (and the offer) ends no later than the place starts
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.booking.hold_expires_at <= starts_at
    assert offer.expires_at == offer.booking.hold_expires_at


def test_someone_far_back_in_the_line_is_offered_a_place_that_suits_only_them(acme):
    # given ann first in line for a time that stays full, and bob behind her for another
    stays_full = full_time(tag="a")
    frees = full_time(tag="b", hour=14)
    [ann] = wait_in_line(stays_full, "ann")
    [bob] = wait_in_line(frees, "bob")

    # when bob's time frees and the maker reads the line one person at a time
    booking_cancel(booking=frees.bookings[0], actor=CUSTOMER)
    made = waitlist_offers_make(batch_size=1)

    # then bob is offered it
    assert made == 1
    assert WaitlistOffer.objects.get().entry_id == bob.pk
    assert WaitlistEntry.objects.get(pk=ann.pk).status == Status.WAITING


def test_a_maker_inside_a_transaction_keeps_its_turn_until_that_commits(acme):
    # given a maker run inside a caller's transaction (the test's own)
    waitlist_offers_make()

    # when another connection asks for the makers' turn before that transaction ends
    answers: list[bool] = []

    def other_connection() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                    [waitlist_services._MAKER_LOCK_CLASS, acme.schema_name],
                )
                got = cursor.fetchone()[0]
                if got:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                        [waitlist_services._MAKER_LOCK_CLASS, acme.schema_name],
                    )
                answers.append(got)
        finally:
            connection.close()

    thread = threading.Thread(target=other_connection)
    thread.start()
    thread.join()

    # then it does not get it: the offers made are not visible to it yet
    assert answers == [False]


def test_erasing_someone_with_a_live_offer_gives_the_place_to_the_next(acme):
    # given ann holds an offered place and bob waits behind her
    full = full_time()
    ann, bob = wait_in_line(full, "ann", "bob")
    _cancel_first(full)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get(entry=ann)

    # when ann's data is erased
    customer_erase(customer=ann.customer, actor=STAFF, reason="Asked by phone")

    # then her entry, her offer and her contact are gone, her hold released
    assert not WaitlistEntry.objects.filter(pk=ann.pk).exists()
    assert not WaitlistOffer.objects.filter(pk=offer.pk).exists()
    assert Booking.objects.get(pk=offer.booking_id).status == Booking.Status.CANCELLED
    assert not WaitlistEntry.objects.filter(email_hash=ann.email_hash).exists()

    # and the next run offers the place to bob
    assert waitlist_offers_make() == 1
    assert WaitlistOffer.objects.get(status=WaitlistOffer.Status.LIVE).entry_id == bob.pk
