"""Searching the directory: the query's parameters (checked once, for the page and the
API alike) and the one statement that answers them from the public index.

Why `cube` and not PostGIS or `earthdistance`: PostGIS is not installed here, and
`earthdistance` is not a trusted extension, so the owner role that runs migrations could
not create it. `cube` is trusted. Each entry stores its point as Earth-centred x, y, z in
metres (apps/directory/indexing.py); a radius query is a GiST-indexed box test
(`cube_enlarge(point, chord, 3) @> earth_point`) and the exact great-circle distance is
`2R·asin(chord / 2R)` from the straight-line distance `cube_distance` — what
earthdistance computes, without its functions (whose unqualified bodies also break
index expressions on restore).

Text: the query's words, unaccented, as a prefix `tsquery` against the weighted
document (name A, specializations and services B, tags and business C, description D),
OR trigram word similarity (`<%`, GIN-indexed) at DIRECTORY_FUZZY_THRESHOLD against
the unaccented name, specializations, services and tags, for typos. Rows whose words
match rank by `ts_rank`; rows found by similarity alone are the fallback, only when no
row under the same filters has the words, ranked by similarity (testing similarity on
every row of a city cost more than the rest of the search: 40-80 ms of 10,000 rows).
Only businesses that take bookings are searched (the tenant row is joined): a business
closed, suspended or not yet live is out at once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.core.errors import FieldError, ValidationFailed
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import EARTH_RADIUS_M, SERVING_STATUSES, earth_xyz
from apps.directory.taxonomy import LANGUAGES, SPECIALIZATION_BY_SLUG

QUERY_MAX_LENGTH = 200
QUERY_MAX_WORDS = 8
RADIUS_MAX_KM = 500
PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 50
PAGE_MAX = 1000
AVAILABILITY_MAX_DAYS = 60
SORTS = ("relevance", "rating", "distance", "soonest")
PARAMETERS = (
    "q",
    "specialization",
    "language",
    "near",
    "radius_km",
    "min_rating",
    "available_from",
    "available_to",
    "sort",
    "page",
    "per_page",
)
_WORD = re.compile(r"\w+", re.UNICODE)
_RATING = re.compile(r"^\d(?:\.\d{1,2})?$")
_NEAR = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*,\s*([+-]?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class DirectoryQuery:
    q: str = ""
    specialization: str = ""
    language: str = ""
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    min_rating: Decimal | None = None
    available_from: dt.date | None = None
    available_to: dt.date | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT

    @property
    def words(self) -> list[str]:
        return [word.lower() for word in _WORD.findall(self.q)][:QUERY_MAX_WORDS]


def _number(raw: str, field_name: str, problems: list[FieldError]) -> Decimal | None:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        problems.append(FieldError(field_name, _("Enter a number.")))
        return None
    if not value.is_finite() or not math.isfinite(float(value)):
        problems.append(FieldError(field_name, _("Enter a number.")))
        return None
    return value


def _whole(raw: str, field_name: str, most: int, problems: list[FieldError]) -> int | None:
    text = raw.strip()
    # (The length first: int() refuses strings of thousands of digits with a ValueError.)
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not 1 <= int(text) <= most:
        problems.append(
            FieldError(field_name, _("Give a whole number from 1 to %(most)s.") % {"most": most})
        )
        return None
    return int(text)


def _date(raw: str, field_name: str, problems: list[FieldError]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        problems.append(FieldError(field_name, _("Enter a date as YYYY-MM-DD.")))
        return None


def directory_query_parse(
    params: Mapping[str, Any], *, today: dt.date | None = None
) -> DirectoryQuery:
    """The search a request asks for, or ValidationFailed naming every bad parameter."""
    today = today or timezone.now().date()
    problems: list[FieldError] = []
    for name in sorted(set(params) - set(PARAMETERS)):
        problems.append(
            FieldError(
                name,
                _("Unknown parameter “%(name)s”. Use: %(names)s.")
                % {"name": name[:40], "names": ", ".join(PARAMETERS)},
            )
        )

    def raw(name: str) -> str:
        value = params.get(name)
        return str(value) if value is not None else ""

    q = " ".join(raw("q").split())
    if len(raw("q")) > QUERY_MAX_LENGTH:
        problems.append(
            FieldError(
                "q",
                _("Keep the search under %(count)s characters.") % {"count": QUERY_MAX_LENGTH + 1},
            )
        )
        q = ""
    specialization = raw("specialization").strip()
    if specialization and specialization not in SPECIALIZATION_BY_SLUG:
        problems.append(FieldError("specialization", _("Unknown specialization.")))
    language = raw("language").strip().lower()
    if language and language not in LANGUAGES:
        problems.append(FieldError("language", _("Give a two-letter ISO 639-1 language code.")))

    near: tuple[float, float] | None = None
    if raw("near").strip():
        match = _NEAR.match(raw("near"))
        if match is None:
            problems.append(FieldError("near", _("Give a place as latitude,longitude.")))
        else:
            latitude, longitude = float(match.group(1)), float(match.group(2))
            if not -90 <= latitude <= 90:
                problems.append(FieldError("near", _("The latitude must be between -90 and 90.")))
            elif not -180 <= longitude <= 180:
                problems.append(
                    FieldError("near", _("The longitude must be between -180 and 180."))
                )
            else:
                near = (latitude, longitude)
    radius_km: float | None = None
    if raw("radius_km").strip():
        radius = _number(raw("radius_km"), "radius_km", problems)
        if radius is not None:
            # Compared as the float the search uses: 1e-999999 is above 0 only as text.
            if not 0 < float(radius) <= RADIUS_MAX_KM:
                problems.append(
                    FieldError(
                        "radius_km",
                        _("Give a radius above 0 and up to %(most)s km.") % {"most": RADIUS_MAX_KM},
                    )
                )
            else:
                radius_km = float(radius)
    near_given, radius_given = bool(raw("near").strip()), bool(raw("radius_km").strip())
    if near_given and not radius_given:
        problems.append(FieldError("radius_km", _("Give a radius with a place.")))
    if radius_given and not near_given:
        problems.append(FieldError("near", _("Give a place (latitude,longitude) with a radius.")))

    min_rating: Decimal | None = None
    if raw("min_rating").strip():
        text = raw("min_rating").strip()
        if not (text.isascii() and _RATING.match(text)) or not 0 <= Decimal(text) <= 5:
            problems.append(FieldError("min_rating", _("Give a rating from 0 to 5.")))
        else:
            min_rating = Decimal(text)

    available_from = (
        _date(raw("available_from"), "available_from", problems)
        if raw("available_from").strip()
        else None
    )
    available_to = (
        _date(raw("available_to"), "available_to", problems)
        if raw("available_to").strip()
        else None
    )
    # The index knows free days this far ahead; dates are bounded before any arithmetic.
    last_day = today + dt.timedelta(days=int(settings.DIRECTORY_FREE_DAYS_AHEAD) - 1)
    beyond = _("Give a date up to %(day)s: free times are known that far ahead.") % {
        "day": last_day.isoformat()
    }
    for name, day in (("available_from", available_from), ("available_to", available_to)):
        if day is not None and day > last_day:
            problems.append(FieldError(name, beyond))
            available_from = available_to = None
    if available_from is not None or available_to is not None:
        start = available_from or today
        end = available_to or min(start + dt.timedelta(days=AVAILABILITY_MAX_DAYS - 1), last_day)
        if available_from is not None and available_from < today - dt.timedelta(days=1):
            problems.append(FieldError("available_from", _("Give today or a later date.")))
        elif end < start:
            problems.append(
                FieldError("available_to", _("Give a date on or after the first date."))
            )
        elif (end - start).days >= AVAILABILITY_MAX_DAYS:
            problems.append(
                FieldError(
                    "available_to",
                    _("Search at most %(days)s days at a time.") % {"days": AVAILABILITY_MAX_DAYS},
                )
            )
        else:
            available_from, available_to = start, end

    sort = raw("sort").strip() or "relevance"
    if sort not in SORTS:
        problems.append(
            FieldError("sort", _("Sort by one of: %(sorts)s.") % {"sorts": ", ".join(SORTS)})
        )
    elif sort == "distance" and not near_given:
        problems.append(FieldError("sort", _("Sorting by distance needs a place (near).")))
    page = _whole(raw("page"), "page", PAGE_MAX, problems) if raw("page").strip() else 1
    per_page = (
        _whole(raw("per_page"), "per_page", PER_PAGE_MAX, problems)
        if raw("per_page").strip()
        else PER_PAGE_DEFAULT
    )
    if problems:
        raise ValidationFailed(_("The search is not valid."), problems)
    return DirectoryQuery(
        q=q,
        specialization=specialization,
        language=language,
        near=near,
        radius_km=radius_km,
        min_rating=min_rating,
        available_from=available_from,
        available_to=available_to,
        sort=sort,
        page=page or 1,
        per_page=per_page or PER_PAGE_DEFAULT,
    )


@dataclass(frozen=True)
class DirectoryResult:
    id: UUID
    tenant_id: UUID
    resource_id: UUID
    kind: str
    name: str
    business_name: str
    description: str
    specializations: list[str]
    languages: list[str]
    address: str
    latitude: float | None
    longitude: float | None
    photo_url: str
    payment_modes: list[str]
    price_min: Decimal | None
    price_max: Decimal | None
    currency: str
    services: list[dict[str, str]]
    booking_url: str
    rating_average: Decimal
    rating_count: int
    next_free_at: dt.datetime | None
    time_zone: str
    # The latest shown reviews (apps/reviews/selectors.py, `review_snippet`).
    latest_reviews: list[dict[str, Any]]
    score: float
    distance_km: float | None

    @property
    def specialization_labels(self) -> list[str]:
        return [
            str(SPECIALIZATION_BY_SLUG[slug].label)
            for slug in self.specializations
            if slug in SPECIALIZATION_BY_SLUG
        ]

    @property
    def reviews_url(self) -> str:
        """All the shown reviews of this person or asset, on the business's own site."""
        parts = urlsplit(self.booking_url)
        return urlunsplit(
            (parts.scheme, parts.netloc, "/reviews/", f"resource={self.resource_id}", "")
        )

    @property
    def latest_reviews_shown(self) -> list[dict[str, Any]]:
        """The latest reviews with their month as a date (pages format it)."""
        return [
            {**review, "visit_month": dt.date.fromisoformat(f"{review['month']}-01")}
            for review in self.latest_reviews
        ]

    @property
    def language_names(self) -> list[str]:
        return [str(LANGUAGES.get(code, code)) for code in self.languages]


