"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: PostgreSQL, Redis
and the Celery broker answer) for load balancers and orchestrators.

`/readyz` tells everybody which dependency failed (by name) and keeps its status code;
why it failed (error text, which names internal hosts and addresses) and how long each
check took go only to clients in HEALTH_DETAIL_ALLOWED_NETS (loopback by default: an
operator on the machine or a sidecar), and always to the log.

Both are answered by `HealthCheckMiddleware`, above tenant routing in MIDDLEWARE: host
routing reads the database, and a probe must learn that the database is down (`/readyz`
503) rather than fail with it (a 500 from the tenant lookup). They are answered on any
host, whether or not it is in ALLOWED_HOSTS: an orchestrator probes a pod by its IP
(`Host: 10.1.2.3:8000`), which no host list names. Nothing else in this project bypasses
the host check this way; it is safe here because neither answer is built from the Host
header nor cached (the attacks the check stops: poisoned absolute links, poisoned
caches). Nor are they redirected to https (SecurityMiddleware comes later): probes speak
plain HTTP to the pod.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from apps.core.rate_limits import client_address
from config.request_id import HEADER as REQUEST_ID_HEADER
from config.request_id import set_request_id

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0
DEFAULT_DETAIL_ALLOWED_NETS = ("127.0.0.0/8", "::1/128")


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


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def request_from(request: HttpRequest, nets: Iterable[str]) -> bool:
    """Whether the client (behind the trusted proxies, as the rate limiter finds it) AND
    the peer that connected (the proxy, or the client itself) both lie in `nets`. The
    peer is asked too because a client that reaches the app port directly, past the
    proxies, writes X-Forwarded-For itself. Anything that is not a plain address (a
    proxy that wrote a port, garbage) is not in any net."""
    networks = [ipaddress.ip_network(net, strict=False) for net in nets]
    for text in (client_address(request), str(request.META.get("REMOTE_ADDR") or "")):
        address = _address(text)
        if address is None or not any(address in network for network in networks):
            return False
    return True


def detail_allowed(request: HttpRequest) -> bool:
    """Whether this client may read why a check failed: it comes from
    HEALTH_DETAIL_ALLOWED_NETS (`request_from`)."""
    return request_from(
        request, getattr(settings, "HEALTH_DETAIL_ALLOWED_NETS", DEFAULT_DETAIL_ALLOWED_NETS)
    )


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    failed: list[str] = []
    for name, check in _checks().items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            failed.append(name)
            failures.append(f"{name}: {exc.__class__.__name__}: {exc}")
            results[name] = {"ok": False, "error": str(exc)}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    status = 503 if failed else 200
    body: dict[str, object] = {"status": "unavailable" if failed else "ready"}
    if failed:
        body["failed"] = failed
        logger.warning("health.not_ready", extra={"failed": failed, "reason": "; ".join(failures)})
    if detail_allowed(request):
        body["checks"] = results
        if failures:
            body["reason"] = "; ".join(failures)
    return JsonResponse(body, status=status)


_ENDPOINTS: dict[str, Callable[[HttpRequest], JsonResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class HealthCheckMiddleware:
    """Answers `/healthz` and `/readyz` before tenant routing, on any host (module doc)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = _ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return self.get_response(request)
        # Above the request id's middleware (and the span of an exported trace, whose
        # middleware refuses a Host outside ALLOWED_HOSTS): a probe gets its id here.
        request_id = set_request_id(request.headers.get(REQUEST_ID_HEADER))
        # The route's name for the request metrics (config/metrics.py), as no URL
        # pattern serves the probe.
        request.route_answered = endpoint.__name__  # type: ignore[attr-defined]
        response = endpoint(request)
        response[REQUEST_ID_HEADER] = request_id
        return response
