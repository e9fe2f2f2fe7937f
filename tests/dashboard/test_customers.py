"""A customer's data on the dashboard (admins only): the customer page reached from a
booking, the export downloads, and the erasure form that says what will happen first."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.urls import reverse

from apps.bookings.models import Booking, Customer
from tests.dashboard.factories import booking_made, local_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace(clinic) -> Booking:
    past_or_future = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=3, hour=10),
        name="Grace Hopper",
        email="grace@example.test",
        phone="+447911123456",
    )
    booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=4, hour=10),
        name="Grace Hopper",
        email="grace@example.test",
    )
    return past_or_future


def _url(name: str, booking: Booking) -> str:
    return reverse(f"dashboard:{name}", kwargs={"customer_id": booking.customer_id})


def test_an_admin_reaches_the_customer_from_a_booking(admin_client_acme, client_as, grace):
    booking_page = reverse("dashboard:booking", kwargs={"booking_id": grace.pk})

    as_admin = admin_client_acme.get(booking_page).content.decode()
    as_manager = client_as("manager").get(booking_page).content.decode()
    customer_page = admin_client_acme.get(_url("customer", grace))

    assert _url("customer", grace) in as_admin
    assert _url("customer", grace) not in as_manager
    body = customer_page.content.decode()
    assert customer_page.status_code == 200
    assert "grace@example.test" in body and "+447911123456" in body
    assert body.count(reverse("dashboard:booking", kwargs={"booking_id": grace.pk})) == 1
    assert f"{_url('customer_export', grace)}?format=csv" in body
    assert _url("customer_erase", grace) in body


def test_export_downloads_json_and_a_zip_and_is_recorded(admin_client_acme, grace):
    as_json = admin_client_acme.get(_url("customer_export", grace), {"format": "json"})
    as_csv = admin_client_acme.get(_url("customer_export", grace), {"format": "csv"})
    odd = admin_client_acme.get(_url("customer_export", grace), {"format": "\x00"})

    assert as_json.status_code == 200
    assert as_json["Content-Disposition"].startswith("attachment;")
    assert json.loads(as_json.content)["customer"]["email"] == "grace@example.test"
    assert as_csv["Content-Type"] == "application/zip"
    assert "bookings.csv" in zipfile.ZipFile(io.BytesIO(as_csv.content)).namelist()
    assert odd.status_code == 400
    assert "Choose json or csv." in odd.content.decode()
    exports = LogEntry.objects.filter(
        object_pk=str(grace.customer_id), additional_data__action="customer.exported"
    )
    assert sorted(entry.additional_data["format"] for entry in exports) == ["csv", "json"]


@pytest.mark.parametrize("role", ["frontdesk", "scheduler", "manager"])
def test_only_admins_may_export_or_erase(client_as, grace, role):
    client = client_as(role)

    assert client.get(_url("customer_export", grace)).status_code == 403
    response = client.post(_url("customer_erase", grace), {"reason": "x", "confirm": "on"})

    assert response.status_code == 403
    assert Customer.objects.get(pk=grace.customer_id).erased_at is None


def test_the_erase_form_says_what_will_happen(admin_client_acme, grace):
    body = admin_client_acme.get(_url("customer_erase", grace)).content.decode()

    assert "2 bookings still to come will be cancelled" in body
    assert "This cannot be undone." in body


def test_erasing_needs_a_reason_and_the_box_ticked(admin_client_acme, grace):
    response = admin_client_acme.post(_url("customer_erase", grace), {"reason": "Ticket 9"})
    named = admin_client_acme.post(
        _url("customer_erase", grace), {"reason": "Grace Hopper asked", "confirm": "on"}
    )

    assert response.status_code == 400
    assert "Tick the box to confirm." in response.content.decode()
    assert named.status_code == 400
    assert "out of the reason" in named.content.decode()
    assert Customer.objects.get(pk=grace.customer_id).erased_at is None


def test_erasing_cancels_whats_to_come_and_shows_the_erased_customer(
    admin_client_acme, grace, django_capture_on_commit_callbacks
):
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_acme.post(
            _url("customer_erase", grace),
            {"reason": "Ticket 10", "confirm": "on"},
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == 200
    assert response["HX-Redirect"] == _url("customer", grace)
    customer = Customer.objects.get(pk=grace.customer_id)
    assert customer.erased_at is not None
    assert set(Booking.objects.values_list("status", flat=True)) == {"cancelled"}
    # the cancellation notices went to the address, before it was shredded
    assert sorted(m.to[0] for m in mail.outbox if "cancel" in m.subject.lower()) == [
        "grace@example.test",
        "grace@example.test",
    ]
    page = admin_client_acme.get(_url("customer", grace)).content.decode()
    assert customer.name in page
    assert "grace@example.test" not in page and "Grace Hopper" not in page
    assert _url("customer_erase", grace) not in page
    # and a second erasure changes nothing
    again = admin_client_acme.post(_url("customer_erase", grace), {"reason": "x", "confirm": "on"})
    assert again.status_code == 302
    assert Customer.objects.get(pk=customer.pk).erased_at == customer.erased_at
