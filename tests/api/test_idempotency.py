"""Idempotency-Key: required on POST /bookings, replays byte for byte, refuses reuse
with another request, and holds under concurrent duplicates."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_create
from apps.bookings.models import Booking, IdempotencyRecord
from apps.bookings.pii import pii_decrypt
from apps.core.tenancy import use_public_schema
from apps.resources.models import Location
from tests.api.calls import Catalogue, error_of, hold, hold_payload, send_json
from tests.api.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.plugins.tenant_tables import business_tables_truncate


@pytest.mark.django_db
def test_post_bookings_without_idempotency_key_is_400(anon_client, catalogue):
    response = send_json(anon_client, "post", "/api/v1/bookings", hold_payload(catalogue))
    blank = send_json(
        anon_client, "post", "/api/v1/bookings", hold_payload(catalogue), HTTP_IDEMPOTENCY_KEY=" "
    )

    assert response.status_code == blank.status_code == 400
    assert error_of(response)["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_replay_returns_the_original_status_and_bytes(anon_client, catalogue):
    first = hold(anon_client, catalogue, key="same")
    replay = hold(anon_client, catalogue, key="same")

    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_payload_is_422(anon_client, catalogue):
    hold(anon_client, catalogue, key="same")

    other = hold(anon_client, catalogue, key="same", slot=catalogue.slots[2])

    assert other.status_code == 422
    assert error_of(other)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_same_key_on_another_endpoint_is_422(admin_client, catalogue):
    held = hold(admin_client, catalogue, key="k").json()

    confirm = send_json(
        admin_client, "post", f"/api/v1/bookings/{held['id']}/confirm", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert confirm.status_code == 422


@pytest.mark.django_db
def test_keys_are_scoped_to_the_caller(admin_client, frontdesk_client, catalogue):
    first = hold(admin_client, catalogue, key="shared")
    second = hold(frontdesk_client, catalogue, key="shared", slot=catalogue.slots[1])

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


@pytest.mark.django_db
def test_a_failed_request_leaves_the_key_free(anon_client, catalogue):
    bad = hold(anon_client, catalogue, key="retry", email="not-an-email")
    good = hold(anon_client, catalogue, key="retry")

    assert bad.status_code == 400
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good


@pytest.mark.django_db
def test_admin_writes_replay_too(admin_client):
    payload = {"name": "Soho", "timezone": "Europe/London"}

    first = send_json(
        admin_client, "post", "/api/v1/admin/locations", payload, HTTP_IDEMPOTENCY_KEY="l1"
    )
    again = send_json(
        admin_client, "post", "/api/v1/admin/locations", payload, HTTP_IDEMPOTENCY_KEY="l1"
    )

    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Location.objects.count() == 1


@pytest.mark.django_db
def test_confirm_and_delete_replay_their_answers(admin_client, catalogue):
    held = hold(admin_client, catalogue).json()
    url = f"/api/v1/bookings/{held['id']}/confirm"

    first = send_json(admin_client, "post", url, HTTP_IDEMPOTENCY_KEY="c1")
    again = send_json(admin_client, "post", url, HTTP_IDEMPOTENCY_KEY="c1")
    deleted = admin_client.delete(
        f"/api/v1/admin/resources/{catalogue.resource.pk}", HTTP_IDEMPOTENCY_KEY="d1"
    )
    deleted_again = admin_client.delete(
        f"/api/v1/admin/resources/{catalogue.resource.pk}", HTTP_IDEMPOTENCY_KEY="d1"
    )

    assert first.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert deleted.status_code == deleted_again.status_code == 204
    assert deleted_again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_an_unprintable_key_is_400(anon_client, catalogue):
    response = hold(anon_client, catalogue, key="x" * 300)

    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "Idempotency-Key"


# --- What is stored, and whose it is ---------------------------------------------


def _stored_rows(schema: str) -> list[tuple[str, ...]]:
    """Every idempotency row as the database holds it, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, actor_key, request_hash, response_body "  # noqa: S608
            f"FROM {connection.ops.quote_name(schema)}.bookings_idempotencyrecord"
        )
        return cursor.fetchall()


