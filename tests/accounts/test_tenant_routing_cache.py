"""The in-process hostname -> tenant cache of the tenant middleware: it saves the domain
query on repeated requests, and never serves a tenant that may not be served for longer
than TENANT_ROUTING_CACHE_SECONDS."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts import middleware
from apps.accounts.models import Domain, Tenant

pytestmark = pytest.mark.django_db


def _domain_queries(client: Client, host: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        # The booking home: /healthz and /readyz are answered before routing.
        status = client.get("/", HTTP_HOST=host).status_code
    sql = [query["sql"] for query in captured.captured_queries]
    return status, sum("accounts_domain" in statement for statement in sql)


def test_a_host_is_looked_up_once_then_served_from_memory(acme_host):
    client = Client()

    assert _domain_queries(client, acme_host) == (200, 1)
    assert _domain_queries(client, acme_host) == (200, 0)


def test_a_suspension_closes_the_booking_pages_at_once_in_the_process_that_saved_it(acme_host):
    # given: the host is cached
    client = Client()
    assert client.get("/", HTTP_HOST=acme_host).status_code == 200

    # when
    tenant = Tenant.objects.get(slug="acme")
    tenant.status = Tenant.Status.SUSPENDED
    tenant.save(update_fields=["status"])

    # then (staff are still served; booking pages say the business is not taking bookings)
    assert client.get("/", HTTP_HOST=acme_host).status_code == 503


def test_a_suspension_elsewhere_closes_the_booking_pages_within_the_bound(acme_host, monkeypatch):
    # given: the host is cached at t = 1000 s
    clock = [1000.0]
    monkeypatch.setattr(middleware.time, "monotonic", lambda: clock[0])
    client = Client()
    assert client.get("/", HTTP_HOST=acme_host).status_code == 200

    # when: another process suspends the tenant (no signal reaches this one)
    Tenant.objects.filter(slug="acme").update(status=Tenant.Status.SUSPENDED)

    # then: served from memory until the bound, closed from then on
    clock[0] += 4.9
    assert client.get("/", HTTP_HOST=acme_host).status_code == 200
    clock[0] += 0.1
    assert client.get("/", HTTP_HOST=acme_host).status_code == 503


def test_a_tenant_not_ready_is_never_remembered(acme_host):
    Tenant.objects.filter(slug="acme").update(is_ready=False)
    client = Client()

    assert client.get("/", HTTP_HOST=acme_host).status_code == 404
    assert acme_host not in middleware._routes
    Tenant.objects.filter(slug="acme").update(is_ready=True)
    assert client.get("/", HTTP_HOST=acme_host).status_code == 200


def test_each_request_gets_its_own_copy_of_the_cached_tenant(acme_host):
    tenant_middleware = middleware.TenantMiddleware(lambda request: None)
    first = tenant_middleware.get_tenant(Domain, acme_host)
    first.name = "Changed by a form that did not validate"

    second = tenant_middleware.get_tenant(Domain, acme_host)

    assert second.name == "Acme Clinic"
    assert second is not first


def test_hosts_of_two_tenants_never_share_an_entry(acme_host, globex_host):
    client = Client()
    assert "Acme Clinic" in client.get("/", HTTP_HOST=acme_host).content.decode()

    body = client.get("/", HTTP_HOST=globex_host).content.decode()

    assert "Globex Consulting" in body
    assert "Acme Clinic" not in body
