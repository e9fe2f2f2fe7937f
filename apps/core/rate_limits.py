"""Rate limits in Redis (the django cache), as fixed windows with one counter each.

The API's throttle (apps/api/throttles.py) and the customer booking pages count in the
same buckets, so mixing the two does not double an allowance. Rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (one table for every surface), read on each call
so tests can override them. Keys carry the tenant's schema (django-tenants' cache key
function), so businesses never share a bucket.

If Redis cannot be reached the request is let through: an outage of the limiter must
not take the product down with it.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "60/min" → (60, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS.get(period.strip().lower(), _PERIODS.get(period[:1], 60))


def stricter_rate(first: str | None, second: str | None) -> str | None:
    """The rate that lets fewer requests through per second (None: no limit)."""
    if first is None or second is None:
        return first or second
    (count_a, period_a), (count_b, period_b) = parse_rate(first), parse_rate(second)
    return first if count_a * period_b <= count_b * period_a else second


def configured_rate(scope: str) -> str | None:
    rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
    rate = rates.get(scope)
    return str(rate) if rate else None


def client_ident(request: HttpRequest) -> str:
    """The client's address, behind NUM_PROXIES trusted proxies (as DRF counts them)."""
    xff = request.headers.get("x-forwarded-for")
    remote_addr = str(request.META.get("REMOTE_ADDR", ""))
    num_proxies = getattr(settings, "REST_FRAMEWORK", {}).get("NUM_PROXIES")
    if num_proxies is not None:
        if num_proxies == 0 or xff is None:
            return remote_addr
        addrs = xff.split(",")
        return addrs[-min(num_proxies, len(addrs))].strip()
    return "".join(xff.split()) if xff else remote_addr


def _hit(key: str, *, period: int) -> int:
    """Increments the window's counter; returns its new value. One round trip."""
    client_holder = getattr(cache, "client", None)
    get_client = getattr(client_holder, "get_client", None)
    if get_client is None:  # a non-Redis cache (never in production)
        if cache.add(key, 1, timeout=period + 1):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:
            cache.set(key, 1, timeout=period + 1)
            return 1
    redis = get_client(write=True)
    full_key = cache.make_key(key)
    pipe = redis.pipeline(transaction=False)
    pipe.incr(full_key)
    pipe.expire(full_key, period + 1, nx=True)
    count, _ = pipe.execute()
    return int(count)


def rate_limit_wait(*, scope: str, ident: str, rate: str | None = None) -> int | None:
    """Counts one request of `ident` in `scope`'s bucket. Returns None when it is within
    the rate (`rate`, else the scope's configured one; none: no limit, and when Redis is
    out of reach), else the whole seconds until the window ends."""
    rate = rate or configured_rate(scope)
    if not rate:
        return None
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    try:
        count = _hit(f"throttle:{scope}:{ident}:{window}", period=period)
    except RedisError:
        # The event keeps the name it had when only the API counted (log alerts use it).
        logger.warning("api.throttle_unavailable", extra={"scope": scope})
        return None
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))
