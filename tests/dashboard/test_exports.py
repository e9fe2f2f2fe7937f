"""CSV exports: the bookings the list's filters choose (managers and up) and every
customer (admins), streamed, times in the location's zone and in UTC, contact details in
clear, formula-like cells quoted, each export in the business's history; and a stream of
100,000 bookings in flat memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.urls import reverse

from apps.accounts.models import Membership
from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.exports import BOOKING_COLUMNS, bookings_csv
from apps.bookings.models import Booking
from tests.dashboard.factories import CustomerFactory, booking_row

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def _rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # spreadsheets then read it as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def _exports(action: str) -> list[LogEntry]:
    return [
        entry
        for entry in LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("pk")
        if (entry.additional_data or {}).get("action") == action
    ]


@pytest.fixture
def spring(clinic):
    """Two bookings either side of the clocks going forward in London (30 March 2031)."""
    winter = booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=dt.datetime(2031, 3, 28, 9, tzinfo=LONDON),
        customer=CustomerFactory.create(name="Ada Winter", email="ada@example.test"),
    )
    summer = booking_row(
        service=clinic.service,
        resource=clinic.jones,
        starts_at=dt.datetime(2031, 3, 31, 9, tzinfo=LONDON),
        status=Booking.Status.CANCELLED,
        customer=CustomerFactory.create(name='=HYPERLINK("http://x.test")'),
    )
    return clinic, winter, summer


def test_a_manager_downloads_the_filtered_bookings_with_local_and_utc_times(client_as, spring):
    clinic, winter, summer = spring
    manager = client_as(Membership.Role.MANAGER)
    url = reverse("dashboard:bookings_export")

    everything = manager.get(url, {"date_from": "2031-03-01"})
    cancelled = manager.get(url, {"date_from": "2031-03-01", "status": "cancelled"})

    assert everything.status_code == 200
    assert everything["Content-Disposition"].startswith('attachment; filename="acme-bookings-')
    rows = _rows(everything)
    assert list(rows[0]) == list(BOOKING_COLUMNS)
    assert [row["id"] for row in rows] == [str(winter.pk), str(summer.pk)]
    first, second = rows
    assert (first["starts_local"], first["starts_utc"]) == (
        "2031-03-28T09:00:00",
        "2031-03-28T09:00:00+00:00",
    )
    assert (second["starts_local"], second["starts_utc"]) == (
        "2031-03-31T09:00:00",
        "2031-03-31T08:00:00+00:00",
    )
    assert (first["time_zone"], first["service"]) == ("Europe/London", clinic.service.name)
    assert (first["customer_name"], first["customer_email"]) == ("Ada Winter", "ada@example.test")
    # a cell a spreadsheet would run as a formula is given as text
    assert second["customer_name"] == '\'=HYPERLINK("http://x.test")'
    assert [row["id"] for row in _rows(cancelled)] == [str(summer.pk)]
    recorded = _exports("bookings.exported")
    assert [entry.additional_data["filters"] for entry in recorded] == [
        {"date_from": "2031-03-01"},
        {"date_from": "2031-03-01", "status": "cancelled"},
    ]


def test_the_booking_s_own_contact_is_exported_over_the_customer_record(client_as, spring):
    _, winter, _ = spring
    Booking.objects.filter(pk=winter.pk).update(
        contact_name="Ada W.",
        contact_email_encrypted=pii.pii_encrypt("ada.work@example.test"),
        contact_phone_encrypted=pii.pii_encrypt("+447700900123"),
    )

    rows = _rows(
        client_as(Membership.Role.MANAGER).get(
            reverse("dashboard:bookings_export"), {"date_from": "2031-03-01"}
        )
    )

    assert (rows[0]["customer_name"], rows[0]["customer_email"], rows[0]["customer_phone"]) == (
        "Ada W.",
        "ada.work@example.test",
        "+447700900123",
    )


def test_bad_filters_give_the_list_with_errors_and_no_file(client_as, spring):
    response = client_as(Membership.Role.MANAGER).get(
        reverse("dashboard:bookings_export"),
        {"date_from": "2031-03-10", "date_to": "2031-03-01"},
    )

    assert response.status_code == 400
    assert "The last date must not be before the first date." in response.content.decode()
    assert _exports("bookings.exported") == []


def test_who_may_export_what(client_as, spring):
    bookings_url = reverse("dashboard:bookings_export")
    customers_url = reverse("dashboard:customers_export")
    frontdesk = client_as(Membership.Role.FRONTDESK)
    manager = client_as(Membership.Role.MANAGER)

    assert frontdesk.get(bookings_url).status_code == 403
    assert frontdesk.get(customers_url).status_code == 403
    assert manager.get(customers_url).status_code == 403
    assert 'id="bookings-export"' in manager.get(reverse("dashboard:bookings")).content.decode()
    assert (
        'id="bookings-export"' not in frontdesk.get(reverse("dashboard:bookings")).content.decode()
    )
    assert _exports("customers.exported") == []


@pytest.mark.usefixtures("spring")
def test_an_admin_downloads_every_customer_in_clear_and_it_is_recorded(client_as):
    CustomerFactory.create(name="Bea Nobooking", email="bea@example.test")
    admin = client_as(Membership.Role.ADMIN)

    listed = admin.get(reverse("dashboard:bookings"))
    rows = _rows(admin.get(reverse("dashboard:customers_export")))

    assert 'id="customers-export"' in listed.content.decode()
    by_name = {row["name"]: row for row in rows}
    assert by_name["Ada Winter"]["email"] == "ada@example.test"
    assert (by_name["Ada Winter"]["bookings"], by_name["Ada Winter"]["last_booking_utc"]) == (
        "1",
        "2031-03-28T09:00:00+00:00",
    )
    assert (by_name["Bea Nobooking"]["bookings"], by_name["Bea Nobooking"]["email"]) == (
        "0",
        "bea@example.test",
    )
    assert len(_exports("customers.exported")) == 1


def _copies_insert(template: Booking, count: int) -> None:
    """`count` completed copies of `template`, 30 minutes apart, written by one INSERT
    (the services would take minutes for 100,000)."""
    columns = [f.column for f in Booking._meta.concrete_fields]
    values = {column: f'b."{column}"' for column in columns}
    values["id"] = "gen_random_uuid()"
    values["status"] = "'completed'"
    values["starts_at"] = "b.starts_at + n * interval '30 minutes'"
    values["ends_at"] = "b.ends_at + n * interval '30 minutes'"
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO bookings_booking ({names}) "  # noqa: S608
            f"SELECT {', '.join(values[c] for c in columns)} "
            "FROM bookings_booking b, generate_series(1, %s) n WHERE b.id = %s",
            [count, template.pk],
        )


def _streamed_peak(lines: Iterable[str]) -> tuple[int, int]:
    """(lines, peak bytes allocated) while the lines are consumed one by one."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in lines)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_hundred_thousand_bookings_stream_in_flat_memory(clinic):
    template = booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=dt.datetime(2031, 3, 3, 9, tzinfo=LONDON),
        customer=CustomerFactory.create(name="Ada Many", email="many@example.test"),
    )
    actor = ActorRef.system("export test")
    _copies_insert(template, 9_999)
    small_lines, small_peak = _streamed_peak(
        bookings_csv(Booking.objects.all(), actor=actor, filters={})
    )
    _copies_insert(template, 90_000)  # (the same 30-minute steps: copies of copies overlap)
    large_lines, large_peak = _streamed_peak(
        bookings_csv(Booking.objects.all(), actor=actor, filters={})
    )

    assert (small_lines, large_lines) == (10_001, 100_001)  # a header and every booking
    # Ten times the rows, not ten times the memory: what one chunk of rows takes.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    figures = f"10,000 bookings {small_peak / 1e6:.1f} MB, 100,000 {large_peak / 1e6:.1f} MB"
    print(f"export peak: {figures}")  # noqa: T201
