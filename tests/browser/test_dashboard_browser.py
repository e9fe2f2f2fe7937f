"""The staff dashboard in a real browser: a manager sets up a service and its hours and
sees the slots; front desk cancels a booking from the calendar; every main screen passes
an axe scan. Screenshots land in test-artifacts/ for people to look at."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Locator, Page, expect

from apps.accounts.models import Tenant, User
from apps.bookings.models import Booking
from apps.calendars.grid.services import resources_materialize
from apps.calendars.models import AvailabilityRule
from apps.resources.models import Location, Resource, Service
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member
from tests.dashboard.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
    booking_made,
    local_at,
)
from tests.plugins.tenant_tables import business_tables_truncate

pytestmark = [pytest.mark.browser, LIVE_DB]

PASSWORD = "a-long-password-1"
# The live server keeps tenant schemas between tests (its flush empties public tables
# only): each test here starts and ends with acme's business tables empty.


@dataclass
class World:
    base: str
    tenant: Tenant
    location: Location
    smith: Resource
    jones: Resource
    service: Service
    class_service: Service
    day: dt.date  # the day the calendar is shown for, two days ahead
    bookings: list[Booking]


@pytest.fixture
def world(live_tenants: dict[str, Any]) -> Iterator[World]:
    """A London clinic with two doctors open 09:00-17:00 every day and a handful of
    bookings two days ahead."""
    tenant: Tenant = live_tenants["tenants"]["acme"]
    business_tables_truncate(tenant.schema_name)
    with tenant_context(tenant):
        location = LocationFactory.create(name="Harley Street", timezone="Europe/London")
        smith = ResourceFactory.create(name="Dr Smith", location=location)
        jones = ResourceFactory.create(name="Dr Jones", location=location)
        service = ServiceFactory.create(name="Check-up", resources=[smith, jones])
        class_service = ServiceFactory.create(
            name="Back class", duration_minutes=60, capacity=4, resources=[jones]
        )
        WeeklyRuleFactory.create(location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
        resources_materialize(resources=[smith, jones], days=14)

        def at(hour: int, minute: int = 0, days: int = 2) -> dt.datetime:
            return local_at(location, days=days, hour=hour, minute=minute)

        bookings = [
            booking_made(service=service, resource=smith, starts_at=at(9), name="Ada Lovelace"),
            booking_made(
                service=service, resource=smith, starts_at=at(10, 30), name="Grace Hopper"
            ),
            booking_made(
                service=service,
                resource=smith,
                starts_at=at(14),
                name="Alan Turing",
                email="alan@example.test",
                confirm=False,
            ),
            booking_made(service=service, resource=jones, starts_at=at(11), name="Edsger Dijkstra"),
            booking_made(
                service=class_service,
                resource=jones,
                starts_at=at(15),
                name="Barbara Liskov",
                email="barbara@example.test",
            ),
            booking_made(
                service=class_service,
                resource=jones,
                starts_at=at(15),
                name="Donald Knuth",
                email="donald@example.test",
            ),
            booking_made(
                service=service,
                resource=smith,
                starts_at=at(12, days=3),
                name="Ken Thompson",
                email="ken@example.test",
            ),
            booking_made(
                service=service,
                resource=smith,
                starts_at=at(16, days=4),
                name="Frances Allen",
                email="frances@example.test",
            ),
        ]
        day = at(9).date()
    yield World(
        base=live_tenants["acme"],
        tenant=tenant,
        location=location,
        smith=smith,
        jones=jones,
        service=service,
        class_service=class_service,
        day=day,
        bookings=bookings,
    )
    business_tables_truncate(tenant.schema_name)


def _member(tenant: Tenant, role: str) -> str:
    return staff_member(tenant, role, PASSWORD)


def _log_in(page: Page, base: str, email: str) -> None:
    log_in(page, base, email, PASSWORD)


def _shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"dashboard-{name}.png"), full_page=True)


def _day_region(page: Page, world: World, day: dt.date) -> Locator:
    """The calendar's grid for `day` at the clinic, which only that day's page has."""
    name = f"Bookings at {world.location.name} on {day:%A} {day.day} {day:%B %Y}"
    return page.get_by_role("region", name=name, exact=True)


def _next_monday() -> dt.date:
    today = dt.datetime.now(tz=dt.UTC).date()
    return today + dt.timedelta(days=7 - today.weekday())


def test_manager_adds_a_service_and_weekly_hours_and_sees_the_slots(
    page: Page, world: World, screenshot_dir: Path
):
    # given a manager, and a physio at a new studio that has no opening hours yet
    with tenant_context(world.tenant):
        studio = LocationFactory.create(name="Physio Studio", timezone="Europe/London")
        physio = ResourceFactory.create(name="Sam Physio", location=studio)
    _log_in(page, world.base, _member(world.tenant, "manager"))

    # when they add a service delivered by the physio
    page.get_by_role("link", name="Services & resources").click()
    page.get_by_role("link", name="Add a service").click()
    page.get_by_label("Name").fill("Physio assessment")
    page.get_by_label("Duration (minutes)").fill("45")
    page.get_by_label("Sam Physio").check()
    _shot(page, screenshot_dir, "service-form")
    page.get_by_role("button", name="Save service").click()
    expect(page.get_by_text("Service “Physio assessment” saved.")).to_be_visible()
    expect(page.get_by_role("link", name="Physio assessment")).to_be_visible()
    _shot(page, screenshot_dir, "catalogue")

    # and weekly hours for the physio from next Monday, Monday to Friday 09:00-12:00
    page.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Availability"
    ).click()
    page.get_by_role("link", name="weekly hours for Sam Physio").click()
    page.get_by_label("Opens at").fill("09:00")
    page.get_by_label("Closes at").fill("12:00")
    page.get_by_label("From").fill(_next_monday().isoformat())
    _shot(page, screenshot_dir, "rule-form")
    page.get_by_role("button", name="Save and show the slots").click()

    # then the week of slots shows the new hours at once: six half-hour slots a weekday
    expect(page.get_by_role("heading", name="Slots of Sam Physio")).to_be_visible()
    expect(page.locator(".lead-line")).to_contain_text("· 30 slots")
    monday = page.get_by_role("region", name=re.compile(r"^Mon "))
    expect(monday.locator(".slot-time")).to_have_text(
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    )
    expect(page.get_by_role("region", name=re.compile(r"^Sat ")).locator(".slot")).to_have_count(0)
    _shot(page, screenshot_dir, "slots-week")

    # and customers are offered the 45-minute starts that fit in 09:00-12:00
    with tenant_context(world.tenant):
        service = Service.objects.get(name="Physio assessment")
    when_url = reverse("booking:when", kwargs={"service_id": service.pk, "who": physio.pk})
    page.goto(f"{world.base}{when_url}?day={_next_monday().isoformat()}&tz=Europe/London")
    expect(page.locator(".times a.time")).to_have_text(
        ["09:00", "09:30", "10:00", "10:30", "11:00"]
    )


def test_front_desk_cancels_a_booking_with_a_reason_from_the_calendar(
    page: Page, world: World, screenshot_dir: Path
):
    # given front desk looking at the day's calendar
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, world.base, _member(world.tenant, "frontdesk"))
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Calendar").click()
    page.get_by_label("Date", exact=True).fill(world.day.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name=re.compile("Grace Hopper"))).to_be_visible()
    _shot(page, screenshot_dir, "calendar-day")

    # (the week of one doctor, for the record)
    page.get_by_role("link", name="Dr Smith", exact=True).click()
    expect(page.get_by_role("link", name=re.compile("Ken Thompson"))).to_be_visible()
    _shot(page, screenshot_dir, "calendar-week")
    page.get_by_role("link", name="Day", exact=True).click()
    # (the week also lists Grace Hopper: wait for the day before clicking her)
    expect(page.get_by_role("region", name=re.compile("^Bookings at "))).to_be_visible()

    # when they open Grace Hopper's booking and cancel it with a reason
    page.get_by_role("link", name=re.compile("Grace Hopper")).click()
    expect(page.get_by_role("heading", name="Check-up with Grace Hopper")).to_be_visible()
    _shot(page, screenshot_dir, "booking-detail")
    page.get_by_label("Reason for cancelling").fill("Doctor called in sick")
    page.get_by_role("button", name="Cancel booking").click()

    # then the booking is cancelled, the reason is in its history, and the day is free
    expect(page.get_by_text("The booking is cancelled.")).to_be_visible()
    expect(page.locator(".lead-line .badge")).to_have_text("Cancelled")
    expect(page.get_by_role("region", name="History")).to_contain_text("Doctor called in sick")
    _shot(page, screenshot_dir, "booking-cancelled")
    with tenant_context(world.tenant):
        booking = Booking.objects.get(pk=world.bookings[1].pk)
        assert booking.status == Booking.Status.CANCELLED
        assert booking.cancellation_reason == "Doctor called in sick"
    page.get_by_role("link", name=re.compile("Calendar of")).click()
    expect(page.get_by_role("link", name=re.compile("Ada Lovelace"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Grace Hopper"))).to_have_count(0)


def test_dashboard_screens_have_no_serious_accessibility_violations(
    page: Page, world: World, screenshot_dir: Path
):
    # (Dr Smith is closed on the day of Ken Thompson's booking: a conflict to list)
    with tenant_context(world.tenant):
        AvailabilityRule.objects.create(
            resource=world.smith,
            kind=AvailabilityRule.Kind.EXCEPTION,
            valid_from=world.day + dt.timedelta(days=1),
            valid_to=world.day + dt.timedelta(days=1),
            is_closed=True,
        )
        resources_materialize(resources=[world.smith], days=14)
    _log_in(page, world.base, _member(world.tenant, "admin"))
    booking = world.bookings[0]
    screens = {
        "today": "/dashboard/",
        "calendar": f"/dashboard/calendar/?date={world.day.isoformat()}",
        "week": f"/dashboard/calendar/?view=week&date={world.day.isoformat()}"
        f"&resource={world.jones.pk}",
        "bookings": "/dashboard/bookings/",
        "booking": f"/dashboard/bookings/{booking.pk}/",
        "reschedule": f"/dashboard/bookings/{booking.pk}/reschedule/",
        "availability": "/dashboard/availability/",
        "rule": f"/dashboard/availability/rules/new/?kind=exception&for=resource:{world.smith.pk}",
        "slots": f"/dashboard/availability/slots/?resource={world.smith.pk}",
        "conflicts": "/dashboard/availability/conflicts/",
        "catalogue-list": "/dashboard/catalogue/",
        "service": f"/dashboard/catalogue/services/{world.service.pk}/",
        "resource": f"/dashboard/catalogue/resources/{world.smith.pk}/",
        "settings": "/dashboard/settings/",
    }
    for name, path in screens.items():
        page.goto(world.base + path)
        assert_accessible(page)
        _shot(page, screenshot_dir, f"a11y-{name}")
    expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
    page.goto(world.base + screens["conflicts"])
    expect(page.get_by_role("link", name=re.compile(r"Ken Thompson \(12:00\)$"))).to_be_visible()

    # and on a phone-sized screen, where the calendar scrolls sideways
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(world.base + screens["calendar"])
    assert_accessible(page)
    _shot(page, screenshot_dir, "calendar-phone")


def test_the_calendar_and_a_cancellation_work_without_javascript(
    browser: Browser, world: World, screenshot_dir: Path
):
    # given front desk in a browser with JavaScript turned off
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _log_in(page, world.base, _member(world.tenant, "frontdesk"))

    # when they move to the day through the calendar's plain form and links
    # (every day has these links: wait for the day each one leads to before the next)
    page.goto(world.base + "/dashboard/calendar/")
    page.get_by_label("Date", exact=True).fill(world.day.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(_day_region(page, world, world.day)).to_be_visible()
    page.get_by_role("link", name=re.compile("^Next day")).click()
    expect(_day_region(page, world, world.day + dt.timedelta(days=1))).to_be_visible()
    page.get_by_role("link", name=re.compile("Previous day$")).click()
    expect(_day_region(page, world, world.day)).to_be_visible()
    page.get_by_role("link", name=re.compile("Edsger Dijkstra")).click()
    page.get_by_label("Reason for cancelling").fill("Asked by phone")
    page.get_by_role("button", name="Cancel booking").click()

    # then the page after the redirect shows the cancellation and its reason
    expect(page.get_by_text("The booking is cancelled.")).to_be_visible()
    expect(page.get_by_role("region", name="History")).to_contain_text("Asked by phone")
    assert page.url.endswith(f"/dashboard/bookings/{world.bookings[3].pk}/")
    _shot(page, screenshot_dir, "no-js-cancelled")
    context.close()


def test_a_phone_in_booking_by_front_desk(page: Page, world: World, screenshot_dir: Path):
    # given front desk on the day's calendar, a known customer on the phone
    page.set_viewport_size({"width": 1280, "height": 900})
    email = _member(world.tenant, "frontdesk")
    _log_in(page, world.base, email)
    page.goto(f"{world.base}/dashboard/calendar/?date={world.day.isoformat()}")
    expect(_day_region(page, world, world.day)).to_be_visible()

    # when they open Dr Jones's free morning from the calendar
    page.get_by_role("link", name=re.compile(r"^Book 09:30 Dr Jones")).click()
    expect(page.get_by_role("heading", name="New booking")).to_be_visible()
    # The heading shows while the page is still loading; htmx (a deferred script) wires
    # the search and the free times only then, and typing before that is never searched.
    page.wait_for_load_state("load")
    expect(page.get_by_label("With", exact=True)).to_have_value(str(world.jones.pk))
    assert_accessible(page)

    # find the customer by the start of her name, pick the service and a free time
    # (each answer is swapped in by htmx: pick from it only once it has arrived)
    with page.expect_response(re.compile(r"/dashboard/bookings/new/customers/\?q=Ada")):
        page.get_by_label("Find a customer").fill("Ada")
    page.get_by_role("radio", name=re.compile("Ada Lovelace")).check()
    times = page.get_by_role("group", name=re.compile("^Free times on"))
    with page.expect_response(re.compile(r"/dashboard/bookings/new/times/\?")):
        page.get_by_label("Service", exact=True).select_option(label="Check-up")
    expect(times.get_by_label("09:30")).to_be_visible()
    times.get_by_label("09:30").check()
    expect(page.get_by_role("radio", name=re.compile("Ada Lovelace"))).to_be_checked()
    page.get_by_role("radio", name="Confirm now").check()
    _shot(page, screenshot_dir, "booking-new")
    page.get_by_role("button", name="Book", exact=True).click()

    # then the booking is confirmed for her with Dr Jones, made by this staff member
    expect(page.get_by_text("The booking is confirmed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Check-up with Ada Lovelace")).to_be_visible()
    expect(page.get_by_role("region", name="History")).to_contain_text("f***@s***.test")
    _shot(page, screenshot_dir, "booking-new-done")
    with tenant_context(world.tenant):
        booking = Booking.objects.exclude(pk__in=[b.pk for b in world.bookings]).get()
        assert booking.resource_id == world.jones.pk
        assert booking.customer_id == world.bookings[0].customer_id
        assert booking.status == Booking.Status.CONFIRMED
        assert booking.source == Booking.Source.ADMIN
        assert booking.starts_at == local_at(world.location, days=2, hour=9, minute=30)
        assert booking.created_by_id == str(User.objects.get(email=email).pk)
