"""GET slots and GET dates answered from the availability cache right after tenant routing.

A repeated availability read is the API's busiest request, and a cached one is nearly all
overhead: the middleware that pages need (sessions, authentication, languages, one-time
passwords, lockouts, messages, HTMX, the audit context), URL resolution, DRF's request
wrapping, negotiation, authentication, throttling and rendering, a serializer for four
query parameters, and three Redis round trips (the API key's cached row, the rate-limit
counter, the cached answer). `FastReadMiddleware` sits right after the security
middleware (below CSP, metrics, request ids, the 503 guard and tenant routing, which
every answer keeps), and the plain case costs one round trip: one pipeline reads the
key's row, counts the request and reads the answer with its tokens, and the answer goes
out as JSON built by hand, with the headers the skipped middleware would have added.

The plain case is narrow on purpose: a GET of the two paths with only the documented
parameters, each in its canonical form; no credential, or an API key whose cached row
holds (a session cookie, a JWT or a booking token goes the full way); an answer JSON can
carry; a business that shows every start (curated exposure goes the full way, as does
the `X-Exposure-Variant` header). Everything else, every miss and every refusal (bad
input, a wrong key, over the rate, a suspended business, Redis out of reach) goes on
down the middleware to the DRF view, which answers as it always did: the body and
headers of an answer are the same either way (tests/api/test_fast_reads.py compares
them). A request counted here and then handed over is not counted again
(apps/api/throttles.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from apps.accounts.models import Tenant
from apps.api.fields import EARLIEST, LATEST
from apps.api.services import api_key_cache_keys, api_key_from_cache, api_key_prefix
from apps.calendars.availability.selectors import (
    AvailabilityScope,
    AvailableDates,
    AvailableSlots,
    CachedAnswer,
    availability_answer_reused,
    availability_cache_keys,
    availability_dates_cached,
    availability_slots_cached,
    availability_tenant_inputs,
)
from apps.core.entitlements import plan_api_rate, tenant_active_require
from apps.core.errors import DomainError
from apps.core.languages import language_headers, request_language
from apps.core.rate_limits import (
    RateCount,
    client_ident,
    configured_rate,
    rate_limit_counted,
    rate_limit_prepare,
    rate_limit_uncount,
    stricter_rate,
)

FastRead = Callable[[HttpRequest], HttpResponse | None]

_SCOPE_PARAMETERS = frozenset({"service", "resource", "location", "tz"})
_SLOTS_PARAMETERS = _SCOPE_PARAMETERS | {"date"}
_DATES_PARAMETERS = _SCOPE_PARAMETERS | {"from", "to"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ACCEPTED = frozenset({"*/*", "application/*", "application/json"})
_ACCEPT_MAX_LENGTH = 256
# What DRF's APIView.finalize_response adds to the same answer (with one renderer, no
# `Vary: Accept`).
_ALLOW = "GET, HEAD, OPTIONS"


class FastReadMiddleware:
    """Answers a plain repeated GET slots or GET dates from the cache (see above); every
    other request goes on down the middleware. Placed right after Django's security
    middleware: its redirect to HTTPS and its headers apply as to any answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._routes: dict[str, tuple[str, FastRead]] | None = None
        # The skipped middleware's headers on an API answer: the frame options' (the
        # languages', the session's and the length are added in `_finish`).
        self._frame_options = XFrameOptionsMiddleware(get_response)

    def _route_of(self, path: str) -> tuple[str, FastRead] | None:
        if self._routes is None:
            # The tenant URLconf's paths (a public host is refused by `_Plain.parse`).
            self._routes = {
                reverse(name, urlconf=settings.ROOT_URLCONF): (name, fast)
                for name, fast in (("api:v1:slots", slots), ("api:v1:dates", dates))
            }
        return self._routes.get(path)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        route = self._route_of(request.path_info)
        response = route[1](request) if route is not None else None
        if route is None or response is None:
            return self.get_response(request)
        # The route's name for the request metrics (config/metrics.py), which URL
        # resolution would have given.
        request.route_answered = route[0]  # type: ignore[attr-defined]
        return self._finish(request, response)

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponseBase:
        """The headers the middleware below would have added to this answer."""
        # A plain request picks no language and is not a staff screen's: the full way
        # answers in the one its Accept-Language or the business's default gives.
        language_headers(request, response, request_language(request)[0])
        # The full way reads the session (DRF's session authentication looks), and so
        # varies with the cookie; a request that carries one does go the full way.
        patch_vary_headers(response, ("Cookie",))
        response.headers["Content-Length"] = str(len(response.content))  # as CommonMiddleware
        return self._frame_options.process_response(request, response)


