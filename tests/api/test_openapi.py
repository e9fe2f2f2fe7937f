"""The OpenAPI document, its offline docs, and a bounded schemathesis fuzz run through
the WSGI app in-process: no 5xx and no answer outside the documented schema."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import Tenant
from apps.api.services import api_key_create
from apps.bookings.models import Booking
from apps.calendars.models import AvailabilityRule
from apps.notifications.webhooks.services import webhook_endpoint_create, webhook_endpoint_ping
from apps.waitlist.models import WaitlistEntry
from tests.api.calls import Catalogue, hold

pytestmark = pytest.mark.django_db

MUTATING = {"post", "patch", "put", "delete"}
FUZZ_EXAMPLES = 12


def _schema(client: Client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_every_operation_with_bodies_and_the_error_envelope(anon_client):
    schema = _schema(anon_client)
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]

    assert len(operations) == 57
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    for path, method, operation in operations:
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, (path, method)
        for code in success:
            if code != "204":
                assert "application/json" in responses[code]["content"], (path, method, code)
        for code in ("400", "401", "403", "404", "429"):
            ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorEnvelope"), (path, method, code)
        if method in MUTATING and "/auth/" not in path:
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert "Idempotency-Key" in headers, (path, method)


def test_schema_covers_the_contract_paths(anon_client):
    paths = set(_schema(anon_client)["paths"])

    assert {
        "/api/v1/services",
        "/api/v1/resources",
        "/api/v1/locations",
        "/api/v1/dates",
        "/api/v1/slots",
        "/api/v1/bookings",
        "/api/v1/bookings/series",
        "/api/v1/waitlist",
        "/api/v1/waitlist/{entry_id}",
        "/api/v1/bookings/{booking_id}",
        "/api/v1/bookings/{booking_id}/confirm",
        "/api/v1/bookings/{booking_id}/cancel",
        "/api/v1/bookings/{booking_id}/reschedule",
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/admin/locations",
        "/api/v1/admin/resources",
        "/api/v1/admin/services",
        "/api/v1/admin/availability-rules",
        "/api/v1/admin/slots/generate",
        "/api/v1/admin/bookings",
        "/api/v1/admin/bookings/{booking_id}",
        "/api/v1/admin/api-keys",
        "/api/v1/admin/webhook-endpoints",
        "/api/v1/admin/webhook-endpoints/{endpoint_id}",
        "/api/v1/admin/webhook-deliveries",
        "/api/v1/admin/webhook-deliveries/{delivery_id}",
        "/api/v1/admin/customers/{customer_id}/export",
        "/api/v1/admin/customers/{customer_id}/erase",
    } <= paths


def test_bookings_hold_requires_the_idempotency_key_in_the_schema(anon_client):
    operation = _schema(anon_client)["paths"]["/api/v1/bookings"]["post"]

    (key,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_work_offline_from_vendored_files(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn." not in page
    assert "unpkg" not in page
    asset = anon_client.get(
        "/static/drf_spectacular_sidecar/"
        + (
            "swagger-ui-dist/swagger-ui-bundle.js"
            if "docs" in path
            else "redoc/bundles/redoc.standalone.js"
        )
    )
    assert asset.status_code == 200


# --- Fuzzing -----------------------------------------------------------------------
# schemathesis' pytest loader (`from_fixture`) does not run on pytest 9, so the test
# walks the operations itself and drives each one's hypothesis strategy: valid data
# with random ids, valid data aimed at real rows, and data that breaks the schema.

FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@contextlib.contextmanager
def wsgi_keeps_the_test_transaction() -> Iterator[None]:
    """The bare WSGI handler closes "old" connections at each request's start and end,
    which would end the test's transaction; Django's test client disconnects them the
    same way (and reconnects them after each of its requests, so this wraps only the
    fuzz run)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def real_ids(catalogue: Catalogue, anon_client: Client) -> dict[str, str]:
    """Ids of rows that exist, so generated requests also reach the code behind them."""
    rule = AvailabilityRule.objects.create(
        resource=catalogue.resource,
        kind="weekly",
        days_of_week=[1, 2, 3],
        start_minute=9 * 60,
        end_minute=12 * 60,
        granularity_minutes=30,
    )
    held = hold(anon_client, catalogue, key="fuzz-seed").json()
    spare_key, _secret = api_key_create(role="readonly", name="spare")
    endpoint, _signing_secret = webhook_endpoint_create(url="https://hooks.example.com/fuzz")
    ping = webhook_endpoint_ping(endpoint=endpoint)
    held_booking = Booking.objects.get(pk=held["id"])
    entry = WaitlistEntry.objects.create(
        service=catalogue.service,
        resource=catalogue.resource,
        customer=held_booking.customer,
        earliest_at=held_booking.starts_at,
        latest_at=held_booking.starts_at,
        contact_name="Fuzz Waiting",
        created_by_type="customer",
    )
    return {
        "location_id": str(catalogue.location.pk),
        "resource_id": str(catalogue.resource.pk),
        "service_id": str(catalogue.service.pk),
        "rule_id": str(rule.pk),
        "booking_id": held["id"],
        "key_id": str(spare_key.pk),
        "endpoint_id": str(endpoint.pk),
        "delivery_id": str(ping.pk),
        "customer_id": str(Booking.objects.get(pk=held["id"]).customer_id),
        "entry_id": str(entry.pk),
    }


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    headers: dict[str, str],
    real_ids: dict[str, str],
    statuses: Counter[int],
) -> list[str]:
    """Runs bounded examples of one operation; returns the failures it found."""
    failures: list[str] = []
    names = {parameter.name for parameter in operation.path_parameters}
    runs: list[tuple[str, GenerationMode, dict[str, str] | None]] = [
        ("random ids", GenerationMode.POSITIVE, None),
        ("negative", GenerationMode.NEGATIVE, None),
    ]
    if names:
        runs.append(("real ids", GenerationMode.POSITIVE, {n: real_ids[n] for n in names}))
    for label, mode, path_parameters in runs:
        strategy = operation.as_strategy(mode, path_parameters=path_parameters)

        @given(case=strategy)
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=dict(headers), checks=FUZZ_CHECKS)
            statuses[response.status_code] += 1

        try:
            run()
        except Exception as failure:  # collect them all, then report
            failures.append(f"{operation.label} ({label}): {failure}")
    return failures


def test_fuzz_the_api_finds_no_server_error_and_no_undocumented_answer(
    acme: Tenant, acme_host: str, real_ids: dict[str, str]
):
    _key, secret = api_key_create(role="admin", name="fuzz")
    headers = {"Host": acme_host, "Authorization": f"Bearer {secret}"}
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    with wsgi_keeps_the_test_transaction():
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json", get_wsgi_application(), headers={"Host": acme_host}
        )
        operations = [
            result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)
        ]
        assert len(operations) == 57
        for operation in operations:
            failures += _fuzz_operation(operation, headers, real_ids, statuses)
    examples = sum(statuses.values())

    print(f"schemathesis: {examples} requests, statuses {sorted(statuses.items())}")  # noqa: T201
    assert statuses, "no request was made"
    assert not any(status >= 500 for status in statuses)
    assert not failures, "\n\n".join(failures)
