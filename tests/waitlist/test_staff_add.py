"""Staff adding someone to the line from the dashboard's waitlist screen: the customer
found as the "New booking" screen finds them or typed, through the same join as a
customer's with the staff member as actor; a free time is refused with a link to book it;
errors keep what was typed; with or without htmx; front desk and up."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Tenant
from apps.bookings.models import Customer
from apps.resources.intake import question_create
from apps.resources.models import IntakeQuestion
from apps.waitlist.models import WaitlistEntry
from tests.bookings.factories import slots_create
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory, member_client
from tests.waitlist.factories import FullTime, full_time, wait_in_line

URL = reverse("dashboard:waitlist")
ADD_URL = reverse("dashboard:waitlist_add")


@pytest.fixture
def desk(shop: Tenant):
    membership = MembershipFactory.create(tenant=shop, role="frontdesk")
    return membership.user, member_client(membership, HOST)


def _form(full: FullTime, **changes: str) -> dict[str, str]:
    local = full.starts_at.astimezone(ZoneInfo(full.resource.location.timezone))
    return {
        "customer": "new",
        "name": "Walk In",
        "email": "walk.in@example.test",
        "phone": "",
        "service": str(full.service.pk),
        "resource": str(full.resource.pk),
        "day": local.date().isoformat(),
        "earliest": "",
        "latest": "",
        **changes,
    }


def test_front_desk_adds_a_new_customer_and_the_history_names_them(desk):
    user, client = desk
    full = full_time()

    response = client.post(ADD_URL, _form(full))

    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.contact_name, entry.email) == ("Walk In", "walk.in@example.test")
    assert entry.resource_id == full.resource.pk
    assert (entry.created_by_type, entry.created_by_id) == ("staff", str(user.pk))
    assert entry.language == ""
    [created] = LogEntry.objects.get_for_object(entry).filter(action=LogEntry.Action.CREATE)
    assert created.actor_id == user.pk
    assert "Walk In" in client.get(URL).content.decode()


def test_a_customer_found_by_email_is_added_for_anyone(desk):
    _user, client = desk
    full = full_time()
    known = Customer.objects.get(pk=full.bookings[0].customer_id)

    # without JavaScript the search is a GET of the screen; the customer is offered
    found = client.get(URL, {"q": known.email.upper()})
    assert f'value="{known.pk}"' in found.content.decode()

    # with htmx the line comes back in place, the new entry in it
    response = client.post(
        ADD_URL,
        _form(full, customer=str(known.pk), name="", email="", resource="anyone"),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Added to the waitlist." in response.content.decode()
    entry = WaitlistEntry.objects.get()
    assert entry.customer_id == known.pk and entry.resource_id is None
    assert known.name in response.content.decode()


def test_a_free_time_is_refused_with_a_link_to_book_it_and_keeps_what_was_typed(desk):
    _user, client = desk
    full = full_time()
    slots_create(resource=full.resource, starts_at=full.slots[-1].ends_at)

    response = client.post(ADD_URL, _form(full, name="Typed Name"))

    assert response.status_code == 409
    body = response.content.decode()
    assert "A time you asked for is free: book it instead of waiting." in body
    assert reverse("dashboard:booking_new") + f"?service={full.service.pk}" in body
    assert 'value="Typed Name"' in body and 'value="walk.in@example.test"' in body
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"day": ""}, "This field is required."),
        ({"earliest": "11:00", "latest": "10:00"}, "The last time must not be before the first."),
        ({"customer": ""}, "Choose a customer, or add a new one."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"customer": "01900000-0000-7000-8000-000000000000"}, "Choose a customer"),
    ],
)
def test_bad_input_is_a_field_error_that_keeps_what_was_typed(desk, changes, field_message):
    _user, client = desk
    full = full_time()

    response = client.post(ADD_URL, {**_form(full, phone="+44 20 7946 0958"), **changes})

    assert response.status_code == 400
    body = response.content.decode()
    assert field_message in body
    assert 'value="+44 20 7946 0958"' in body
    assert not WaitlistEntry.objects.exists()


def test_someone_already_waiting_for_those_times_is_told_so(desk):
    _user, client = desk
    full = full_time(count=2)
    [entry] = wait_in_line(full, "ann")
    local = full.starts_at.astimezone(ZoneInfo(full.resource.location.timezone))

    response = client.post(
        ADD_URL,
        _form(full, customer=str(entry.customer_id), earliest=local.strftime("%H:%M")),
    )

    assert response.status_code == 409
    assert "Already on the waitlist for some of these times." in response.content.decode()
    assert WaitlistEntry.objects.count() == 1


def test_a_service_asking_required_questions_says_where_to_join(desk):
    _user, client = desk
    full = full_time()
    question_create(
        service=full.service, kind=IntakeQuestion.Kind.CHECKBOX, label="I agree", required=True
    )

    response = client.post(ADD_URL, _form(full))

    assert response.status_code == 400
    assert "This service asks questions before booking" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_only_staff_add_people(shop: Tenant):
    full = full_time()
    anonymous = Client(HTTP_HOST=HOST)

    response = anonymous.post(ADD_URL, _form(full))

    assert response.status_code == 302 and "login" in response["Location"]
    assert not WaitlistEntry.objects.exists()