class _Plain:
    """The parts of a request the fast path needs, or None from `parse` when the request
    is not a plain one."""

    def __init__(self, tenant: Tenant, params: dict[str, str], presented: str | None) -> None:
        self.tenant = tenant
        self.params = params
        self.presented = presented

    @classmethod
    def parse(cls, request: HttpRequest, allowed: frozenset[str]) -> _Plain | None:
        if request.method != "GET" or request.COOKIES.get(settings.SESSION_COOKIE_NAME):
            return None
        tenant = getattr(request, "tenant", None)
        if not isinstance(tenant, Tenant) or tenant.schema_name == "public":
            return None
        meta = request.META
        if "HTTP_X_EXPOSURE_VARIANT" in meta or "HTTP_X_BOOKING_TOKEN" in meta:
            return None
        accept = meta.get("HTTP_ACCEPT")
        # Media type parameters (`indent=2`) shape DRF's rendering, an empty header is
        # refused there, and DRF reads a long one only in part: the full way for those.
        if accept is not None and (
            ";" in accept
            or len(accept) > _ACCEPT_MAX_LENGTH
            or not any(part.strip().lower() in _ACCEPTED for part in accept.split(","))
        ):
            return None
        presented: str | None = None
        authorization = meta.get("HTTP_AUTHORIZATION")
        if authorization:
            # Split as DRF splits it: the header's bytes, on ASCII whitespace only.
            try:
                parts = authorization.encode("iso-8859-1").split()
                if len(parts) != 2 or parts[0].lower() != b"bearer":
                    return None
                presented = parts[1].decode("ascii")
            except (UnicodeEncodeError, UnicodeDecodeError):
                return None
            if api_key_prefix(presented=presented) is None:
                return None  # a JWT, or not a credential: the full way decides
        params: dict[str, str] = {}
        for name, values in request.GET.lists():
            if name not in allowed or len(values) != 1:
                return None
            params[name] = values[0]
        return cls(tenant, params, presented)

    def date(self, name: str) -> dt.date | None:
        value = self.params.get(name)
        if value is None or not _DATE.fullmatch(value):
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        return day if EARLIEST <= day <= LATEST else None

    def scope(self) -> tuple[AvailabilityScope, str | None] | None:
        ids: dict[str, UUID | None] = {}
        for name in ("service", "resource", "location"):
            value = self.params.get(name)
            if value is None and name != "service":
                ids[name] = None
            elif value is not None and _UUID.fullmatch(value):
                ids[name] = UUID(value)
            else:
                return None
        tz = self.params.get("tz")
        if tz is not None and (not tz or tz != tz.strip() or len(tz) > 64):
            return None
        scope = AvailabilityScope(
            service_id=ids["service"],  # type: ignore[arg-type]
            resource_id=ids["resource"],
            location_id=ids["location"],
        )
        return scope, tz

    def rate_count(self, request: HttpRequest) -> RateCount | None:
        """The bucket the full way counts this request in (apps/api/throttles.py)."""
        if self.presented is None:
            return rate_limit_prepare(scope="anon_read", ident=client_ident(request))
        plan_rate = plan_api_rate() if settings.API_RATE_PLAN_LIMITS else None
        rate = stricter_rate(configured_rate("api_key"), plan_rate)
        prefix = str(api_key_prefix(presented=self.presented))
        return rate_limit_prepare(scope="api_key", ident=prefix, rate=rate)


def _read(
    request: HttpRequest, plain: _Plain, availability_keys: list[str]
) -> list[bytes | None] | None:
    """One round trip: the API key's cached row, the request's count in its rate bucket
    and the availability entry with its tokens. The availability values, or None when
    the request is to go the full way (then counted already, or not at all)."""
    key_keys: list[str] = []
    if plain.presented is not None:
        key_keys = api_key_cache_keys(presented=plain.presented) or []
    count = plain.rate_count(request)
    try:
        pipe = cache.client.get_client(write=True).pipeline(transaction=False)  # type: ignore[attr-defined]
        pipe.mget([*key_keys, *availability_keys])
        if count is not None:
            count.pipeline_add(pipe)
        results = pipe.execute()
    except (RedisError, ConnectionInterrupted):
        return None  # the full way answers for an outage
    values = results[0]
    if plain.presented is not None:
        key = api_key_from_cache(
            presented=plain.presented, raw_entry=values[0], raw_generation=values[1]
        )
        if key is None:
            # The full way reads the key; a wrong one is 401 there, never counted.
            if count is not None:
                rate_limit_uncount(count)
            return None
    wait = rate_limit_counted(count, int(results[1])) if count is not None else None
    if count is not None:
        request.rate_limit_counted = ((count.scope, count.ident), wait)  # type: ignore[attr-defined]
    if wait is not None:
        return None
    try:
        tenant_active_require()
    except DomainError:
        return None
    return values[len(key_keys) :]


