"""Curated slot exposure (PRODUCT.md §4.5): show a viewer a few free starts instead of all.

For one viewer (session or user key), date and resource (or "all" for a location or
"anyone" query), within one hour window:

1. seed = SHA-256 of "viewer | date | resource-or-all | hour window" (the hour window
   is the Unix hour of `now`, so the salt rotates every hour);
2. k = 1-3 for a resource-scoped query, 3-5 for a location-scoped one, drawn from the
   seeded generator, capped by how many starts are free;
3. the free starts are shuffled with the seeded generator; one start from each of
   morning (< 12:00), afternoon (12:00-17:00) and evening (≥ 17:00) in the location's
   time is taken first, then the next ones in shuffled order up to k. The parts are
   taken in the order the shuffle first reaches them, not morning first: when k is
   below the number of parts (k = 1 or 2 for a resource), a fixed order would show
   those viewers mornings only and starve the later parts of the day;
4. the chosen starts are returned in time order with the total free count and
   `has_more`, and remembered for 7 minutes per (viewer, date, resource) — plus the
   service, location and display zone, which a cache entry must not mix — so a viewer
   who reloads sees the same starts even across the hour boundary. Remembered starts
   that are no longer free are left out; when none is left, a fresh pick is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.cache import cache

EXPOSURE_VARIANTS = ("all", "curated")
EXPOSURE_CACHE_SECONDS = 7 * 60
RESOURCE_SCOPED_K = (1, 3)
LOCATION_SCOPED_K = (3, 5)
MORNING, AFTERNOON, EVENING = "morning", "afternoon", "evening"


class Exposable(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def start(self) -> dt.datetime: ...


_S = TypeVar("_S", bound=Exposable)


@dataclass(frozen=True)
class Exposure(Generic[_S]):
    slots: list[_S]
    total: int
    has_more: bool


def exposure_seed(
    *, viewer_key: str, day: dt.date, resource_id: UUID | None, now: dt.datetime
) -> int:
    hour_window = int(now.timestamp()) // 3600
    material = f"{viewer_key}|{day.isoformat()}|{resource_id or 'all'}|{hour_window}"
    return int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")


def day_part(start: dt.datetime, tz: ZoneInfo) -> str:
    hour = start.astimezone(tz).hour
    if hour < 12:
        return MORNING
    if hour < 17:
        return AFTERNOON
    return EVENING


def exposure_pick(
    *, slots: Sequence[_S], seed: int, resource_scoped: bool, bucket_tz: ZoneInfo
) -> list[_S]:
    """The curated subset of `slots` for `seed` (deterministic), in time order."""
    rng = random.Random(seed)  # noqa: S311 — a fair, reproducible pick, not a secret
    low, high = RESOURCE_SCOPED_K if resource_scoped else LOCATION_SCOPED_K
    k = min(rng.randint(low, high), len(slots))
    shuffled = list(slots)
    rng.shuffle(shuffled)
    chosen: list[_S] = []
    parts_taken: set[str] = set()
    for slot in shuffled:
        if len(chosen) >= k:
            break
        part = day_part(slot.start, bucket_tz)
        if part not in parts_taken:
            parts_taken.add(part)
            chosen.append(slot)
    for slot in shuffled:
        if len(chosen) >= k:
            break
        if slot not in chosen:
            chosen.append(slot)
    return sorted(chosen, key=lambda slot: slot.start)


def _cache_key(*, viewer_key: str, day: dt.date, resource_id: UUID | None, scope_key: str) -> str:
    # Session keys are secrets: only their digest goes into Redis key names.
    viewer = hashlib.sha256(viewer_key.encode()).hexdigest()[:32]
    return f"slot-exposure:{viewer}:{day.isoformat()}:{resource_id or 'all'}:{scope_key}"


def slots_expose(
    *,
    slots: Sequence[_S],
    viewer_key: str,
    day: dt.date,
    resource_id: UUID | None,
    scope_key: str,
    now: dt.datetime,
    bucket_tz: ZoneInfo,
) -> Exposure[_S]:
    """The curated exposure of the free `slots` for one viewer (see module doc)."""
    total = len(slots)
    if not slots:
        return Exposure(slots=[], total=0, has_more=False)
    key = _cache_key(viewer_key=viewer_key, day=day, resource_id=resource_id, scope_key=scope_key)
    remembered = cache.get(key)
    if remembered:
        wanted = set(remembered)
        still_free = [slot for slot in slots if str(slot.id) in wanted]
        if still_free:
            return Exposure(slots=still_free, total=total, has_more=total > len(still_free))
    seed = exposure_seed(viewer_key=viewer_key, day=day, resource_id=resource_id, now=now)
    chosen = exposure_pick(
        slots=slots, seed=seed, resource_scoped=resource_id is not None, bucket_tz=bucket_tz
    )
    cache.set(key, [str(slot.id) for slot in chosen], timeout=EXPOSURE_CACHE_SECONDS)
    return Exposure(slots=chosen, total=total, has_more=total > len(chosen))