@dataclass(frozen=True)
class DirectoryPage:
    results: list[DirectoryResult]
    total: int
    page: int
    per_page: int
    total_pages: int
    query: DirectoryQuery = field(default_factory=DirectoryQuery)


_COLUMNS = (
    "id, tenant_id, resource_id, kind, name, business_name, description, specializations, "
    "languages, address, latitude, longitude, photo_url, payment_modes, price_min, "
    "price_max, currency, services, booking_url, rating_average, rating_count, next_free_at, "
    "time_zone, latest_reviews"
)


def _chord(radius_m: float) -> float:
    """The straight-line length of a great-circle arc of `radius_m` on the sphere."""
    return 2 * EARTH_RADIUS_M * math.sin(min(radius_m / (2 * EARTH_RADIUS_M), math.pi / 2))


def _statement(
    query: DirectoryQuery, *, words: list[str], counting: bool, windowed: bool = True
) -> tuple[str, list[Any]]:
    """The search as SQL. `words` are the query's words already unaccented by PostgreSQL
    (`_words_unaccented`): as constants, `to_tsquery` and `lower` fold and the GIN
    indexes apply; `unaccent` (STABLE) inside the statement would run once per row."""
    entries = connection.ops.quote_name(DirectoryEntry._meta.db_table)
    tenants = connection.ops.quote_name(Tenant._meta.db_table)
    # Every condition but the words, written for an entry `{e}` of a business `{t}`: the
    # fallback to similarity below asks them again of other rows.
    filters = ["{t}.is_ready", "{t}.live_at IS NOT NULL", "{t}.status = ANY(%s)"]
    filter_params: list[Any] = [[str(status) for status in SERVING_STATUSES]]
    score_sql, score_params = "0.0", []
    if query.specialization:
        filters.append("{e}.specializations @> ARRAY[%s]::varchar[]")
        filter_params.append(query.specialization)
    if query.language:
        filters.append("{e}.languages @> ARRAY[%s]::varchar[]")
        filter_params.append(query.language)
    if query.min_rating is not None:
        filters.append("{e}.rating_average >= %s")
        filter_params.append(query.min_rating)
    if query.available_from is not None and query.available_to is not None:
        days = [
            query.available_from + dt.timedelta(days=n)
            for n in range((query.available_to - query.available_from).days + 1)
        ]
        filters.append("{e}.free_days && %s::date[]")
        filter_params.append(days)
    distance_sql, distance_params = "NULL::float8", []
    if query.near is not None and query.radius_km is not None:
        point = "public.cube(ARRAY[%s, %s, %s]::float8[])"
        xyz = list(earth_xyz(*query.near))
        distance_of = (
            f"2 * {EARTH_RADIUS_M} * asin(least(1.0, "
            f"public.cube_distance({{e}}.earth_point, {point}) / {2 * EARTH_RADIUS_M}))"
        )
        distance_sql = distance_of.format(e="e")
        distance_params = xyz
        radius_m = query.radius_km * 1000
        filters.append(f"public.cube_enlarge({point}, %s, 3) @> {{e}}.earth_point")
        filter_params += [*xyz, _chord(radius_m)]
        filters.append(f"{distance_of} <= %s")
        filter_params += [*distance_params, radius_m]
    where = [condition.format(e="e", t="t") for condition in filters]
    params = list(filter_params)
    if words:
        tsquery = " & ".join(f"'{word}':*" for word in words)
        text = " ".join(words)
        # Rows whose words match; else, only when no row under the same filters has the
        # words (a typo, a variant spelling), rows similar to them. The similarity test
        # is the costly part (about 25 µs a row): asked of every row in a city it cost
        # more than the rest of the search. The NOT EXISTS refers to no row of the
        # outer query, so PostgreSQL answers it once (an InitPlan).
        others = " AND ".join(condition.format(e="x", t="xt") for condition in filters)
        fallback = (
            f"NOT EXISTS (SELECT 1 FROM {entries} x JOIN {tenants} xt ON xt.id = x.tenant_id "  # noqa: S608
            f"WHERE {others} AND x.document @@ to_tsquery('simple', %s))"
        )
        where.append(
            f"(e.document @@ to_tsquery('simple', %s) OR ({fallback} AND %s <%% e.search_text))"
        )
        params += [tsquery, *filter_params, tsquery, text]
        # Words found rank by ts_rank (weights: name A … description D) above every
        # row found only by similarity (a typo), which ranks by that similarity; the
        # similarity, the costly part, is computed only for those.
        score_sql = (
            "CASE WHEN e.document @@ to_tsquery('simple', %s) "
            "THEN 1.0 + ts_rank(e.document, to_tsquery('simple', %s)) "
            "ELSE word_similarity(%s, e.search_text) END"
        )
        score_params = [tsquery, tsquery, text]
    condition = " AND ".join(where)
    if counting:
        sql = f"SELECT count(*) FROM {entries} e JOIN {tenants} t ON t.id = e.tenant_id WHERE {condition}"  # noqa: E501, S608
        return sql, params
    order = {
        "relevance": "score DESC, e.rating_average DESC, e.next_free_at ASC NULLS LAST",
        "rating": "e.rating_average DESC, e.rating_count DESC, score DESC",
        "distance": "distance_m ASC NULLS LAST, score DESC",
        "soonest": "e.next_free_at ASC NULLS LAST, score DESC",
    }[query.sort]
    sql = (
        f"SELECT {', '.join('e.' + c.strip() for c in _COLUMNS.split(','))}, "  # noqa: S608
        f"{score_sql} AS score, {distance_sql} AS distance_m, "
        f"{'count(*) OVER ()' if windowed else 'NULL'} AS total "
        f"FROM {entries} e JOIN {tenants} t ON t.id = e.tenant_id "
        f"WHERE {condition} ORDER BY {order}, e.name, e.id LIMIT %s OFFSET %s"
    )
    offset = (query.page - 1) * query.per_page
    return sql, [*score_params, *distance_params, *params, query.per_page, offset]