@pytest.mark.django_db
def test_stored_answers_keep_no_secret_or_contact_details_in_clear(
    acme, admin_client, anon_client, catalogue
):
    # given an API key, a webhook endpoint, a hold and a confirmation made with keys
    def call(n, client, method, path, body):
        calls.append((n, client, method, path, body))
        return send_json(client, method, path, body, HTTP_IDEMPOTENCY_KEY=f"k{n}")

    calls = []
    key = call(0, admin_client, "post", "/api/v1/admin/api-keys", {"role": "readonly"})
    endpoint_body = {"url": "https://hooks.example.com/a"}
    endpoint = call(1, admin_client, "post", "/api/v1/admin/webhook-endpoints", endpoint_body)
    held = call(2, anon_client, "post", "/api/v1/bookings", hold_payload(catalogue))
    booking_url = f"/api/v1/admin/bookings/{held.json()['id']}"
    confirmed = call(3, admin_client, "patch", booking_url, {"status": "confirmed"})
    first = [key, endpoint, held, confirmed]
    assert [r.status_code for r in first] == [201, 201, 201, 200]
    api_key, webhook_secret = key.json()["key"], endpoint.json()["secret"]
    token, customer = held.json()["token"], confirmed.json()["customer"]
    assert (customer["email"], customer["phone"]) == ("jane@example.test", "+447911123456")
    secrets = {
        "api key": api_key,
        "api key's secret part": api_key.rpartition("_")[2],
        "webhook secret": webhook_secret,
        "webhook secret's random part": webhook_secret.removeprefix("whsec_"),
        "booking token": token,
        "email": customer["email"],
        "phone": customer["phone"],
        "phone's national digits": customer["phone"].removeprefix("+44"),
    }

    # when the rows are read raw
    rows = _stored_rows(acme.schema_name)

    # then none of it is there in clear, yet each answer is stored (encrypted)
    assert len(rows) == 4
    dump = repr(rows)
    for name, secret in secrets.items():
        assert secret not in dump, f"the {name} is stored in clear"
    bodies = {k: body for k, _actor, _hash, body in rows}
    for n, response in enumerate(first):
        assert pii_decrypt(bodies[f"k{n}"]) == response.content.decode()

    # and a replay answers the first bytes, secret and token included
    replays = [
        send_json(client, method, path, body, HTTP_IDEMPOTENCY_KEY=f"k{n}")
        for n, client, method, path, body in calls
    ]
    for response, replay in zip(first, replays, strict=True):
        assert replay.status_code == response.status_code
        assert replay.content == response.content
        assert replay["Idempotent-Replayed"] == "true"
    assert replays[0].json()["key"] == api_key
    assert replays[1].json()["secret"] == webhook_secret
    assert replays[2].json()["token"] == token


