"""The first steps of the customer booking pages: service, who, day and time."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from apps.accounts.branding import PAGE_BACKGROUND, accent_palette, contrast_ratio
from apps.booking_site.forms import slot_value
from tests.booking_site.catalogue import SLOT_HOURS, london_today, policy_set
from tests.bookings.factories import ResourceFactory, ServiceFactory

pytestmark = pytest.mark.django_db
TIMES = re.compile(r'class="time" href="[^"]+">(\d\d:\d\d)')


def _is_partial(body: str) -> bool:
    return "<html" not in body and "<title>" in body


def test_home_lists_bookable_services_under_the_business_name(client, catalogue):
    # given a retired service and a service nobody delivers
    ServiceFactory.create(name="Retired massage", is_active=False, resources=[catalogue.ada])
    ServiceFactory.create(name="Unstaffed workshop")

    # when
    response = client.get("/")

    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in body and "Acme Clinic</h1>" in body
    assert "Staff log in" in body
    assert f'href="/book/{catalogue.service.pk}/"' in body
    assert "Retired massage" not in body
    assert "Unstaffed workshop" not in body


def test_home_as_htmx_request_is_only_the_partial(htmx, catalogue):
    response = htmx.get("/")

    body = response.content.decode()
    assert response.status_code == 200
    assert _is_partial(body)
    assert "<title>Book an appointment · Acme Clinic</title>" in body
    assert "HX-Request" in response["Vary"]


def test_home_without_services_says_so(client, tenant):
    body = client.get("/").content.decode()

    assert "Nothing can be booked online at the moment" in body


def test_who_page_offers_anyone_and_each_person(client, htmx, catalogue):
    service = catalogue.service
    # given a person who does not deliver this service
    ResourceFactory.create(name="Dr Other", location=catalogue.location)

    full = client.get(f"/book/{service.pk}/")
    partial = htmx.get(f"/book/{service.pk}/")

    body = full.content.decode()
    assert full.status_code == 200 and "<html" in body
    assert f'href="/book/{service.pk}/anyone/"' in body
    assert f'href="/book/{service.pk}/{catalogue.ada.pk}/"' in body
    assert "Dr Grace" in body
    assert "Dr Other" not in body
    assert partial.status_code == 200 and _is_partial(partial.content.decode())


def test_when_page_marks_the_days_that_have_space(client, htmx, catalogue):
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"
    month = catalogue.day.strftime("%Y-%m")

    full = client.get(url, {"month": month})
    partial = htmx.get(url, {"month": month})

    body = full.content.decode()
    day = catalogue.day
    assert full.status_code == 200
    assert f'href="?month={month}&amp;day={day.isoformat()}"' in body
    assert (
        f'<span class="sr-only">{day:%A} </span><span class="num">{day.day}</span>'
        f'<span class="sr-only"> {day:%B}, 3 free times</span>'
    ) in body
    other_day = day + dt.timedelta(days=1)
    if other_day.month == day.month:
        assert f'href="?day={other_day.isoformat()}' not in body
    assert "Choose a day with free times" in body
    assert partial.status_code == 200 and _is_partial(partial.content.decode())


def test_when_page_lists_a_days_times_linking_to_the_details_form(client, catalogue):
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    response = client.get(url, {"day": catalogue.day.isoformat(), "tz": "Europe/London"})

    body = response.content.decode()
    assert response.status_code == 200
    assert TIMES.findall(body) == ["10:00", "10:30", "11:00"]
    expected = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    assert f"{url}details/?slot={expected}&amp;tz=Europe/London" in body
    assert 'data-announce="3 free times on' in body


def _times_in(zone_name: str, catalogue) -> list[str]:
    zone = ZoneInfo(zone_name)
    return [f"{catalogue.at(h, m).astimezone(zone):%H:%M}" for h, m in SLOT_HOURS]


def test_when_page_shows_times_in_the_customers_zone_naming_the_business_zone(client, catalogue):
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"
    # London's morning is the same calendar day in Tokyo (evening there)
    tokyo_day = catalogue.at(10).astimezone(ZoneInfo("Asia/Tokyo")).date()

    response = client.get(url, {"day": tokyo_day.isoformat(), "tz": "Asia/Tokyo"})

    body = response.content.decode()
    assert TIMES.findall(body) == _times_in("Asia/Tokyo", catalogue)
    assert "The business is in Europe/London" in body
    assert '<option value="Asia/Tokyo" selected>' in body
    assert response.cookies["tz"].value == "Asia/Tokyo"


def test_when_page_uses_the_zone_cookie_the_browser_script_sets(client, catalogue):
    client.cookies["tz"] = "America/New_York"
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    body = client.get(url, {"day": catalogue.day.isoformat()}).content.decode()

    assert '<option value="America/New_York" selected>' in body
    assert TIMES.findall(body) == _times_in("America/New_York", catalogue)


def test_when_page_with_an_unknown_zone_explains_and_uses_the_business_zone(client, catalogue):
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    response = client.get(url, {"day": catalogue.day.isoformat(), "tz": "Mars/Olympus"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "We do not know the time zone “Mars/Olympus”" in body
    assert '<option value="Europe/London" selected>' in body
    assert "tz" not in response.cookies


def test_when_page_for_anyone_offers_each_start_once(client, catalogue):
    url = f"/book/{catalogue.service.pk}/anyone/"

    body = client.get(url, {"day": catalogue.day.isoformat()}).content.decode()

    assert TIMES.findall(body) == ["10:00", "10:30", "11:00"]


def test_when_page_month_navigation_stays_within_the_booking_horizon(client, tenant, catalogue):
    policy_set(tenant, horizon_days=5)
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    body = client.get(url, {"month": "2099-01"}).content.decode()

    # a month beyond the horizon shows the last bookable month, with no way further
    last = london_today() + dt.timedelta(days=5)
    assert f"{last:%B %Y}</h2>" in body
    assert "Next month" not in body


def test_when_page_in_curated_mode_shows_a_few_of_the_free_times(client, tenant, catalogue):
    policy_set(tenant, exposure_mode="curated")
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    body = client.get(url, {"day": catalogue.day.isoformat()}).content.decode()

    shown = TIMES.findall(body)
    assert 1 <= len(shown) <= 3
    assert set(shown) <= {"10:00", "10:30", "11:00"}


def test_pages_carry_the_business_branding_with_a_readable_accent(client, tenant, catalogue):
    # given a pale brand colour that white text could not sit on
    tenant.accent_color = "#fbbf24"
    tenant.logo_url = "https://cdn.example.test/acme-logo.png"
    tenant.save(update_fields=["accent_color", "logo_url"])

    body = client.get(f"/book/{catalogue.service.pk}/").content.decode()

    palette = accent_palette("#fbbf24")
    assert f"--accent: {palette.text_safe}; --accent-brand: #fbbf24;" in body
    assert contrast_ratio(palette.text_safe, "#ffffff") >= 4.5
    assert contrast_ratio(palette.text_safe, PAGE_BACKGROUND) >= 4.5
    assert '<img src="https://cdn.example.test/acme-logo.png"' in body


def test_a_history_restore_gets_the_whole_page(catalogue):
    # htmx asks the server for the whole page when the back button finds no snapshot
    client = Client(
        HTTP_HOST="acme.localhost", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    body = client.get(f"/book/{catalogue.service.pk}/").content.decode()

    assert "<html" in body and 'id="flow"' in body


def test_the_business_zone_shown_by_default_is_not_remembered_as_a_choice(client, catalogue):
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    response = client.get(url, {"day": catalogue.day.isoformat()})

    body = response.content.decode()
    assert "tz" not in response.cookies
    assert "tz=" not in "".join(re.findall(r'class="time" href="([^"]+)"', body))


def test_group_class_times_say_how_many_places_are_left(client, catalogue):
    catalogue.service.capacity = 6
    catalogue.service.save(update_fields=["capacity"])
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    body = client.get(url, {"day": catalogue.day.isoformat()}).content.decode()

    assert body.count("6 places left") == 3
