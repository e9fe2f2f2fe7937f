"""The first-day checklist on Today and its one-click steps, over HTTP."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.accounts.models import Membership, Tenant
from apps.calendars.models import AvailabilityRule
from apps.resources.models import Location
from apps.resources.services import location_create
from tests.dashboard.screens import HOST
from tests.plugins.factories import (
    MembershipFactory,
    ResourceFactory,
    ServiceFactory,
    signed_in_with_mfa,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_live(acme: Tenant) -> Tenant:
    acme.live_at = None
    acme.holidays_decided_at = None
    acme.save(update_fields=["live_at", "holidays_decided_at"])
    return acme


@pytest.fixture
def owner(not_live: Tenant) -> tuple[Client, Membership]:
    """The owner, signed in with a password only (no factor yet)."""
    membership = MembershipFactory.create(tenant=not_live, role=Membership.Role.ADMIN)
    client = Client(HTTP_HOST=HOST)
    client.force_login(membership.user)
    return client, membership


def _berlin() -> Location:
    return location_create(name="Mitte", timezone="Europe/Berlin")


def test_today_shows_every_step_with_the_page_that_does_it(owner):
    client, _membership = owner

    body = client.get("/dashboard/").content.decode()

    assert "Set up your booking page" in body
    assert "1 of 8 done" in body  # the signup confirmed the address
    assert 'href="/dashboard/catalogue/locations/new/"' in body
    assert 'href="/dashboard/catalogue/services/new/"' in body
    assert 'href="/dashboard/catalogue/resources/new/"' in body
    assert 'href="/dashboard/first-day/holidays/"' in body
    assert 'href="/accounts/mfa/?next=%2Fdashboard%2F"' in body
    assert "Add a location first: hours are in its time zone." in body


def test_other_roles_see_no_checklist(not_live):
    membership = MembershipFactory.create(tenant=not_live, role=Membership.Role.MANAGER)
    client = Client(HTTP_HOST=HOST)
    client.force_login(membership.user)

    body = client.get("/dashboard/").content.decode()

    assert "Set up your booking page" not in body
    assert "Set-up:" not in body


def test_proposed_hours_are_applied_in_one_click(owner):
    client, _membership = owner
    location = _berlin()
    assert (
        "Open Monday to Friday, 9:00\u201317:00 (Europe/Berlin)"
        in client.get("/dashboard/").content.decode()
    )

    response = client.post("/dashboard/first-day/hours/", follow=True)

    rule = AvailabilityRule.objects.get(location=location)
    assert (list(rule.days_of_week), rule.start_minute, rule.end_minute) == (
        [1, 2, 3, 4, 5],
        540,
        1020,
    )
    assert "Mitte is open Monday to Friday, 9:00 to 17:00 (Europe/Berlin)." in (
        response.content.decode()
    )
    # done: the step offers nothing more, and a second click is refused, not doubled
    assert "Open Monday to Friday" not in response.content.decode()
    client.post("/dashboard/first-day/hours/")
    assert AvailabilityRule.objects.filter(location=location).count() == 1


def test_hours_without_a_location_say_what_to_do_first(owner):
    client, _membership = owner

    response = client.post("/dashboard/first-day/hours/", follow=True)

    assert "Add a location first" in response.content.decode()
    assert not AvailabilityRule.objects.exists()


def test_the_holidays_step_closes_the_chosen_public_holidays(owner, not_live):
    client, _membership = owner
    location = _berlin()

    page = client.get("/dashboard/first-day/holidays/")
    body = page.content.decode()
    offered = re.findall(r'name="days" id="holiday-\d+" value="(\d{4}-\d\d-\d\d)"', body)
    assert page.status_code == 200
    assert "Christmas Day" in body and "in DE (Mitte)" in body
    assert len(offered) >= 8

    response = client.post(
        "/dashboard/first-day/holidays/", {"location": str(location.pk), "days": offered[:2]}
    )

    assert response.status_code == 302
    closures = AvailabilityRule.objects.filter(
        location=location, kind=AvailabilityRule.Kind.EXCEPTION, is_closed=True
    )
    assert sorted(str(rule.valid_from) for rule in closures) == sorted(offered[:2])
    assert Tenant.objects.get(pk=not_live.pk).holidays_decided_at is not None


def test_a_day_that_is_no_holiday_is_refused_keeping_the_choice(owner):
    client, _membership = owner
    location = _berlin()

    response = client.post(
        "/dashboard/first-day/holidays/", {"location": str(location.pk), "days": ["2099-02-30"]}
    )

    assert response.status_code == 400
    assert "Choose from the public holidays listed." in response.content.decode()
    assert not AvailabilityRule.objects.exists()


def test_declining_holidays_records_the_decision(owner, not_live):
    client, _membership = owner
    location = _berlin()

    client.post(
        "/dashboard/first-day/holidays/", {"location": str(location.pk), "action": "decline"}
    )

    assert Tenant.objects.get(pk=not_live.pk).holidays_decided_at is not None
    assert not AvailabilityRule.objects.exists()


def test_going_live_is_refused_with_what_is_missing(owner, not_live):
    client, _membership = owner

    response = client.post("/dashboard/first-day/go-live/", follow=True)

    body = response.content.decode()
    assert "Finish these steps before going live:" in body
    assert "Two-step sign-in" in body
    assert Tenant.objects.get(pk=not_live.pk).live_at is None


def test_going_live_when_ready_opens_the_booking_pages(owner, not_live):
    client, membership = owner
    location = _berlin()
    person = ResourceFactory.create(name="Anna", location=location)
    ServiceFactory.create(name="Haircut", resources=[person])
    client.post("/dashboard/first-day/hours/")
    signed_in_with_mfa(client, membership.user)  # the two-step step, done

    response = client.post("/dashboard/first-day/go-live/", follow=True)

    body = response.content.decode()
    assert "Acme Clinic is live: customers can book online." in body
    assert Tenant.objects.get(pk=not_live.pk).live_at is not None
    # afterwards a compact line remains until the last step (holidays) is decided
    assert "Set up your booking page" not in body
    assert "Set-up: 7 of 8 steps done." in body
    assert Client(HTTP_HOST=HOST).get("/").status_code == 200


def test_the_location_form_picks_zones_by_region_and_defaults_the_country(owner):
    client, _membership = owner

    page = client.get("/dashboard/catalogue/locations/new/").content.decode()
    derived = client.post(
        "/dashboard/catalogue/locations/new/",
        {"name": "Mitte", "timezone": "Europe/Berlin", "country": ""},
    )
    chosen = client.post(
        "/dashboard/catalogue/locations/new/",
        {"name": "Wien", "timezone": "Europe/Berlin", "country": "AT"},
    )
    refused = client.post(
        "/dashboard/catalogue/locations/new/",
        {"name": "Nowhere", "timezone": "Europe/Berlin", "country": "XX"},
    )

    assert '<optgroup label="Europe">' in page and "data-timezone-picker" in page
    assert derived.status_code == chosen.status_code == 302
    assert Location.objects.get(name="Mitte").country == "DE"
    assert Location.objects.get(name="Wien").country == "AT"
    assert refused.status_code == 400
    assert 'value="Nowhere"' in refused.content.decode()
    assert not Location.objects.filter(name="Nowhere").exists()