def slots_body(result: AvailableSlots) -> dict[str, Any]:
    """The body of a GET slots answer, the fast way's and the full way's."""
    return {
        "slots": [
            {
                "id": str(slot.id),
                "start": slot.start.isoformat(),
                "end": slot.end.isoformat(),
                "resource": str(slot.resource_id),
                "remaining": slot.remaining,
            }
            for slot in result.slots
        ],
        "total": result.total,
        "has_more": result.has_more,
        "timezone": result.timezone,
    }


def dates_body(result: AvailableDates) -> dict[str, Any]:
    """The body of a GET dates answer, the fast way's and the full way's."""
    return {
        "dates": [{"date": day.day.isoformat(), "free": day.free} for day in result.dates],
        "timezone": result.timezone,
        "display_timezone": result.display_timezone,
    }


def _json(data: dict[str, Any]) -> bytes:
    """As DRF's JSONRenderer writes it (compact, UTF-8, U+2028/2029 escaped)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def _response(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["Allow"] = _ALLOW
    return response


class _Cached(NamedTuple):
    plain: _Plain
    scope: AvailabilityScope
    first: dt.date
    last: dt.date
    keys: list[str]
    raw: list[bytes | None]


def _cached(request: HttpRequest, allowed: frozenset[str], first: str, last: str) -> _Cached | None:
    """A plain request's scope and days (`first`, `last`: the parameters naming them) and
    the values of its availability entry, read in the one round trip; None: the full way."""
    plain = _Plain.parse(request, allowed)
    if plain is None:
        return None
    scoped = plain.scope()
    first_day, last_day = plain.date(first), plain.date(last)
    if scoped is None or first_day is None or last_day is None:
        return None
    scope, tz = scoped
    keys = availability_cache_keys(
        scope, first=first_day, last=last_day, tz=tz, tenant=plain.tenant
    )
    raw = _read(request, plain, keys)
    return None if raw is None else _Cached(plain, scope, first_day, last_day, keys, raw)


class _Kept(NamedTuple):
    raw: tuple[bytes | None, ...]
    since: dt.datetime
    until: dt.datetime
    answer: AvailableSlots | AvailableDates
    body: bytes


# The answers this process gave last, by query. A repeat whose cache values are the same
# bytes (the entry and every token it counts under: any booking, hold or catalogue change
# makes them differ) is given the same body again, without decoding the entry, cutting
# the answer and writing its JSON, until the clock alone may change it
# (`CachedAnswer.unchanged_until`). Per process and bounded: emptied when full.
_KEPT_MAX = 512
_kept: dict[tuple[object, ...], _Kept] = {}


def _answer(
    request: HttpRequest,
    parameters: tuple[frozenset[str], str, str],
    cut: Callable[[_Cached, dt.datetime], CachedAnswer | None],
    body: Callable[[Any], dict[str, Any]],
) -> HttpResponse | None:
    """The answer to a plain request (`parameters`: the ones allowed, and those naming its
    first and last day) that `cut` gives from its cache values at this instant, or the
    one kept from an earlier request with the same values while it still holds; None:
    the full way."""
    cached = _cached(request, *parameters)
    if cached is None:
        return None
    now = timezone.now()
    query = (*cached.keys, *availability_tenant_inputs(cached.plain.tenant))
    raw = tuple(cached.raw)
    kept = _kept.get(query)
    if kept is not None and kept.raw == raw and kept.since <= now < kept.until:
        availability_answer_reused(kept.answer)
        return _response(kept.body)
    result = cut(cached, now)
    if result is None:
        return None
    text = _json(body(result.answer))
    if len(_kept) >= _KEPT_MAX:
        _kept.clear()
    _kept[query] = _Kept(raw, now, result.unchanged_until, result.answer, text)
    return _response(text)


def _slots_cut(cached: _Cached, now: dt.datetime) -> CachedAnswer | None:
    plain = cached.plain
    return availability_slots_cached(
        scope=cached.scope, day=cached.first, raw=cached.raw, now=now, tenant=plain.tenant
    )


def _dates_cut(cached: _Cached, now: dt.datetime) -> CachedAnswer | None:
    first, last, tenant = cached.first, cached.last, cached.plain.tenant
    return availability_dates_cached(
        scope=cached.scope, start=first, end=last, raw=cached.raw, now=now, tenant=tenant
    )


def slots(request: HttpRequest) -> HttpResponse | None:
    return _answer(request, (_SLOTS_PARAMETERS, "date", "date"), _slots_cut, slots_body)


def dates(request: HttpRequest) -> HttpResponse | None:
    return _answer(request, (_DATES_PARAMETERS, "from", "to"), _dates_cut, dates_body)