@pytest.mark.django_db
def test_anonymous_clients_with_the_same_key_get_their_own_answers(acme_host, catalogue):
    # given two anonymous clients at different addresses
    alice = Client(HTTP_HOST=acme_host, REMOTE_ADDR="203.0.113.10")
    bob = Client(HTTP_HOST=acme_host, REMOTE_ADDR="198.51.100.20")
    payload = hold_payload(catalogue)

    # when both send the same key with the same body (Alice first), then Bob retries
    # with another slot, and each sends its request again
    alice_first = hold(alice, catalogue, key="shared")
    bob_same = send_json(bob, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="shared")
    bob_first = hold(bob, catalogue, key="shared", slot=catalogue.slots[1])
    alice_again = hold(alice, catalogue, key="shared")
    bob_again = hold(bob, catalogue, key="shared", slot=catalogue.slots[1])

    # then Bob never sees Alice's answer (her token): he gets his own result each time
    assert alice_first.status_code == 201
    assert bob_same.status_code == 409
    assert error_of(bob_same)["code"] == "SLOT_FULL"
    assert alice_first.json()["token"] not in bob_same.content.decode()
    assert bob_first.status_code == 201
    assert "Idempotent-Replayed" not in bob_first
    assert bob_first.json()["id"] != alice_first.json()["id"]
    assert alice_again.content == alice_first.content
    assert bob_again.content == bob_first.content
    assert alice_again["Idempotent-Replayed"] == bob_again["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 2


@pytest.mark.django_db
def test_an_anonymous_client_is_its_address_not_a_header_it_sends(acme_host, catalogue):
    # given no trusted proxy (the default): X-Forwarded-For is the client's own word
    first = hold(Client(HTTP_HOST=acme_host, REMOTE_ADDR="203.0.113.10"), catalogue, key="k")

    # when the same address sends the key again, claiming to forward someone else
    claimed = Client(
        HTTP_HOST=acme_host, REMOTE_ADDR="203.0.113.10", HTTP_X_FORWARDED_FOR="198.51.100.20"
    )
    again = hold(claimed, catalogue, key="k")

    # then it is the same client: the first answer is replayed, no second hold is made
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1


# --- Concurrent duplicates ---------------------------------------------------------
# Real threads, each with its own connection, need committed rows: they live in a
# tenant of their own whose tables are emptied before and after (TRUNCATE also clears
# the append-only booking history, which refuses row deletes).

CONCURRENT_TENANT = "apiconcurrency"


@pytest.fixture(scope="module")
def committed_catalogue(django_db_setup, django_db_blocker) -> Iterator[tuple[Tenant, Catalogue]]:
    with django_db_blocker.unblock():
        tenant = Tenant.objects.filter(slug=CONCURRENT_TENANT).first()
        if tenant is None:
            owner, _ = User.objects.get_or_create(email=f"owner@{CONCURRENT_TENANT}.test")
            tenant = tenant_create(slug=CONCURRENT_TENANT, name="Concurrency", owner=owner)
        business_tables_truncate(tenant.schema_name)
        with schema_context(tenant.schema_name):
            location = LocationFactory.create()
            resource = ResourceFactory.create(location=location)
            service = ServiceFactory.create(resources=[resource])
            slots = slots_create(resource=resource, starts_at=future_start(), count=2)
        use_public_schema()
        yield tenant, Catalogue(location, resource, service, slots)
        business_tables_truncate(tenant.schema_name)
        use_public_schema()


def test_concurrent_duplicates_make_one_booking(committed_catalogue, django_db_blocker, settings):
    from tests.api.calls import rates

    settings.REST_FRAMEWORK = rates()
    tenant, catalogue = committed_catalogue
    payload = hold_payload(catalogue)
    responses: list = []
    barrier = threading.Barrier(8)

    def post() -> None:
        try:
            client = Client(HTTP_HOST=f"{CONCURRENT_TENANT}.localhost")
            barrier.wait()
            responses.append(
                send_json(client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="dup")
            )
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        with schema_context(tenant.schema_name):
            bookings = Booking.objects.count()
            records = IdempotencyRecord.objects.filter(key="dup").count()
        use_public_schema()

    assert len(responses) == 8
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert bookings == 1
    assert records == 1


def test_concurrent_holds_with_different_keys_get_one_place(
    committed_catalogue, django_db_blocker, settings
):
    from tests.api.calls import rates

    settings.REST_FRAMEWORK = rates()
    _tenant, catalogue = committed_catalogue
    responses: list = []
    barrier = threading.Barrier(6)

    def post(n: int) -> None:
        try:
            client = Client(HTTP_HOST=f"{CONCURRENT_TENANT}.localhost")
            payload = hold_payload(catalogue, slot=catalogue.slots[1], email=f"p{n}@example.test")
            barrier.wait()
            responses.append(
                send_json(client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY=f"k{n}")
            )
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        use_public_schema()

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert all(error_of(r)["code"] == "SLOT_FULL" for r in responses if r.status_code == 409)
