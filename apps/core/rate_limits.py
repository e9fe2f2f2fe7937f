"""Rate limits in Redis (the django cache), as fixed windows with one counter each.

The API's throttle (apps/api/throttles.py) and the customer booking pages count in the
same buckets, so mixing the two does not double an allowance. Rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (one table for every surface), read on each call
so tests can override them. Keys carry the tenant's schema (django-tenants' cache key
function), so businesses never share a bucket. A client is its address as the trusted
proxies saw it, an IPv6 address cut to its /64 (`client_ident`).

If Redis cannot be reached, the caller decides (`fail_closed`). Reads are let through:
an outage of the limiter must not take the product down with it. Password guesses and
booking writes are counted instead by a small limiter in this process's memory, at the
same rates: an outage must not open them up either (each process counts on its own, so
across N web processes a client gets at most N times the rate).
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from apps.core.metrics import rate_limit_refusals_total
from apps.core.tenancy import current_schema

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
# Buckets the in-process limiter keeps at most (a flood of new clients pushes out the
# oldest counters, never memory up).
FALLBACK_MAX_BUCKETS = 10_000
# One warning per scope and this many seconds while Redis stays out of reach.
UNAVAILABLE_LOG_SECONDS = 60


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
    """Whose bucket a request counts in: the client's address (`client_address`) as a
    bucket (`address_bucket`)."""
    return address_bucket(client_address(request))


def client_address(request: HttpRequest) -> str:
    """The client's address behind NUM_PROXIES trusted proxies, each of which appends the
    address it was reached from to X-Forwarded-For: the NUM_PROXIES-th entry from the
    right. Without trusted proxies the header is ignored (anyone can send one)."""
    remote_addr = str(request.META.get("REMOTE_ADDR", ""))
    num_proxies = int(getattr(settings, "REST_FRAMEWORK", {}).get("NUM_PROXIES") or 0)
    xff = request.headers.get("x-forwarded-for")
    if num_proxies <= 0 or not xff:
        return remote_addr
    addrs = xff.split(",")
    return addrs[-min(num_proxies, len(addrs))].strip() or remote_addr


def address_bucket(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64, which one subscriber gets
    whole and can pick a new address from for every request."""
    try:
        ip = ipaddress.ip_address(_without_port(address))
    except ValueError:
        return address[:100]  # not an address: a trusted proxy wrote it, count it as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip), 64), strict=False))
    return str(ip)


def _without_port(address: str) -> str:
    """Some proxies write "203.0.113.5:4711" or "[2001:db8::1]:4711"."""
    address = address.strip()
    if address.startswith("["):
        return address[1:].partition("]")[0]
    if address.count(":") == 1:
        return address.partition(":")[0]
    return address


def _now() -> float:
    # One clock for Redis and the in-process windows (tests pin it so that a burst never
    # straddles two windows).
    return time.time()


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


