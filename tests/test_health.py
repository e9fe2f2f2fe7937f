from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Any

import pytest
import redis
from django import db
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.middleware.main import TenantMainMiddleware

from config import health

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_healthz_answers_on_root_and_tenant_domains(host):
    response = Client().get("/healthz", HTTP_HOST=host)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_database_and_redis_answer():
    response = Client().get("/readyz", HTTP_HOST="localhost")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_readyz_is_503_with_a_reason_when_redis_stops(tmp_path):
    # given a Redis of our own that we can stop
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(50):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        with override_settings(REDIS_URL=url, CELERY_BROKER_URL=url):
            assert Client().get("/readyz", HTTP_HOST="localhost").status_code == 200

            # when Redis stops
            server.terminate()
            server.wait(timeout=10)
            response = Client().get("/readyz", HTTP_HOST="localhost")

        # then
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert "redis" in body["reason"]
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["redis"]["ok"] is False
    finally:
        if server.poll() is None:
            server.kill()


def _readyz_with_redis_down(**client: Any) -> dict[str, Any]:
    closed = f"redis://127.0.0.1:{_free_port()}/0"
    with override_settings(REDIS_URL=closed, CELERY_BROKER_URL=closed):
        response = Client(**client).get("/readyz", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert "no-store" in response["Cache-Control"]
    return response.json()


def test_readyz_names_what_failed_but_not_why_to_outside_clients():
    body = _readyz_with_redis_down(REMOTE_ADDR="203.0.113.9")

    # only the names: no error text, no addresses, no timings
    assert body == {"status": "unavailable", "failed": ["redis", "broker"]}


def test_readyz_tells_loopback_clients_why_by_default():
    body = _readyz_with_redis_down(REMOTE_ADDR="127.0.0.1")

    assert body["failed"] == ["redis", "broker"]
    assert "127.0.0.1" in str(body["reason"])
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_readyz_detail_follows_the_allowed_nets_setting():
    with override_settings(HEALTH_DETAIL_ALLOWED_NETS=["10.0.0.0/8"]):
        inside = _readyz_with_redis_down(REMOTE_ADDR="10.1.2.3")
        loopback = _readyz_with_redis_down(REMOTE_ADDR="127.0.0.1")
        mapped = _readyz_with_redis_down(REMOTE_ADDR="::ffff:10.1.2.3")

    assert "reason" in inside and "checks" in inside
    assert "reason" in mapped
    assert loopback == {"status": "unavailable", "failed": ["redis", "broker"]}


def test_readyz_judges_the_client_behind_trusted_proxies_not_the_proxy():
    # given a reverse proxy on the same machine (every request reaches us from loopback)
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        outside = _readyz_with_redis_down(
            REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
        )
        operator = _readyz_with_redis_down(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="::1")
        # a remote client reaching the app port past the proxy, claiming to be loopback
        spoofed = _readyz_with_redis_down(
            REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1"
        )

    assert outside == {"status": "unavailable", "failed": ["redis", "broker"]}
    assert spoofed == {"status": "unavailable", "failed": ["redis", "broker"]}
    assert "reason" in operator


def test_readyz_success_shows_timings_to_loopback_only():
    outside = Client().get("/readyz", HTTP_HOST="localhost", REMOTE_ADDR="198.51.100.7")

    assert outside.status_code == 200
    assert outside.json() == {"status": "ready"}


def test_request_id_is_echoed_or_created():
    given = Client().get("/healthz", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="abc-123")
    made = Client().get("/healthz", HTTP_HOST="localhost")
    hostile = Client().get("/healthz", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="a b\n<script>")

    assert given["X-Request-Id"] == "abc-123"
    assert len(made["X-Request-Id"]) == 32
    assert hostile["X-Request-Id"] != "a b\n<script>"


@pytest.mark.parametrize("host", ["10.1.2.3:8000", "[fd00::7]:8000", "not a host"])
def test_probes_answer_on_hosts_outside_allowed_hosts(host):
    # given: an orchestrator probing a pod by its address, which no host list names
    client = Client()

    # when
    live = client.get("/healthz", HTTP_HOST=host)
    ready = client.get("/readyz", HTTP_HOST=host)

    # then
    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_is_503_naming_the_database_when_routing_would_fail_too(monkeypatch):
    # given: the database is out of reach, for host routing as for the check
    def refused(*args: object, **kwargs: object) -> None:
        raise db.OperationalError("connection failed: Connection refused")

    monkeypatch.setattr(TenantMainMiddleware, "get_tenant", refused)
    monkeypatch.setattr(health, "_check_database", refused)
    client = Client(raise_request_exception=False)

    # when
    live = client.get("/healthz", HTTP_HOST="acme.localhost")
    ready = client.get("/readyz", HTTP_HOST="acme.localhost", REMOTE_ADDR="203.0.113.9")

    # then
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "failed": ["database"]}


def test_probe_paths_are_answered_exactly_and_nothing_else_is():
    response = Client().get("/readyz/extra", HTTP_HOST="10.1.2.3:8000")

    # anything else goes through the host check as before (django-tenants: 404)
    assert response.status_code == 404
