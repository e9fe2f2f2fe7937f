"""Short-lived answers of the availability selectors, kept in Redis, and the tokens that
invalidate them.

An entry is stored beside the tokens it was computed under and counts only while every
one of them is still current; a reader fetches the entry and the tokens in one round
trip. Tokens are random numbers, never counters, so a token Redis lost and drew again
cannot bring an old entry back to life.

- `availability-slots:<resource id>` and `availability-slots:all` change whenever a
  writer locks slot rows of that resource (every booking write and every
  materialization does, apps/bookings/slot_sessions.py and apps/calendars/grid/services.py);
- `availability-catalogue` changes whenever a location, resource, service or a
  service's resource list changes (apps/calendars/receivers.py).

Tokens are drawn again twice: when the writer locks (so its own later reads, in its
transaction, never see the old entry) and after its transaction commits. A reader reads
the tokens before it reads the database, so an entry computed from rows as they were
before a commit carries a token that the commit has already replaced.

Keys go through the cache's key function, which puts the tenant's schema in front:
tenants never read each other's entries. Entries are also bounded in time by the
caller (AVAILABILITY_CACHE_SECONDS, and the first live hold's expiry).

Entries are JSON (never pickle: what is in Redis is data, not code); the selectors turn
their answers into JSON values and back.

Redis out of reach never fails a read or a booking: reads compute from the database
and store nothing, writers log that they could not renew (entries stored before the
outage still die within their time bound).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CATALOGUE = "availability-catalogue"
ALL_SLOTS = "availability-slots:all"
# Outlives every entry; a lost token only makes the entries it guarded useless.
_TOKEN_SECONDS = 24 * 3600


def slots_token(resource_id: UUID | str) -> str:
    return f"availability-slots:{resource_id}"


def entry_seconds() -> float:
    return float(getattr(settings, "AVAILABILITY_CACHE_SECONDS", 0))


def _client() -> Any:
    return cache.client.get_client(write=True)  # type: ignore[attr-defined]


def _renew(names: Iterable[str]) -> None:
    """Draws new tokens now and again after the current transaction commits."""
    keys = [cache.make_key(name) for name in names]  # the tenant's key space, now

    def renew() -> None:
        try:
            pipe = _client().pipeline(transaction=False)
            for key in keys:
                pipe.set(key, secrets.randbits(62), ex=_TOKEN_SECONDS)
            pipe.execute()
        except RedisError:
            logger.warning("availability.cache_renew_failed", extra={"tokens": len(keys)})

    renew()
    transaction.on_commit(renew)


def slots_changed(*, resource_ids: Iterable[UUID | str]) -> None:
    """Called by every writer of slot rows (or of their holds) of these resources."""
    _renew([ALL_SLOTS, *(slots_token(resource_id) for resource_id in set(resource_ids))])


def catalogue_changed() -> None:
    _renew([CATALOGUE])


def entry_keys(name: str, tokens: Sequence[str]) -> list[str]:
    """The Redis keys of an entry and its tokens, in the tenant's key space: for a caller
    that reads them in a round trip of its own (`entry_decode` then reads the values)."""
    return [cache.make_key(name), *(cache.make_key(token) for token in tokens)]


def entry_decode(
    raw_entry: bytes | None, raw_tokens: Sequence[bytes | None]
) -> tuple[Any, tuple[int, ...] | None]:
    """What `entry_get` answers, from the values of `entry_keys` as Redis returned them
    (a missing token: no entry and no tokens)."""
    if any(value is None for value in raw_tokens):
        return None, None
    current = tuple(int(value) for value in raw_tokens)  # type: ignore[arg-type]
    if raw_entry is None:
        return None, current
    try:
        stored_tokens, value = json.loads(raw_entry)
        stored = tuple(stored_tokens)
    except (ValueError, TypeError):  # not an entry of entry_put's (another release's)
        return None, current
    if stored != current:
        return None, current
    return value, current


def entry_get(name: str, tokens: Sequence[str]) -> tuple[Any, tuple[int, ...] | None]:
    """(the entry, or None) and the current tokens to store a fresh entry under (None
    when they could not be established: do not store then)."""
    client = _client()
    keys = entry_keys(name, tokens)
    try:
        raw_entry, *raw_tokens = client.mget(keys)
        missing = [index for index, value in enumerate(raw_tokens) if value is None]
        if missing:
            pipe = client.pipeline(transaction=False)
            for index in missing:
                pipe.set(keys[index + 1], secrets.randbits(62), ex=_TOKEN_SECONDS, nx=True)
            pipe.mget(keys[1:])
            raw_tokens = pipe.execute()[-1]
    except RedisError:
        logger.warning("availability.cache_unavailable")
        return None, None
    return entry_decode(raw_entry, raw_tokens)


def entry_put(name: str, value: Any, *, tokens: tuple[int, ...], seconds: float) -> None:
    """Stores a JSON-compatible `value` under `tokens` for `seconds`."""
    milliseconds = int(seconds * 1000)
    if milliseconds <= 0:
        return
    try:
        _client().set(
            cache.make_key(name),
            json.dumps([tokens, value], separators=(",", ":"), allow_nan=False),
            px=milliseconds,
        )
    except RedisError:
        logger.warning("availability.cache_unavailable")