class ProcessWindows:
    """Fixed-window counters in this process's memory, for when Redis is out of reach.

    One entry per bucket (when its window ends, count), at most `max_buckets` of them:
    when full, ended windows go first, then the oldest buckets (dicts keep insertion
    order), a tenth at a time so that a flood of new clients costs one sweep per many of
    them. An evicted client starts afresh, which is no more than a new address buys."""

    def __init__(self, *, max_buckets: int) -> None:
        self.max_buckets = max_buckets
        self._buckets: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, window_end: int, now: float) -> int:
        """Counts one request in `key`'s window ending at `window_end` (epoch seconds)."""
        with self._lock:
            entry = self._buckets.get(key)
            if entry is not None and entry[0] == window_end:
                count = entry[1] + 1
            else:
                if entry is None and len(self._buckets) >= self.max_buckets:
                    self._make_room(now)
                count = 1
            self._buckets[key] = (window_end, count)
            return count

    def __len__(self) -> int:
        return len(self._buckets)

    def _make_room(self, now: float) -> None:
        for key in [key for key, (end, _) in self._buckets.items() if end <= now]:
            del self._buckets[key]
        keep = self.max_buckets - max(1, self.max_buckets // 10)
        for key in list(itertools.islice(self._buckets, max(0, len(self._buckets) - keep))):
            del self._buckets[key]


_process_windows = ProcessWindows(max_buckets=FALLBACK_MAX_BUCKETS)
_last_warned: dict[tuple[str, bool], float] = {}
_warn_lock = threading.Lock()


def _warn_unavailable(scope: str, *, fail_closed: bool, now: float) -> None:
    """Logs that Redis is out of reach, once per scope and UNAVAILABLE_LOG_SECONDS, so an
    outage under load does not flood the logs."""
    with _warn_lock:
        last = _last_warned.get((scope, fail_closed))
        if last is not None and now - last < UNAVAILABLE_LOG_SECONDS:
            return
        _last_warned[(scope, fail_closed)] = now
    # The event keeps the name it had when only the API counted (log alerts use it).
    logger.warning(
        "api.throttle_unavailable",
        extra={"scope": scope, "fallback": "process" if fail_closed else "none"},
    )


@dataclass(frozen=True)
class RateCount:
    """One request to count in a bucket with a Redis round trip of the caller's own
    (`rate_limit_prepare`, then `rate_limit_counted` with the counter's new value)."""

    scope: str
    ident: str
    name: str  # the counter's cache key
    key: str  # the same in Redis, in the tenant's key space
    limit: int
    period: int
    window: int
    now: float

    def pipeline_add(self, pipe: Any) -> None:
        """Adds the count (two commands) to a redis-py pipeline."""
        pipe.incr(self.key)
        pipe.expire(self.key, self.period + 1, nx=True)


def rate_limit_prepare(*, scope: str, ident: str, rate: str | None = None) -> RateCount | None:
    """The count `rate_limit_wait` would make, for a caller's own pipeline; None when
    the bucket has no limit."""
    rate = rate or configured_rate(scope)
    if not rate:
        return None
    limit, period = parse_rate(rate)
    now = _now()
    window = int(now // period)
    name = f"throttle:{scope}:{ident}:{window}"
    return RateCount(scope, ident, name, cache.make_key(name), limit, period, window, now)


def rate_limit_counted(count: RateCount, value: int) -> int | None:
    """`rate_limit_wait`'s answer for a request counted in a caller's pipeline, the
    counter now at `value`."""
    if value <= count.limit:
        return None
    rate_limit_refusals_total.labels(scope=count.scope).inc()
    return max(1, math.ceil((count.window + 1) * count.period - count.now))


def rate_limit_uncount(count: RateCount) -> None:
    """Takes back a count made ahead for a request that turned out not to be one this
    bucket counts (its credential did not hold). Best effort; a counter that expired
    meanwhile is made again at -1 and expires with its window."""
    with contextlib.suppress(RedisError, ConnectionInterrupted):
        pipe = cache.client.get_client(write=True).pipeline(transaction=False)  # type: ignore[attr-defined]
        pipe.decr(count.key)
        pipe.expire(count.key, count.period + 1, nx=True)
        pipe.execute()


def rate_limit_wait(
    *, scope: str, ident: str, rate: str | None = None, fail_closed: bool = False
) -> int | None:
    """Counts one request of `ident` in `scope`'s bucket. Returns None when it is within
    the rate (`rate`, else the scope's configured one; none: no limit), else the whole
    seconds until the window ends. With Redis out of reach: None, or with `fail_closed`
    the answer of this process's own count."""
    count = rate_limit_prepare(scope=scope, ident=ident, rate=rate)
    if count is None:
        return None
    try:
        value = _hit(count.name, period=count.period)
    except (RedisError, ConnectionInterrupted):
        _warn_unavailable(scope, fail_closed=fail_closed, now=count.now)
        if not fail_closed:
            return None
        key = f"{current_schema()}:{scope}:{count.period}:{ident}"
        window_end = (count.window + 1) * count.period
        value = _process_windows.hit(key, window_end=window_end, now=count.now)
    return rate_limit_counted(count, value)
