"""Manage links on the customer pages: bound to their business, expiring after their
booking's end plus the grace (a page that says so and who can help), refused when
altered; and what a booking form says shows on its own pages without touching the
customer record found by its email."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.booking_site.forms import slot_value
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking, Customer
from tests.booking_site.catalogue import catalogue_create, confirmed_booking, policy_set

pytestmark = pytest.mark.django_db

GRACE = dt.timedelta(days=30)


def _ended(booking: Booking, ago: dt.timedelta) -> Booking:
    """The booking moved into the past: it ended `ago`."""
    ends_at = timezone.now() - ago
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=ends_at - dt.timedelta(minutes=30), ends_at=ends_at
    )
    return Booking.objects.get(pk=booking.pk)


def _pages(token: str) -> list[str]:
    return [
        f"/manage/{token}/",
        f"/manage/{token}/cancel/",
        f"/manage/{token}/reschedule/",
        f"/manage/{token}/booking.ics",
        f"/booked/{token}/",
        f"/hold/{token}/",
    ]


def test_a_manage_link_works_until_the_grace_after_the_visit(client, catalogue, settings):
    settings.BOOKING_LINK_GRACE_DAYS = 30
    booking = _ended(confirmed_booking(catalogue), GRACE - dt.timedelta(hours=1))
    token = booking_access_token(booking_id=booking.pk)

    response = client.get(f"/manage/{token}/")

    assert response.status_code == 200
    assert "Your booking" in response.content.decode()


def test_an_expired_manage_link_says_so_and_who_can_help(client, htmx, catalogue, settings):
    # given a booking that ended more than the grace ago, and the link from its emails
    settings.BOOKING_LINK_GRACE_DAYS = 30
    booking = _ended(confirmed_booking(catalogue), GRACE + dt.timedelta(minutes=1))
    token = booking_access_token(booking_id=booking.pk)

    # when the customer follows it (or any page under it)
    responses = {path: client.get(path) for path in _pages(token)}
    cancel = client.post(f"/manage/{token}/cancel/")
    partial = htmx.get(f"/manage/{token}/")

    # then every page says the link expired, names the business, and changes nothing
    for path, response in responses.items():
        body = response.content.decode()
        assert response.status_code == 410, path
        assert "This link has expired" in body, path
        assert "30 days after the appointment" in body, path
        assert "please contact Acme Clinic directly" in body, path
        assert "Consultation" not in body and "Jane" not in body, path
    assert cancel.status_code == 410
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED
    assert partial.status_code == 410 and "<html" not in partial.content.decode()


def test_a_manage_link_from_another_business_is_not_found_here(client, catalogue, globex):
    # given links to globex's bookings, one current and one expired
    with tenant_context(globex):
        policy_set(globex)
        theirs = catalogue_create(name="Globex strategy session")
        current = confirmed_booking(theirs)
        ended = _ended(confirmed_booking(theirs, hour=11), GRACE * 2)
        tokens = [booking_access_token(booking_id=b.pk) for b in (current, ended)]

    # when they are opened on acme's domain
    for token in tokens:
        for path in _pages(token):
            response = client.get(path)
            # then they name nothing here: not found, never "expired", never an error
            assert response.status_code == 404, path
            assert "Page not found" in response.content.decode(), path
        assert client.post(f"/manage/{token}/cancel/").status_code == 404
    with tenant_context(globex):
        assert Booking.objects.get(pk=current.pk).status == Booking.Status.CONFIRMED


def _forged(token: str, **changes: object) -> str:
    encoded, *signed = token.split(":")
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    payload.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return ":".join([body.decode().rstrip("="), *signed])


def test_a_manage_link_altered_to_last_longer_is_not_found(client, catalogue):
    booking = _ended(confirmed_booking(catalogue), GRACE * 2)
    token = booking_access_token(booking_id=booking.pk)
    in_ten_years = int((timezone.now() + dt.timedelta(days=3650)).timestamp())

    forged = _forged(token, e=in_ten_years)

    assert client.get(f"/manage/{token}/").status_code == 410
    for path in _pages(forged):
        assert client.get(path).status_code == 404, path


def test_the_booking_form_never_changes_the_customer_it_matches_by_email(client, catalogue):
    # given someone's booking, with no phone
    first = confirmed_booking(catalogue)  # Jane Doe, jane@example.test
    # when another person books with that address, their own name and phone
    slot = slot_value(resource_id=catalogue.grace.pk, start=catalogue.at(11))
    url = f"/book/{catalogue.service.pk}/{catalogue.grace.pk}/details/?slot={slot}"
    response = client.post(
        url,
        {
            "name": "Mallory Intruder",
            "email": "JANE@example.test",
            "phone": "+1 212 555 0100",
            "notes": "",
            "idempotency_key": "form-key-intruder",
            "slot": slot,
        },
    )

    # then the record keeps its name and gets no phone; the hold page shows what was typed
    assert response.status_code == 303
    customer = Customer.objects.get()
    assert (customer.pk, customer.name, customer.phone) == (first.customer_id, "Jane Doe", "")
    hold = client.get(response["Location"]).content.decode()
    assert "Mallory Intruder" in hold and "Jane Doe" not in hold
    booking = Booking.objects.exclude(pk=first.pk).get()
    assert (booking.contact.name, booking.contact.phone) == ("Mallory Intruder", "+12125550100")
