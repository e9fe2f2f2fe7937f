"""The waitlist over HTTP: joining from the booking pages (a free time is refused and
what was typed is kept), the offer's link (a page, then one button), and the staff's
screen (the line in order, moved and trimmed with or without htmx; roles)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from apps.bookings.models import Booking
from apps.bookings.services import booking_cancel, holds_expire
from apps.waitlist.models import WaitlistEntry, WaitlistOffer
from apps.waitlist.offer_links import offer_token
from apps.waitlist.selectors import waitlist_settings_get
from apps.waitlist.services import waitlist_offers_make
from tests.bookings.factories import CUSTOMER, slots_create
from tests.waitlist.factories import full_time, wait_in_line


def _join_url(full) -> str:
    return reverse("booking:waitlist", args=[full.service.pk, full.resource.pk])


def _local(full):
    return full.starts_at.astimezone(ZoneInfo(full.resource.location.timezone))


def test_the_times_page_links_to_the_waitlist(shop, visitor):
    full = full_time()
    day = _local(full).date()
    response = visitor.get(
        reverse("booking:when", args=[full.service.pk, full.resource.pk]), {"day": day}
    )
    assert response.status_code == 200
    assert f'{_join_url(full)}?day={day.isoformat()}"' in response.content.decode()


def test_joining_for_a_full_day_puts_the_customer_in_line(shop, visitor):
    full = full_time()
    local = _local(full)
    response = visitor.post(
        _join_url(full),
        {
            "day": local.date().isoformat(),
            "earliest": local.strftime("%H:%M"),
            "latest": local.strftime("%H:%M"),
            "name": "Ann Waiting",
            "email": "ann@example.test",
            "phone": "",
        },
    )
    assert response.status_code == 200
    assert "You are on the waitlist" in response.content.decode()
    entry = WaitlistEntry.objects.get()
    assert (entry.earliest_at, entry.latest_at) == (full.starts_at, full.starts_at)
    assert entry.email == "ann@example.test"


def test_joining_for_a_free_time_is_refused_and_keeps_what_was_typed(shop, visitor):
    full = full_time()
    free_at = full.starts_at + timedelta(hours=1)
    slots_create(resource=full.resource, starts_at=free_at)
    local = _local(full)
    response = visitor.post(
        _join_url(full),
        {
            "day": local.date().isoformat(),
            "name": "Ann Waiting",
            "email": "ann@example.test",
        },
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "book it instead" in body
    assert 'value="Ann Waiting"' in body and 'value="ann@example.test"' in body
    assert WaitlistEntry.objects.count() == 0


def test_joining_with_bad_input_shows_field_errors(shop, visitor):
    full = full_time()
    response = visitor.post(
        _join_url(full),
        {"day": "not a day", "name": "", "email": "nope", "earliest": "12:00", "latest": "9:00"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'value="nope"' in body
    assert body.count('class="error"') >= 3
    assert WaitlistEntry.objects.count() == 0


def _offered(full):
    [entry] = wait_in_line(full, "ann")
    booking_cancel(booking=full.bookings[0], actor=CUSTOMER)
    waitlist_offers_make()
    return WaitlistOffer.objects.get(entry=entry)


def test_the_offer_link_shows_the_offer_and_its_button_takes_the_place(shop, visitor):
    full = full_time()
    offer = _offered(full)
    url = reverse("booking:waitlist_offer", args=[offer_token(offer)])

    # a GET (a mail scanner, a preview) takes nothing
    page = visitor.get(url)
    assert page.status_code == 200
    assert "Take this place" in page.content.decode()
    assert Booking.objects.get(pk=offer.booking_id).status == Booking.Status.HELD

    # the button confirms it and leads to the booked page
    done = visitor.post(url)
    assert done.status_code == 303
    assert "/booked/" in done["Location"]
    assert Booking.objects.get(pk=offer.booking_id).status == Booking.Status.CONFIRMED
    assert WaitlistEntry.objects.get(pk=offer.entry_id).status == WaitlistEntry.Status.BOOKED


def test_a_lapsed_offer_link_says_so(shop, visitor):
    full = full_time()
    offer = _offered(full)
    holds_expire(now=offer.expires_at + timedelta(seconds=1))
    url = reverse("booking:waitlist_offer", args=[offer_token(offer)])

    assert visitor.get(url).status_code == 410
    refused = visitor.post(url)
    assert refused.status_code == 409
    assert "This offer has lapsed" in refused.content.decode()


def test_a_forged_offer_link_is_not_found(shop, visitor):
    assert visitor.get(reverse("booking:waitlist_offer", args=["forged"])).status_code == 404


def test_staff_see_and_reorder_the_line(shop, staff_as):
    full = full_time()
    ann, bob = wait_in_line(full, "ann", "bob")
    desk = staff_as("frontdesk")

    page = desk.get(reverse("dashboard:waitlist"))
    body = page.content.decode()
    assert page.status_code == 200
    assert body.index("Customer ann") < body.index("Customer bob")

    # without JavaScript: a form post, then the page again
    moved = desk.post(reverse("dashboard:waitlist_move", args=[bob.pk]), {"direction": "up"})
    assert moved.status_code == 302
    body = desk.get(reverse("dashboard:waitlist")).content.decode()
    assert body.index("Customer bob") < body.index("Customer ann")

    # with htmx: the list comes back in place
    swapped = desk.post(reverse("dashboard:waitlist_remove", args=[ann.pk]), HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    assert "Customer ann" not in swapped.content.decode()
    assert WaitlistEntry.objects.get(pk=ann.pk).status == WaitlistEntry.Status.REMOVED

    bad = desk.post(reverse("dashboard:waitlist_move", args=[bob.pk]), {"direction": "sideways"})
    assert bad.status_code == 400


def test_only_managers_set_the_offer_window(shop, staff_as):
    url = reverse("dashboard:waitlist_settings")
    assert staff_as("frontdesk").post(url, {"offer_window_minutes": 30}).status_code == 403
    manager = staff_as("manager")
    refused = manager.post(url, {"offer_window_minutes": 1})
    assert refused.status_code == 400
    assert 'value="1"' in refused.content.decode()
    assert manager.post(url, {"offer_window_minutes": 30}).status_code == 302
    assert waitlist_settings_get().offer_window_minutes == 30


def test_a_paid_offer_leads_to_the_checkout_and_a_post_takes_nothing(shop, visitor):
    full = full_time()
    full.service.requires_payment, full.service.price = True, Decimal("40.00")
    full.service.save(update_fields=["requires_payment", "price"])
    offer = _offered(full)
    url = reverse("booking:waitlist_offer", args=[offer_token(offer)])

    page = visitor.get(url).content.decode()
    assert "Pay to take this place" in page and "/hold/" in page
    assert visitor.post(url).status_code == 409
    assert Booking.objects.get(pk=offer.booking_id).status == Booking.Status.HELD


def test_joining_for_anyone_waits_for_any_person_offering_it(shop, visitor):
    full = full_time()
    local = _local(full)
    response = visitor.post(
        reverse("booking:waitlist", args=[full.service.pk, "anyone"]),
        {"day": local.date().isoformat(), "name": "Ann Waiting", "email": "ann@example.test"},
    )
    assert response.status_code == 200
    entry = WaitlistEntry.objects.get()
    assert entry.resource is None and entry.service_id == full.service.pk


def test_joining_for_a_day_out_of_range_is_a_field_error_not_a_crash(shop, visitor):
    full = full_time()
    for day in ("9999-12-31", "0001-01-01"):
        response = visitor.post(
            _join_url(full),
            {"day": day, "name": "Ann Waiting", "email": "ann@example.test"},
        )
        body = response.content.decode()
        assert response.status_code == 400, day
        assert 'value="Ann Waiting"' in body
        assert 'id="id_day_error"' in body
    assert WaitlistEntry.objects.count() == 0


def test_the_staff_screen_reads_a_longer_line_in_the_same_number_of_queries(shop, staff_as):
    desk = staff_as("frontdesk")
    url = reverse("dashboard:waitlist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert desk.get(url).status_code == 200
        return len(captured)

    # one person offered a place, then three more waiting and offered, on other rooms
    _offered(full_time(tag="q0"))
    queries()  # the first request of a session reads what later ones find cached
    one = queries()
    for index in range(1, 4):
        _offered(full_time(tag=f"q{index}"))
    assert WaitlistOffer.objects.filter(status=WaitlistOffer.Status.LIVE).count() == 4
    assert queries() == one


def test_a_line_spanning_days_shows_both_days(shop, staff_as):
    full = full_time()
    wait_in_line(full, "ann", span=timedelta(days=2))
    body = staff_as("frontdesk").get(reverse("dashboard:waitlist")).content.decode()
    last = timezone.localtime(full.starts_at + timedelta(days=2))
    assert f"\N{EN DASH} {date_format(last, 'D j M, H:i')}" in body


def test_moving_or_removing_an_unknown_entry_is_not_found(shop, staff_as):
    desk = staff_as("frontdesk")
    unknown = "01a250ac-0000-7000-8000-000000000000"
    move = desk.post(reverse("dashboard:waitlist_move", args=[unknown]), {"direction": "up"})
    remove = desk.post(reverse("dashboard:waitlist_remove", args=[unknown]))
    assert (move.status_code, remove.status_code) == (404, 404)
