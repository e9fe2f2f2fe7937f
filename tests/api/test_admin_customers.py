"""Contract tests of /api/v1/admin/customers/{id}/export and /erase: admins only (API key
of the admin role, or a staff JWT of an admin), files and shapes, errors in the
envelope, Idempotency-Key, the model history, other businesses' ids."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django_otp.oath import totp
from django_tenants.utils import tenant_context

from apps.accounts.models import AuthenticatorDevice, Membership
from apps.bookings.models import Booking, Customer
from apps.bookings.services import customer_get_or_create
from apps.core.tenancy import use_tenant
from tests.api.calls import error_of, hold, key_client, send_json
from tests.plugins.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def booked(catalogue, anon_client) -> Booking:
    held = hold(anon_client, catalogue).json()
    return Booking.objects.select_related("customer").get(pk=held["id"])


def _export(client: Client, customer_id, **params):
    return client.get(f"/api/v1/admin/customers/{customer_id}/export", params)


def _erase(client: Client, customer_id, body=None, **headers):
    return send_json(
        client,
        "post",
        f"/api/v1/admin/customers/{customer_id}/erase",
        {"reason": "GDPR request 77"} if body is None else body,
        **headers,
    )


def test_export_as_json_is_a_document_to_download(admin_client, booked):
    response = _export(admin_client, booked.customer_id)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="customer-{booked.customer_id}.json"'
    )
    assert response["Cache-Control"] == "no-store"
    document = json.loads(response.content)
    assert document["customer"]["email"] == "jane@example.test"
    assert document["customer"]["phone"] == "+447911123456"
    assert [booking["id"] for booking in document["bookings"]] == [str(booked.pk)]
    assert document["bookings"][0]["notes"] == "First visit"


def test_export_as_csv_is_a_zip(admin_client, booked):
    response = _export(admin_client, booked.customer_id, format="csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert {"customer.csv", "bookings.csv", "audit_entries.csv"} <= set(names)


def test_export_in_an_unknown_format_is_400_in_the_envelope(admin_client, booked):
    response = _export(admin_client, booked.customer_id, format="xml")

    assert response.status_code == 400
    error = error_of(response)
    assert [detail["field"] for detail in error["details"]] == ["format"]


def test_export_is_recorded_with_the_api_key(admin_client, booked):
    _export(admin_client, booked.customer_id, format="csv")

    entry = LogEntry.objects.get(
        object_pk=str(booked.customer_id), additional_data__action="customer.exported"
    )
    assert entry.action == LogEntry.Action.ACCESS
    assert entry.additional_data["by"]["type"] == "api_key"
    assert entry.additional_data["format"] == "csv"


@pytest.mark.parametrize("role", ["readonly", "frontdesk"])
def test_keys_below_admin_are_refused(acme, acme_host, booked, role):
    client = key_client(acme_host, role)

    exported = _export(client, booked.customer_id)
    erased = _erase(client, booked.customer_id)

    assert (exported.status_code, erased.status_code) == (403, 403)
    assert error_of(exported)["code"] == error_of(erased)["code"]
    assert Customer.objects.get(pk=booked.customer_id).erased_at is None


def test_a_manager_signed_in_to_the_dashboard_is_refused(acme, acme_host, booked):
    client = Client(HTTP_HOST=acme_host)
    client.force_login(MembershipFactory(tenant=acme, role=Membership.Role.MANAGER).user)

    assert _export(client, booked.customer_id).status_code == 403


def test_unknown_and_other_businesses_customers_are_404(admin_client, acme, globex, booked):
    with tenant_context(globex):
        theirs = customer_get_or_create(name="Globex Guy", email="guy@globex.test")
    use_tenant(acme)

    for customer_id in (theirs.pk, "01890000-0000-7000-8000-000000000000"):
        assert _export(admin_client, customer_id).status_code == 404
        response = _erase(admin_client, customer_id)
        assert response.status_code == 404
        assert error_of(response)["code"] == "NOT_FOUND"
    with tenant_context(globex):
        assert Customer.objects.get(pk=theirs.pk).erased_at is None
    use_tenant(acme)


def test_erase_answers_the_pseudonym_and_what_was_cancelled(admin_client, booked):
    response = _erase(admin_client, booked.customer_id)

    assert response.status_code == 200
    body = response.json()
    customer = Customer.objects.get(pk=booked.customer_id)
    assert body == {
        "id": str(customer.pk),
        "name": customer.name,
        "erased_at": customer.erased_at.isoformat(),
        "bookings_cancelled": 1,
        "already_erased": False,
    }
    assert customer.name.startswith("Erased customer ")
    assert Booking.objects.get(pk=booked.pk).status == Booking.Status.CANCELLED
    entry = LogEntry.objects.get(
        object_pk=str(customer.pk), additional_data__action="customer.erased"
    )
    assert entry.additional_data["reason"] == "GDPR request 77"
    assert entry.additional_data["by"]["type"] == "api_key"


def test_erase_twice_is_fine_and_a_key_replays_the_first_answer(admin_client, booked):
    first = _erase(admin_client, booked.customer_id, HTTP_IDEMPOTENCY_KEY="erase-1")
    replay = _erase(admin_client, booked.customer_id, HTTP_IDEMPOTENCY_KEY="erase-1")
    again = _erase(admin_client, booked.customer_id)

    assert first.status_code == replay.status_code == again.status_code == 200
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert again.json()["already_erased"] is True
    assert again.json()["bookings_cancelled"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "reason"), ({"reason": "  "}, "reason"), ({"reason": "jane@example.test"}, "reason")],
)
def test_erase_with_a_bad_reason_is_400_and_changes_nothing(admin_client, booked, body, field):
    response = _erase(admin_client, booked.customer_id, body)

    assert response.status_code == 400
    assert [detail["field"] for detail in error_of(response)["details"]] == [field]
    assert Customer.objects.get(pk=booked.customer_id).erased_at is None
    assert Booking.objects.get(pk=booked.pk).status == Booking.Status.HELD


def test_an_admin_with_a_staff_jwt_erases_and_is_the_entrys_actor(acme, anon_client, booked):
    user = UserFactory(email="boss@acme.test", password=PASSWORD)
    MembershipFactory(tenant=acme, role=Membership.Role.ADMIN, user=user)
    device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    token = send_json(
        anon_client,
        "post",
        "/api/v1/auth/token",
        {"email": user.email, "password": PASSWORD, "otp": f"{code:06d}"},
    ).json()["access"]

    response = _erase(anon_client, booked.customer_id, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    entry = LogEntry.objects.get(
        object_pk=str(booked.customer_id), additional_data__action="customer.erased"
    )
    assert entry.actor_id == user.pk
    assert entry.additional_data["by"]["type"] == "staff"


def test_an_erased_customers_email_books_anew(admin_client, anon_client, catalogue, booked):
    _erase(admin_client, booked.customer_id)

    again = hold(anon_client, catalogue, key="hold-2", slot=catalogue.slots[1]).json()

    fresh = Booking.objects.get(pk=again["id"])
    assert fresh.customer_id != booked.customer_id
    assert fresh.customer.email == "jane@example.test"
    assert customer_get_or_create(name="x", email="jane@example.test").pk == fresh.customer_id
