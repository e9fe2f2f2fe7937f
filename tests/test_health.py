from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis
from django.test import Client, override_settings

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


def test_request_id_is_echoed_or_created():
    given = Client().get("/healthz", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="abc-123")
    made = Client().get("/healthz", HTTP_HOST="localhost")
    hostile = Client().get("/healthz", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="a b\n<script>")

    assert given["X-Request-Id"] == "abc-123"
    assert len(made["X-Request-Id"]) == 32
    assert hostile["X-Request-Id"] != "a b\n<script>"