_NAMES = [name.strip() for name in _COLUMNS.split(",")]


def _result(row: tuple[Any, ...]) -> DirectoryResult:
    values = dict(zip(_NAMES, row, strict=False))
    # Django's backend hands jsonb over as text (its model fields decode it).
    for column in ("services", "latest_reviews"):
        if isinstance(values[column], str):
            values[column] = json.loads(values[column])
    distance = row[len(_NAMES) + 1]
    return DirectoryResult(
        **values,
        score=float(row[len(_NAMES)] or 0),
        distance_km=round(float(distance) / 1000, 3) if distance is not None else None,
    )


def directory_search(*, query: DirectoryQuery) -> DirectoryPage:
    """One page of results, in a constant number of statements: a prelude, the page,
    and a count when the query has no words or the page lies past the end (which is
    ValidationFailed naming `page`)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # One round trip sets the similarity threshold for this transaction and
        # unaccents the query's words. With words, sequential scans are off for the
        # transaction: the planner prices a trigram test at one comparison, so it reads
        # every row and tests each (measured 137 ms for 10,000 rows) rather than OR the
        # two GIN indexes (52 ms, most of it ranking the matches).
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true), "
            "lower(public.unaccent(%s)), set_config('enable_seqscan', %s, true)",
            [
                str(settings.DIRECTORY_FUZZY_THRESHOLD),
                " ".join(query.words),
                "off" if query.words else "on",
            ],
        )
        prepared = cursor.fetchone()
        words = [w.lower() for w in _WORD.findall(prepared[1] if prepared else "")]
        words = words[:QUERY_MAX_WORDS]
        # Without words the matches may be most of the index: a window count would read
        # them all where the page alone can follow an index (`next_free_at` for soonest),
        # so the total is a count of its own. With words, the matches are read anyway.
        windowed = bool(words)
        sql, params = _statement(query, words=words, counting=False, windowed=windowed)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        total = int(rows[0][-1]) if rows and windowed else 0
        if not windowed or (not rows and query.page > 1):
            count_sql, count_params = _statement(query, words=words, counting=True)
            cursor.execute(count_sql, count_params)
            counted = cursor.fetchone()
            total = int(counted[0]) if counted else 0
    total_pages = math.ceil(total / query.per_page) if total else 0
    if query.page > max(total_pages, 1):
        raise ValidationFailed(
            _("The search is not valid."),
            [
                FieldError(
                    "page",
                    _("There are %(pages)s page(s) of results.") % {"pages": total_pages},
                )
            ],
        )
    results = [_result(row) for row in rows]
    return DirectoryPage(
        results=results,
        total=total,
        page=query.page,
        per_page=query.per_page,
        total_pages=total_pages,
        query=query,
    )
