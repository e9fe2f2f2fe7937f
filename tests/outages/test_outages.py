"""PostgreSQL or Redis going away under a running server, and coming back.

One set-up for both tests (module scope): a PostgreSQL cluster and a Redis of the tests'
own, a copy of the migrated test database in that cluster (acme and globex, plus a
bookable service and an API key given to acme by tests/outages/seed.py), and gunicorn
with one worker serving them. The server keeps its database connection between requests
(CONN_MAX_AGE, as in production) and its host routes for an hour: acme, served before
the outage, fails inside the views; globex, never served before, fails in host routing;
a request with a session cookie fails in the session middleware.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.outages.services import ROOT, Answer, Gunicorn, Postgres, Redis, Stack, pg_bin

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("redis-server") and pg_bin("initdb") and pg_bin("pg_dump")),
        reason="needs redis-server and the PostgreSQL server binaries",
    ),
]

DATABASE = "timenest_outage"
ACME = "acme.localhost"
GLOBEX = "globex.localhost"
# An orchestrator probing the pod by its address: a host no ALLOWED_HOSTS names.
POD = "10.1.2.3:8000"
# The anonymous booking-write rate of the server: the in-process fallback limiter must
# refuse the third write while Redis is away. Per day, so that the writes of one test
# share a window.
ANON_BOOKINGS_PER_DAY = 2


def _environment(postgres: Postgres, redis_server: Redis, **extra: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POSTGRES_", "REDIS_", "CELERY_", "DJANGO_"))
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.outages.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(postgres.port),
            "POSTGRES_DB": DATABASE,
            "POSTGRES_ADMIN_USER": "timenest",
            "REDIS_URL": redis_server.url,
            "CELERY_EAGER": "0",
            "CELERY_QUEUE": f"outage-{uuid.uuid4().hex[:8]}",
            "TENANT_ROUTING_CACHE_SECONDS": "3600",
            "API_RATE_ANON_BOOKING": f"{ANON_BOOKINGS_PER_DAY}/day",
            "LOG_FORMAT": "json",
        }
    )
    environment.update(extra)
    return environment


def _seed(environment: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.outages.seed"],
        cwd=ROOT,
        env=environment | {"CELERY_EAGER": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seeded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seeded


@pytest.fixture(scope="module")
def stack(django_db_setup: None) -> Iterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="timenest-outage-"))
    folder.chmod(0o711)  # PostgreSQL's own user passes through to its folder
    (folder / "pg").mkdir()
    (folder / "redis").mkdir()
    postgres = Postgres(folder / "pg")
    redis_server = Redis(folder / "redis")
    server: Gunicorn | None = None
    try:
        postgres.create()
        postgres.database_copy(name=DATABASE, source=connection.settings_dict)
        redis_server.start()
        environment = _environment(postgres, redis_server)
        seeded = _seed(environment)
        server = Gunicorn(environment=environment, log_path=folder / "gunicorn.log").start()
        yield Stack(postgres=postgres, redis=redis_server, server=server, seed=seeded)
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()
        if postgres.running():
            postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _api(stack: Stack, host: str, path: str = "/api/v1/services") -> Answer:
    auth = {"Authorization": f"Bearer {stack.seed['api_key']}"}
    return stack.server.request("GET", path, host=host, headers=auth)


def _page(stack: Stack, host: str, path: str = "/", **headers: str) -> Answer:
    return stack.server.request("GET", path, host=host, headers={"Accept": "text/html", **headers})


def _hold(stack: Stack, slot_id: str, *, api_key: bool) -> Answer:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if api_key:
        headers["Authorization"] = f"Bearer {stack.seed['api_key']}"
    body = {
        "service": stack.seed["service_id"],
        "slot": slot_id,
        "customer": {"name": "Ada Outage", "email": "ada@example.com", "phone": "+442079460000"},
    }
    return stack.server.request("POST", "/api/v1/bookings", host=ACME, headers=headers, body=body)


def _assert_unavailable_envelope(answer: Answer) -> None:
    assert answer.status == 503, answer.body[:500]
    assert answer.headers["content-type"].startswith("application/json")
    assert int(answer.headers["retry-after"]) > 0
    error = answer.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"]
    assert error["request_id"] == answer.headers["x-request-id"]


def _assert_unavailable_page(answer: Answer) -> None:
    assert answer.status == 503, answer.body[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert int(answer.headers["retry-after"]) > 0
    assert "Temporarily unavailable" in answer.text


def test_database_outage_is_answered_503_everywhere_and_heals_without_a_restart(stack: Stack):
    # given: acme served once (its host is routed from memory now), globex never
    service_path = f"/book/{stack.seed['service_id']}/"
    served = _api(stack, ACME)
    assert served.status == 200, served.body[:500]
    assert stack.seed["service_name"] in served.text
    assert _page(stack, ACME).status == 200
    assert _page(stack, ACME, service_path).status == 200
    workers = stack.server.worker_pids()

    # when
    stack.postgres.stop()
    try:
        # then: the probes answer on any host, and say what is down
        assert stack.server.request("GET", "/healthz", host=POD).status == 200
        ready = stack.server.request("GET", "/readyz", host=POD)
        assert ready.status == 503
        assert "database" in ready.json()["failed"]
        # the API in its envelope, pages as a plain page: in a view (acme), in host
        # routing (globex), in the session middleware (a session cookie)
        for host in (ACME, GLOBEX):
            _assert_unavailable_envelope(_api(stack, host))
            _assert_unavailable_page(_page(stack, host))
        _assert_unavailable_page(_page(stack, ACME, service_path))
        _assert_unavailable_page(_page(stack, ACME, Cookie="sessionid=" + "x" * 32))
    finally:
        stack.postgres.start()

    # and when it is back, the same worker serves again
    assert stack.server.request("GET", "/readyz", host=POD).status == 200
    recovered = _api(stack, ACME)
    assert recovered.status == 200, recovered.body[:500]
    assert stack.seed["service_name"] in recovered.text  # acme's schema, not public's
    assert stack.server.request("GET", "/api/v1/services", host=GLOBEX).status == 200
    assert _page(stack, ACME, service_path).status == 200
    assert _page(stack, GLOBEX).status == 200
    assert stack.server.worker_pids() == workers

    # and a kept connection that died while no request was running is not reused
    # (CONN_HEALTH_CHECKS): the first request after a quick restart is served
    stack.postgres.stop()
    stack.postgres.start()
    assert _api(stack, ACME).status == 200


def test_redis_outage_keeps_pages_and_holds_and_limits_anonymous_writes(stack: Stack):
    # given
    assert stack.server.request("GET", "/readyz", host=POD).status == 200
    slots = stack.seed["slot_ids"]

    # when
    stack.redis.stop()
    try:
        # then: not ready, and it says why
        ready = stack.server.request("GET", "/readyz", host="localhost")
        assert ready.status == 503
        body = ready.json()
        assert "redis" in body["failed"]
        assert body["checks"]["database"]["ok"] is True  # loopback is told the details
        # pages, reads and holds go on
        assert _page(stack, ACME).status == 200
        assert _page(stack, ACME, f"/book/{stack.seed['service_id']}/").status == 200
        assert _api(stack, ACME).status == 200
        held = _hold(stack, slots[0], api_key=True)
        assert held.status == 201, held.body[:500]
        assert held.json()["status"] == "held"
        assert _page(stack, ACME, f"/hold/{held.json()['token']}/").status == 200
        # anonymous booking writes are still limited, by each process on its own
        anonymous = [_hold(stack, slot, api_key=False) for slot in slots[1:4]]
        assert [answer.status for answer in anonymous] == [201] * ANON_BOOKINGS_PER_DAY + [429]
        assert anonymous[-1].json()["error"]["code"] == "RATE_LIMITED"
    finally:
        stack.redis.start()

    # and when it is back
    assert stack.server.request("GET", "/readyz", host=POD).status == 200
    assert _page(stack, ACME).status == 200
    assert _api(stack, ACME).status == 200
