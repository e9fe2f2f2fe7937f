"""503 with Retry-After, not 500, while PostgreSQL or Redis is out of reach
(apps/core/outages.py, config/service_unavailable.py, the API's envelope). Here the
failures are raised by stand-ins at each place they can surface; tests/outages/ stops
real services under a real server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django import db
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django_redis.exceptions import ConnectionInterrupted
from django_tenants.middleware.main import TenantMainMiddleware
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.core.errors import ValidationFailed
from apps.core.outages import RETRY_AFTER_SECONDS, outage_dependency

pytestmark = pytest.mark.django_db


def _wrapped(outer: type[Exception], inner: BaseException) -> Exception:
    """`outer` raised from `inner`, as Django raises its errors from psycopg's."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer(*exc.args) from exc
    except outer as raised:
        return raised


def _refused() -> Exception:
    return _wrapped(
        db.OperationalError,
        psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            "Connection refused"
        ),
    )


def _raising(error: Callable[[], BaseException]) -> Callable[..., Any]:
    def raise_it(*args: object, **kwargs: object) -> Any:
        raise error()

    return raise_it


_OPERATIONAL, _INTERFACE = db.OperationalError, db.InterfaceError


@pytest.mark.parametrize(
    ("outer", "inner", "dependency"),
    [
        (_OPERATIONAL, psycopg.OperationalError("failed: Connection refused"), "database"),
        (_OPERATIONAL, psycopg.OperationalError("the connection is closed"), "database"),
        (_OPERATIONAL, psycopg.errors.AdminShutdown("terminating connection"), "database"),
        (_OPERATIONAL, psycopg.errors.CannotConnectNow("starting up"), "database"),
        (_OPERATIONAL, psycopg.errors.TooManyConnections("too many"), "database"),
        (_OPERATIONAL, psycopg.errors.ConnectionFailure("lost"), "database"),
        (_INTERFACE, psycopg.InterfaceError("the connection is in status 2"), "database"),
        (ConnectionInterrupted, RedisConnectionError("Error 111 connecting"), "redis"),
        (None, RedisTimeoutError("Timeout reading from socket"), "redis"),
        # faults of our own code or data, and load, are not outages
        (db.IntegrityError, psycopg.errors.UniqueViolation("duplicate key"), None),
        (db.ProgrammingError, psycopg.errors.UndefinedTable("no such table"), None),
        (_OPERATIONAL, psycopg.errors.QueryCanceled("statement timeout"), None),
        (_OPERATIONAL, psycopg.errors.DeadlockDetected("deadlock"), None),
        (_INTERFACE, psycopg.InterfaceError("the cursor is closed"), None),
        (None, db.OperationalError("no psycopg error under it"), None),
        (None, ValueError("bad"), None),
    ],
)
def test_only_connection_failures_count_as_outages(outer, inner, dependency):
    error = inner if outer is None else _wrapped(outer, inner)

    assert outage_dependency(error) == dependency


def test_an_error_raised_while_handling_an_outage_is_an_outage_unless_it_hides_it():
    def raised(hide: bool) -> BaseException:
        try:
            try:
                raise _refused()
            except db.OperationalError as exc:
                if hide:
                    raise ValidationFailed("Try later.") from None
                raise ValidationFailed("Try later.") from exc
        except ValidationFailed as outer:
            return outer

    assert outage_dependency(raised(hide=False)) == "database"
    assert outage_dependency(raised(hide=True)) is None


def _assert_envelope(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"]
    assert error["details"] == []
    assert error["request_id"] == response["X-Request-Id"]


def _assert_page(response: Any, *, heading: str = "Temporarily unavailable") -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert "no-store" in response["Cache-Control"]
    assert heading in response.content.decode()
    # the security middleware's headers, which a 503 made above it would miss
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"]


def test_a_failed_tenant_lookup_answers_the_api_in_its_envelope_and_pages_plainly(
    monkeypatch, acme_host
):
    # given: host routing cannot reach the database
    monkeypatch.setattr(TenantMainMiddleware, "get_tenant", _raising(_refused))
    client = Client(raise_request_exception=False)

    # when
    api = client.get("/api/v1/services", HTTP_HOST=acme_host)
    page = client.get("/", HTTP_HOST=acme_host, HTTP_ACCEPT_LANGUAGE="fr")

    # then
    _assert_envelope(api)
    # in the language the browser asked for, though no business could be looked up
    _assert_page(page, heading="Temporairement indisponible")
    html = page.content.decode()
    assert '<html lang="fr">' in html
    # its one <style> is signed with the nonce the policy names
    [nonce] = re.findall(r'<style nonce="([^"]+)">', html)
    assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]


def test_an_outage_on_a_host_no_tenant_serves_is_503_too(monkeypatch):
    monkeypatch.setattr(TenantMainMiddleware, "get_tenant", _raising(_refused))

    response = Client(raise_request_exception=False).get("/", HTTP_HOST="nobody.localhost")

    _assert_page(response)


def test_a_failure_in_the_session_middleware_is_503(monkeypatch, acme_host):
    monkeypatch.setattr(SessionStore, "load", _raising(_refused))
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32

    _assert_page(client.get("/", HTTP_HOST=acme_host))


def test_a_failure_in_a_page_view_is_503(monkeypatch, acme_host):
    monkeypatch.setattr("apps.booking_site.views.bookable_services", _raising(_refused))

    # the default client re-raises any exception Django reported: none is
    _assert_page(Client().get("/", HTTP_HOST=acme_host))


def test_a_failure_in_an_api_view_is_503_in_the_envelope(monkeypatch, acme_host, new_address):
    monkeypatch.setattr("apps.api.views.catalogue.service_list", _raising(_refused))

    response = Client().get("/api/v1/services", HTTP_HOST=acme_host, REMOTE_ADDR=new_address())

    _assert_envelope(response)


def test_redis_out_of_reach_in_a_view_is_503(monkeypatch, acme_host, new_address):
    redis_down = _raising(lambda: _wrapped(ConnectionInterrupted, RedisConnectionError("refused")))
    monkeypatch.setattr("apps.api.views.catalogue.service_list", redis_down)

    response = Client().get("/api/v1/services", HTTP_HOST=acme_host, REMOTE_ADDR=new_address())

    _assert_envelope(response)


def test_programming_and_integrity_errors_stay_500(monkeypatch, acme_host, new_address):
    # given
    programming = _raising(
        lambda: _wrapped(db.ProgrammingError, psycopg.errors.UndefinedColumn("no such column"))
    )
    integrity = _raising(
        lambda: _wrapped(db.IntegrityError, psycopg.errors.UniqueViolation("duplicate key"))
    )
    monkeypatch.setattr("apps.api.views.catalogue.service_list", programming)
    monkeypatch.setattr("apps.booking_site.views.bookable_services", integrity)
    client = Client(raise_request_exception=False)

    # when
    api = client.get("/api/v1/services", HTTP_HOST=acme_host, REMOTE_ADDR=new_address())
    page = client.get("/", HTTP_HOST=acme_host)
    monkeypatch.setattr(TenantMainMiddleware, "get_tenant", programming)
    routing = client.get("/", HTTP_HOST=acme_host)

    # then
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "INTERNAL_ERROR"
    assert page.status_code == 500
    assert routing.status_code == 500
    assert not any(r.has_header("Retry-After") for r in (api, page, routing))
