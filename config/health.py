"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: PostgreSQL, Redis
and the Celery broker answer) for load balancers and orchestrators."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

TIMEOUT_SECONDS = 1.0


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _ping_redis(url: str) -> None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


def _checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {
        "database": _check_database,
        "redis": lambda: _ping_redis(settings.REDIS_URL),
    }
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://", "unix://")):
        checks["broker"] = lambda: _ping_redis(broker)
    return checks


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    for name, check in _checks().items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            failures.append(f"{name}: {exc.__class__.__name__}: {exc}")
            results[name] = {"ok": False, "error": str(exc)}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if failures:
        return JsonResponse(
            {"status": "unavailable", "reason": "; ".join(failures), "checks": results},
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": results})
