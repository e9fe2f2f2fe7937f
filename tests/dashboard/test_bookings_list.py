"""The bookings list: filters by status, resource, dates and customer email, pages of
25, upcoming bookings first by default, and bad filters reported instead of failing."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.bookings.models import Booking
from tests.dashboard.factories import CustomerFactory, booking_row

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2031, 3, day, hour, tzinfo=LONDON)


def _names(response) -> list[str]:
    rows = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"</a></td>\s*<td>([^<]+)</td>", rows)


@pytest.fixture
def march(clinic):
    def row(name: str, day: int, hour: int, **kwargs) -> Booking:
        return booking_row(
            service=clinic.service,
            starts_at=_at(day, hour),
            customer=CustomerFactory.create(name=name, email=f"{name.lower()}@example.test"),
            **{"resource": clinic.smith, **kwargs},
        )

    row("Ada", 2, 9)
    row("Grace", 3, 10, status=Booking.Status.CANCELLED)
    row("Alan", 4, 11, resource=clinic.jones)
    row("Edsger", 10, 9, status=Booking.Status.HELD)
    return clinic


def test_filters_by_status_resource_and_dates(admin_client_acme, march):
    url = reverse("dashboard:bookings")

    everything = admin_client_acme.get(url, {"date_from": "2031-03-01"})
    cancelled = admin_client_acme.get(url, {"status": "cancelled"})
    jones = admin_client_acme.get(url, {"resource": str(march.jones.pk)})
    first_days = admin_client_acme.get(url, {"date_from": "2031-03-02", "date_to": "2031-03-03"})

    assert _names(everything) == ["Ada", "Grace", "Alan", "Edsger"]
    assert _names(cancelled) == ["Grace"]
    assert _names(jones) == ["Alan"]
    assert _names(first_days) == ["Ada", "Grace"]


def test_filters_by_the_customers_exact_email(admin_client_acme, march):
    found = admin_client_acme.get(reverse("dashboard:bookings"), {"email": " ALAN@example.test "})
    unknown = admin_client_acme.get(reverse("dashboard:bookings"), {"email": "nobody@x.test"})

    assert _names(found) == ["Alan"]
    assert "No bookings match these filters." in unknown.content.decode()


def test_shows_upcoming_bookings_unless_asked_otherwise(admin_client_acme, clinic):
    booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=timezone.now() - dt.timedelta(days=2),
        customer=CustomerFactory.create(name="Past"),
    )
    booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=timezone.now() + dt.timedelta(days=2),
        customer=CustomerFactory.create(name="Future"),
    )

    default = admin_client_acme.get(reverse("dashboard:bookings"))
    cleared = admin_client_acme.get(reverse("dashboard:bookings"), {"status": ""})

    assert _names(default) == ["Future"]
    assert _names(cleared) == ["Past", "Future"]


def test_pages_hold_25_bookings_and_keep_the_filters(admin_client_acme, clinic):
    customer = CustomerFactory.create(name="Regular")
    for offset in range(30):
        booking_row(
            service=clinic.service,
            resource=clinic.smith,
            starts_at=_at(1, 8) + dt.timedelta(hours=offset),
            customer=customer,
        )

    first = admin_client_acme.get(reverse("dashboard:bookings"), {"date_from": "2031-03-01"})
    second = admin_client_acme.get(
        reverse("dashboard:bookings"), {"date_from": "2031-03-01", "page": "2"}
    )
    partial = admin_client_acme.get(
        reverse("dashboard:bookings"),
        {"date_from": "2031-03-01", "page": "2"},
        HTTP_HX_REQUEST="true",
    )

    assert len(_names(first)) == 25 and len(_names(second)) == 5
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?date_from=2031-03-01&amp;page=2"' in first.content.decode()
    assert "<html" not in partial.content.decode() and len(_names(partial)) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"status": "sideways"},
        {"resource": "not-a-resource"},
        {"date_from": "2031-03-32"},
        {"date_from": "2031-03-05", "date_to": "2031-03-01"},
        {"date_to": "9999-12-31"},
        {"email": "x" * 300},
    ],
)
def test_bad_filters_are_reported_beside_the_field_and_keep_what_was_typed(
    admin_client_acme, march, params
):
    response = admin_client_acme.get(reverse("dashboard:bookings"), params)

    body = response.content.decode()
    assert response.status_code == 400
    assert 'class="error"' in body
    for field, value in params.items():
        if field in ("status", "resource"):
            # A list offers only its own choices: say the typed one is not among them.
            assert "Select a valid choice." in body
        else:
            assert f'name="{field}" value="{value}"' in body


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999"])
def test_odd_page_numbers_show_a_page_anyway(admin_client_acme, march, page):
    response = admin_client_acme.get(
        reverse("dashboard:bookings"), {"date_from": "2031-03-01", "page": page}
    )

    assert response.status_code == 200
    assert _names(response)
