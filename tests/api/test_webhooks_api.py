"""Contract tests of the webhook admin surface: /api/v1/admin/webhook-endpoints and
/api/v1/admin/webhook-deliveries (shapes, errors, Idempotency-Key, roles, tenants)."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.notifications.webhooks.delivery import webhook_delivery_send
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.notifications.webhooks.services import webhook_endpoint_create, webhook_endpoint_ping
from apps.notifications.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature_verify,
)
from tests.api.calls import error_of, hold, key_client, send_json
from tests.notifications.webhooks.conftest import receiver  # noqa: F401 - the real HTTP receiver fixture

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/admin/webhook-endpoints"
DELIVERIES = "/api/v1/admin/webhook-deliveries"
ENDPOINT_FIELDS = {
    "id",
    "url",
    "description",
    "events",
    "active",
    "disabled_at",
    "disabled_reason",
    "failure_streak",
    "failing_since",
    "last_success_at",
    "last_failure_at",
    "secret_hint",
    "created_at",
    "updated_at",
}
DELIVERY_FIELDS = {
    "id",
    "endpoint",
    "event",
    "event_type",
    "booking",
    "status",
    "status_reason",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "delivered_at",
    "created_at",
    "updated_at",
}
ALL_EVENTS = [
    "booking.held",
    "booking.confirmed",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.expired",
    "booking.paid",
    "booking.refunded",
]


def _create(client: Client, *, key: str = "", **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return send_json(
        client, "post", ENDPOINTS, {"url": "https://hooks.example.com/a", **body}, **headers
    )


# --- Endpoints -----------------------------------------------------------------------


def test_create_endpoint_answers_201_with_the_secret_once(admin_client):
    created = _create(admin_client, description="CRM", events=["booking.confirmed"])

    assert created.status_code == 201
    body = created.json()
    assert set(body) == ENDPOINT_FIELDS | {"secret"}
    assert body["url"] == "https://hooks.example.com/a"
    assert body["events"] == ["booking.confirmed"]
    assert (body["active"], body["disabled_reason"], body["failure_streak"]) == (True, None, 0)
    assert body["secret"].startswith("whsec_")
    assert body["secret"].endswith(body["secret_hint"])
    read = admin_client.get(f"{ENDPOINTS}/{body['id']}")
    assert read.status_code == 200
    assert set(read.json()) == ENDPOINT_FIELDS
    assert body["secret"] not in read.content.decode()


def test_create_endpoint_subscribes_to_every_booking_event_by_default(admin_client):
    body = _create(admin_client).json()

    assert body["events"] == ALL_EVENTS


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "ftp://hooks.example.com/a"}, "url"),
        ({"url": "https://user:pass@hooks.example.com/a"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://hooks.example.com/a", "events": ["booking.teleported"]}, "events.0"),
        ({"url": "https://hooks.example.com/a", "events": []}, "events"),
        ({"url": "https://hooks.example.com/a", "events": ["webhook.ping"]}, "events.0"),
        ({"url": "https://hooks.example.com/a", "description": "x" * 201}, "description"),
        ({}, "url"),
    ],
)
def test_create_endpoint_with_bad_input_is_400_naming_the_field(admin_client, payload, field):
    response = send_json(admin_client, "post", ENDPOINTS, payload)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [detail["field"] for detail in error["details"]]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/a",
        "https://127.0.0.1/a",
        "https://10.1.2.3/a",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:8443/a",
        "https://localhost/a",
        "https://db.internal/a",
        "https://intranet/a",
    ],
)
def test_production_refuses_plain_http_and_private_addresses(admin_client, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_ALLOW_PLAIN_HTTP = False

    response = _create(admin_client, url=url)

    assert response.status_code == 400
    assert [d["field"] for d in error_of(response)["details"]] == ["url"]


def test_production_accepts_a_public_https_url(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_ALLOW_PLAIN_HTTP = False

    response = _create(admin_client, url="https://hooks.example.com:8443/in?tenant=acme#x")

    assert response.status_code == 201
    assert response.json()["url"] == "https://hooks.example.com:8443/in?tenant=acme"


def test_create_endpoint_replay_with_the_same_key_returns_the_same_answer(admin_client):
    first = _create(admin_client, key="hook-1")
    again = _create(admin_client, key="hook-1")
    other = _create(admin_client, url="https://hooks.example.com/b", key="hook-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert error_of(other)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert WebhookEndpoint.objects.count() == 1


def test_create_endpoint_past_the_limit_is_409(admin_client, settings):
    settings.WEBHOOK_MAX_ENDPOINTS = 1
    _create(admin_client)

    response = _create(admin_client, url="https://hooks.example.com/b")

    assert response.status_code == 409
    assert error_of(response)["code"] == "WEBHOOK_ENDPOINT_LIMIT"


def test_list_endpoints_is_paginated_and_filters_by_active(admin_client):
    first = _create(admin_client, url="https://hooks.example.com/1").json()
    _create(admin_client, url="https://hooks.example.com/2")
    send_json(admin_client, "patch", f"{ENDPOINTS}/{first['id']}", {"active": False})

    page = admin_client.get(ENDPOINTS, {"per_page": 1, "page": 2})
    active = admin_client.get(ENDPOINTS, {"active": "true"})
    disabled = admin_client.get(ENDPOINTS, {"active": "false"})

    assert page.status_code == 200
    assert page.json()["pagination"] == {"page": 2, "per_page": 1, "total": 2, "total_pages": 2}
    assert [e["url"] for e in page.json()["data"]] == ["https://hooks.example.com/2"]
    assert [e["url"] for e in active.json()["data"]] == ["https://hooks.example.com/2"]
    assert [e["url"] for e in disabled.json()["data"]] == ["https://hooks.example.com/1"]


def test_patch_endpoint_changes_fields_and_disables_and_enables(admin_client):
    endpoint = _create(admin_client).json()
    path = f"{ENDPOINTS}/{endpoint['id']}"

    changed = send_json(
        admin_client, "patch", path, {"events": ["booking.expired"], "description": "Ops"}
    )
    disabled = send_json(admin_client, "patch", path, {"active": False})
    enabled = send_json(admin_client, "patch", path, {"active": True})
    bad = send_json(admin_client, "patch", path, {"url": "gopher://x"})

    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["description"]) == (
        ["booking.expired"],
        "Ops",
    )
    assert changed.json()["url"] == "https://hooks.example.com/a"
    assert (disabled.json()["active"], disabled.json()["disabled_reason"]) == (False, "manual")
    assert disabled.json()["disabled_at"] is not None
    assert (enabled.json()["active"], enabled.json()["disabled_at"]) == (True, None)
    assert bad.status_code == 400
    assert [d["field"] for d in error_of(bad)["details"]] == ["url"]


def test_delete_endpoint_is_204_then_404(admin_client):
    endpoint = _create(admin_client).json()
    path = f"{ENDPOINTS}/{endpoint['id']}"

    deleted = admin_client.delete(path)
    gone = admin_client.get(path)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert gone.status_code == 404
    assert error_of(gone)["code"] == "NOT_FOUND"


def test_rotate_secret_answers_a_new_secret_and_a_replay_does_not_rotate_twice(admin_client):
    created = _create(admin_client).json()
    path = f"{ENDPOINTS}/{created['id']}/rotate-secret"

    rotated = send_json(admin_client, "post", path, HTTP_IDEMPOTENCY_KEY="rotate-1")
    replayed = send_json(admin_client, "post", path, HTTP_IDEMPOTENCY_KEY="rotate-1")

    assert rotated.status_code == 200
    assert set(rotated.json()) == ENDPOINT_FIELDS | {"secret"}
    assert rotated.json()["secret"] != created["secret"]
    assert replayed.content == rotated.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret_hint == rotated.json()["secret"][-4:]
    assert endpoint.previous_secret_expires_at is not None


def test_ping_queues_a_test_event_to_the_endpoint(admin_client):
    endpoint = _create(admin_client).json()

    response = send_json(admin_client, "post", f"{ENDPOINTS}/{endpoint['id']}/ping")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == DELIVERY_FIELDS
    assert (body["endpoint"], body["event_type"], body["status"]) == (
        endpoint["id"],
        "webhook.ping",
        "pending",
    )
    assert body["booking"] is None


def test_unknown_endpoint_ids_are_404_for_every_operation(admin_client):
    missing = "01900000-0000-7000-8000-000000000000"

    answers = [
        admin_client.get(f"{ENDPOINTS}/{missing}"),
        send_json(admin_client, "patch", f"{ENDPOINTS}/{missing}", {"active": False}),
        admin_client.delete(f"{ENDPOINTS}/{missing}"),
        send_json(admin_client, "post", f"{ENDPOINTS}/{missing}/rotate-secret"),
        send_json(admin_client, "post", f"{ENDPOINTS}/{missing}/ping"),
        admin_client.get(f"{DELIVERIES}/{missing}"),
        send_json(admin_client, "post", f"{DELIVERIES}/{missing}/replay"),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert {error_of(a)["code"] for a in answers} == {"NOT_FOUND"}


@pytest.mark.parametrize("role", ["readonly", "frontdesk"])
def test_webhooks_are_for_admin_keys_only(acme, acme_host, role):
    client = key_client(acme_host, role)
    endpoint, _secret = webhook_endpoint_create(url="https://hooks.example.com/a")

    answers = [
        client.get(ENDPOINTS),
        client.get(f"{ENDPOINTS}/{endpoint.pk}"),
        client.get(DELIVERIES),
        _create(client),
        send_json(client, "post", f"{ENDPOINTS}/{endpoint.pk}/ping"),
    ]

    assert [a.status_code for a in answers] == [403] * len(answers)
    assert {error_of(a)["code"] for a in answers} == {"PERMISSION_DENIED"}
    assert WebhookEndpoint.objects.count() == 1


def test_acme_key_and_ids_never_reach_globex_webhooks(acme, globex, acme_host, globex_host):
    with tenant_context(globex):
        globex_endpoint, _secret = webhook_endpoint_create(url="https://hooks.example.com/g")
        globex_delivery = webhook_endpoint_ping(endpoint=globex_endpoint)
    acme_admin = key_client(acme_host, "admin")
    _key = acme_admin.defaults["HTTP_AUTHORIZATION"]
    on_globex = Client(HTTP_HOST=globex_host, HTTP_AUTHORIZATION=_key)

    by_acme_key_on_globex = on_globex.get(ENDPOINTS)
    globex_ids_on_acme = [
        acme_admin.get(f"{ENDPOINTS}/{globex_endpoint.pk}"),
        acme_admin.get(f"{DELIVERIES}/{globex_delivery.pk}"),
        send_json(acme_admin, "post", f"{DELIVERIES}/{globex_delivery.pk}/replay"),
        acme_admin.delete(f"{ENDPOINTS}/{globex_endpoint.pk}"),
    ]
    acme_lists = [acme_admin.get(ENDPOINTS).json(), acme_admin.get(DELIVERIES).json()]

    assert by_acme_key_on_globex.status_code == 401
    assert "hooks.example.com/g" not in by_acme_key_on_globex.content.decode()
    assert [a.status_code for a in globex_ids_on_acme] == [404] * 4
    assert [page["pagination"]["total"] for page in acme_lists] == [0, 0]
    with tenant_context(globex):
        assert WebhookEndpoint.objects.filter(pk=globex_endpoint.pk).exists()


# --- Deliveries ----------------------------------------------------------------------


def test_deliveries_list_filters_and_paginates(admin_client, anon_client, catalogue):
    confirmed_only = _create(admin_client, events=["booking.confirmed"]).json()
    everything = _create(admin_client, url="https://hooks.example.com/all").json()
    held = hold(anon_client, catalogue).json()
    send_json(
        anon_client,
        "post",
        f"/api/v1/bookings/{held['id']}/confirm",
        HTTP_X_BOOKING_TOKEN=held["token"],
    )

    every = admin_client.get(DELIVERIES).json()
    of_endpoint = admin_client.get(DELIVERIES, {"endpoint": confirmed_only["id"]}).json()
    held_events = admin_client.get(DELIVERIES, {"event_type": "booking.held"}).json()
    of_booking = admin_client.get(DELIVERIES, {"booking": held["id"], "per_page": 2}).json()
    pending = admin_client.get(DELIVERIES, {"status": "pending"}).json()
    bad = admin_client.get(DELIVERIES, {"status": "lost", "created_after": "yesterday"})

    assert every["pagination"]["total"] == 3
    assert set(every["data"][0]) == DELIVERY_FIELDS
    assert [d["event_type"] for d in of_endpoint["data"]] == ["booking.confirmed"]
    assert [d["endpoint"] for d in held_events["data"]] == [everything["id"]]
    assert of_booking["pagination"] == {"page": 1, "per_page": 2, "total": 3, "total_pages": 2}
    assert {d["booking"] for d in of_booking["data"]} == {held["id"]}
    assert pending["pagination"]["total"] == 3
    assert bad.status_code == 400
    assert {d["field"] for d in error_of(bad)["details"]} == {"status", "created_after"}


def test_delivery_detail_has_the_attempt_log_and_the_payload(admin_client, receiver):  # noqa: F811
    receiver.answer(503)
    created = _create(admin_client, url=receiver.url).json()
    delivery = webhook_endpoint_ping(endpoint=WebhookEndpoint.objects.get(pk=created["id"]))
    webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    response = admin_client.get(f"{DELIVERIES}/{delivery.pk}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DELIVERY_FIELDS | {"attempt_log", "payload"}
    assert (body["status"], body["attempts"], body["last_status_code"]) == ("failed", 1, 503)
    (attempt,) = body["attempt_log"]
    assert set(attempt) == {
        "number",
        "trigger",
        "started_at",
        "succeeded",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
    }
    assert (attempt["number"], attempt["status_code"], attempt["succeeded"]) == (1, 503, False)
    assert attempt["response_excerpt"] == "receiver is down"
    assert body["payload"]["id"] == body["event"]
    assert body["payload"]["type"] == "webhook.ping"
    assert body["payload"]["version"] == 1


def test_replay_is_202_and_409_while_the_endpoint_is_disabled(admin_client):
    created = _create(admin_client).json()
    delivery = webhook_endpoint_ping(endpoint=WebhookEndpoint.objects.get(pk=created["id"]))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=1)
    replay = f"{DELIVERIES}/{delivery.pk}/replay"

    queued = send_json(admin_client, "post", replay)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        disabled_at="2026-01-01T00:00:00Z", disabled_reason="manual"
    )
    # a ping may be replayed to a disabled endpoint; an event may not
    ping_replay = send_json(admin_client, "post", replay)

    assert queued.status_code == 202
    assert (queued.json()["status"], queued.json()["status_reason"]) == (
        "pending",
        "replay_requested",
    )
    assert ping_replay.status_code == 202


def test_replay_of_a_booking_event_to_a_disabled_endpoint_is_409(
    admin_client, anon_client, catalogue
):
    created = _create(admin_client, events=["booking.held"]).json()
    hold(anon_client, catalogue)
    delivery = WebhookDelivery.objects.get()
    send_json(admin_client, "patch", f"{ENDPOINTS}/{created['id']}", {"active": False})

    response = send_json(admin_client, "post", f"{DELIVERIES}/{delivery.pk}/replay")

    assert response.status_code == 409
    assert error_of(response)["code"] == "WEBHOOK_ENDPOINT_DISABLED"


def test_endpoint_created_through_the_api_receives_signed_events(
    admin_client,
    anon_client,
    catalogue,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    created = _create(admin_client, url=receiver.url, events=["booking.held"]).json()

    with django_capture_on_commit_callbacks(execute=True):
        held = hold(anon_client, catalogue).json()

    (request,) = receiver.requests
    assert request.payload["data"]["booking"]["id"] == held["id"]
    assert webhook_signature_verify(
        secret=created["secret"],
        timestamp=request.header(TIMESTAMP_HEADER),
        signature_header=request.header(SIGNATURE_HEADER),
        body=request.body,
        now=time.time(),
    )
    listed = admin_client.get(DELIVERIES, {"endpoint": created["id"]}).json()["data"]
    assert [(d["status"], d["last_status_code"]) for d in listed] == [("succeeded", 200)]


def test_schema_documents_how_to_verify_a_webhook(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    create = schema["paths"][ENDPOINTS]["post"]
    rotate = schema["paths"][f"{ENDPOINTS}/{{endpoint_id}}/rotate-secret"]["post"]

    for text in (TIMESTAMP_HEADER, SIGNATURE_HEADER, "HMAC-SHA256", "{timestamp}.{raw body}"):
        assert text in create["description"], text
    assert '"version"' in create["description"]
    ref = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    created = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "secret" in created["required"]
    assert "Idempotency-Key" in rotate["description"]
    assert TIMESTAMP_HEADER in schema["info"]["description"]
