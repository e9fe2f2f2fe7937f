"""The directory workload of the benchmark (PRODUCT.md §7, "directory search"): listed
businesses with customers' reviews, in the bench tenants `bench-0001…` that
tests/bench/seed.py makes.

In each of `size.tenants` tenants: a location in one of a handful of real cities (random
offsets up to ~12 km from the centre), `size.listings` bookable people with listings
(1-2 specializations of the taxonomy, 1-3 languages, varied names and descriptions),
two services, a Mon-Fri 09:00-17:00 rule with slots `size.slot_days` ahead (so the
index has next free starts and free days), the business's listing opted in, the tenant
live; then `size.reviews` completed past bookings, each with its history (held,
confirmed, completed; stamped at seeding time, as the append-only history table takes
its own `created_at`) and one review. A fixed random seed makes runs comparable.

The catalogue, rule and slots are made by the real services. The past bookings, their
history and reviews are written in bulk (`bulk_create`): 100,000 `booking_hold` +
`booking_confirm` + `booking_mark_completed` + `review_submit` calls would take hours.
They satisfy every constraint the services would (no two bookings of a resource
overlap, each review's booking is completed and its own, ratings 1-5, contact details
encrypted like the services encrypt them); the reviews table's trigger guards updates
only. The listing rows are written directly too: `listing_profile_update` would queue a
rebuild task per business, and the index is filled here instead, by the real indexer
(`directory_index_rebuild`) per business, so ratings and latest reviews come from the
reviews.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings.models import Actor, Booking, BookingEvent, Customer
from apps.bookings.pii import email_normalize, lookup_hash
from apps.calendars.grid.services import resources_materialize
from apps.calendars.rules.services import availability_rule_create
from apps.calendars.timezones import zone
from apps.core.encryption import pii_encrypt
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import directory_index_rebuild
from apps.directory.models import ListingProfile, PaymentMode, ResourceListing
from apps.directory.taxonomy import SPECIALIZATIONS
from apps.resources.models import Resource
from apps.resources.services import location_create, resource_create, service_create
from apps.reviews.models import Review
from apps.reviews.services import EDIT_DAYS, author_display_name

logger = logging.getLogger(__name__)

DIRECTORY_SEED_VERSION = 1
RANDOM_SEED = 20261207
PAST_DAYS = 240  # the completed bookings lie in the last 240 days
SERVICE_MINUTES = 30


@dataclass(frozen=True)
class DirectorySize:
    tenants: int = 1000
    listings: int = 10  # per tenant
    reviews: int = 100  # per tenant (one completed booking each)
    slot_days: int = 28  # slots materialized ahead, for next free starts

    @property
    def total_listings(self) -> int:
        return self.tenants * self.listings

    @property
    def total_reviews(self) -> int:
        return self.tenants * self.reviews


@dataclass(frozen=True)
class City:
    name: str
    latitude: float
    longitude: float
    timezone: str
    currency: str
    languages: tuple[str, ...]  # most spoken first
    streets: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City("London", 51.5074, -0.1278, "Europe/London", "GBP", ("en", "pl", "pt", "fr", "es"),
         ("High Street", "Church Road", "Station Road", "Victoria Road", "Green Lane")),
    City("Berlin", 52.5200, 13.4050, "Europe/Berlin", "EUR", ("de", "en", "tr", "pl", "ru"),
         ("Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße")),
    City("Paris", 48.8566, 2.3522, "Europe/Paris", "EUR", ("fr", "en", "ar", "pt", "es"),
         ("Rue de la Paix", "Rue Lafayette", "Boulevard Voltaire", "Rue de Rivoli")),
    City("Lisbon", 38.7223, -9.1393, "Europe/Lisbon", "EUR", ("pt", "en", "es", "fr"),
         ("Rua Augusta", "Avenida da Liberdade", "Rua do Ouro", "Rua da Prata")),
    City("Madrid", 40.4168, -3.7038, "Europe/Madrid", "EUR", ("es", "en", "pt", "fr"),
         ("Calle Mayor", "Gran Vía", "Calle de Alcalá", "Calle de Serrano")),
    City("Amsterdam", 52.3676, 4.9041, "Europe/Amsterdam", "EUR", ("nl", "en", "de", "tr"),
         ("Kalverstraat", "Damrak", "Prinsengracht", "Overtoom", "Ferdinand Bolstraat")),
)  # fmt: skip

FIRST_NAMES = (
    "Ada", "Bruno", "Carla", "Daniel", "Eva", "Farid", "Greta", "Hugo", "Inês", "Jonas",
    "Klara", "Luís", "Maja", "Nadia", "Oskar", "Paula", "Rafael", "Sofia", "Tomás", "Ulla",
    "Vera", "Wim", "Yusuf", "Zoé", "Amélie", "Björn", "Chloé", "Diego", "Elif", "Frida",
)  # fmt: skip
LAST_NAMES = (
    "Almeida", "Becker", "Costa", "Dubois", "Eriksen", "Fernández", "García", "Hoffmann",
    "Ivanova", "Jansen", "Kowalski", "Lambert", "Martins", "Novak", "Okafor", "Petit",
    "Quinn", "Rossi", "Schmidt", "Teixeira", "Usman", "Visser", "Walsh", "Yilmaz", "Zimmer",
)  # fmt: skip
BUSINESS_WORDS = ("Practice", "Studio", "Centre", "Clinic", "Rooms", "House", "Collective")
DESCRIPTIONS = (
    "{years} years of experience; calm, thorough first appointments.",
    "Evening appointments on weekdays. {spec} for adults and teenagers.",
    "Trained in {city}; {spec} with a focus on lasting results.",
    "Friendly {spec} near {street}, step-free access.",
    "Short waiting times, clear advice, {spec} in {languages}.",
)
COMMENTS = {
    5: ("Excellent, I felt listened to.", "Very professional and kind.", "Best in town."),
    4: ("Good appointment, a little wait.", "Helpful and clear.", "Would come back."),
    3: ("Fine, nothing special.", "Okay, but rushed.", "Average experience."),
    2: ("Started late and felt rushed.", "Not what I hoped for."),
    1: ("Did not help me at all.", "Cancelled twice before this."),
}
PAYMENT_MODES = [mode.value for mode in PaymentMode]


def _weighted_languages(rng: random.Random, city: City) -> list[str]:
    count = rng.choice((1, 1, 2, 2, 2, 3))
    first = city.languages[0] if rng.random() < 0.8 else rng.choice(city.languages)
    chosen = [first]
    while len(chosen) < count:
        other = rng.choice(city.languages)
        if other not in chosen:
            chosen.append(other)
    return chosen


def _ratings(rng: random.Random, quality: float, count: int) -> list[int]:
    """Ratings around a resource's `quality` (1-5), as customers give them (mostly high)."""
    return [max(1, min(5, round(rng.gauss(quality, 0.9)))) for _ in range(count)]


def _past_starts(
    rng: random.Random, *, count: int, tz_name: str, today: dt.date
) -> list[dt.datetime]:
    """`count` distinct half-hour starts on past weekdays between 09:00 and 17:00 local
    time: one resource's bookings never overlap."""
    tz = zone(tz_name)
    chosen: set[dt.datetime] = set()
    while len(chosen) < count:
        day = today - dt.timedelta(days=rng.randrange(2, PAST_DAYS))
        if day.isoweekday() > 5:
            continue
        minute = 9 * 60 + SERVICE_MINUTES * rng.randrange(16)
        local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=tz)
        chosen.add(local.astimezone(dt.UTC))
    return sorted(chosen)


def _tenant_seed(
    tenant: Tenant, *, number: int, size: DirectorySize, rng: random.Random, now: dt.datetime
) -> dict[str, float]:
    """One business: catalogue, rule and slots (services), listings, past bookings and
    reviews (bulk). Returns the seconds each part took."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    city = CITIES[number % len(CITIES)]
    latitude = round(city.latitude + rng.uniform(-0.11, 0.11), 6)
    longitude = round(city.longitude + rng.uniform(-0.16, 0.16), 6)
    street = rng.choice(city.streets)
    address = f"{rng.randrange(1, 200)} {street}, {city.name}"
    theme = rng.choice(SPECIALIZATIONS)
    location = location_create(name=f"{city.name} {street}", timezone=city.timezone)
    people: list[tuple[Resource, list[str], list[str], float]] = []
    for _ in range(size.listings):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        specs = [theme.slug]
        if rng.random() < 0.5:
            other = rng.choice(SPECIALIZATIONS).slug
            if other != theme.slug:
                specs.append(other)
        resource = resource_create(name=name, location=location)
        people.append((resource, specs, _weighted_languages(rng, city), rng.uniform(3.2, 4.9)))
    resources = [person[0] for person in people]
    base_price = Decimal(rng.randrange(30, 90))
    services = [
        service_create(
            name=f"{theme.label} consultation",
            duration_minutes=SERVICE_MINUTES,
            price=base_price,
            currency=city.currency,
            resources=resources,
        ),
        service_create(
            name=f"{theme.label} follow-up",
            duration_minutes=SERVICE_MINUTES,
            price=(base_price * Decimal("0.7")).quantize(Decimal("1")),
            currency=city.currency,
            resources=resources,
        ),
    ]
    availability_rule_create(
        kind="weekly",
        location=location,
        days_of_week=[1, 2, 3, 4, 5],
        start_time="09:00",
        end_time="17:00",
        granularity_minutes=30,
    )
    timings["catalogue_s"] = time.perf_counter() - started

    started = time.perf_counter()
    located = list(Resource.objects.filter(location=location).select_related("location"))
    resources_materialize(resources=located, days=size.slot_days, now=now)
    timings["slots_s"] = time.perf_counter() - started

    started = time.perf_counter()
    today = now.astimezone(zone(city.timezone)).date()
    with transaction.atomic():
        customers = _customers(rng, tenant=tenant, count=max(1, size.reviews // 2))
        bookings: list[Booking] = []
        reviews: list[Review] = []
        per_resource = [size.reviews // len(people)] * len(people)
        for index in range(size.reviews % len(people)):
            per_resource[index] += 1
        for (resource, _, _, quality), count in zip(people, per_resource, strict=True):
            starts = _past_starts(rng, count=count, tz_name=city.timezone, today=today)
            for starts_at, rating in zip(starts, _ratings(rng, quality, count), strict=True):
                customer = rng.choice(customers)
                service = rng.choice(services)
                booking = Booking(
                    service=service,
                    resource=resource,
                    customer=customer,
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(minutes=SERVICE_MINUTES),
                    status=Booking.Status.COMPLETED,
                    source=rng.choice((Booking.Source.PAGE, Booking.Source.PAGE, "api")),
                    contact_name=customer.name,
                    contact_email_encrypted=customer.email_encrypted,
                    created_by_type=Actor.CUSTOMER,
                    created_by_id=str(customer.pk),
                    language=rng.choice(("", "en")),
                )
                bookings.append(booking)
                written = booking.ends_at + dt.timedelta(hours=rng.uniform(2, 96))
                reviews.append(
                    Review(
                        booking=booking,
                        resource=resource,
                        service=service,
                        rating=rating,
                        comment=rng.choice(COMMENTS[rating]) if rng.random() < 0.8 else "",
                        author_name=author_display_name(customer.name),
                        visit_month=starts_at.astimezone(zone(city.timezone)).date().replace(day=1),
                        editable_until=written + dt.timedelta(days=EDIT_DAYS),
                        created_at=written,
                        updated_at=written,
                    )
                )
        Booking.objects.bulk_create(bookings, batch_size=500)
        # auto_now_add would stamp today: a past booking was made before its visit.
        for booking in bookings:
            booking.created_at = booking.updated_at = booking.starts_at - dt.timedelta(days=3)
        Booking.objects.bulk_update(bookings, ["created_at", "updated_at"], batch_size=500)
        BookingEvent.objects.bulk_create(
            [
                BookingEvent(
                    booking=booking,
                    kind=kind,
                    actor_type=actor,
                    actor_id=actor_id,
                    actor_label=label,
                )
                for booking in bookings
                for kind, actor, actor_id, label in (
                    (BookingEvent.Kind.HELD, Actor.CUSTOMER, booking.created_by_id, ""),
                    (BookingEvent.Kind.CONFIRMED, Actor.CUSTOMER, booking.created_by_id, ""),
                    (BookingEvent.Kind.COMPLETED, Actor.SYSTEM, "", "bench seed"),
                )
            ],
            batch_size=1000,
        )
        Review.objects.bulk_create(reviews, batch_size=500)
        _listings(rng, tenant=tenant, city=city, address=address, theme_label=str(theme.label),
                  latitude=latitude, longitude=longitude, people=people)  # fmt: skip
    timings["bookings_reviews_s"] = time.perf_counter() - started
    return timings


def _customers(rng: random.Random, *, tenant: Tenant, count: int) -> list[Customer]:
    rows = []
    for n in range(count):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"customer{n}@{tenant.slug}.bench.test"
        rows.append(
            Customer(
                name=name,
                email_encrypted=pii_encrypt(email),
                email_hash=lookup_hash(email_normalize(email)),
            )
        )
    return Customer.objects.bulk_create(rows, batch_size=500)


def _listings(
    rng: random.Random,
    *,
    tenant: Tenant,
    city: City,
    address: str,
    theme_label: str,
    latitude: float,
    longitude: float,
    people: list[tuple[Resource, list[str], list[str], float]],
) -> None:
    languages = sorted({code for _, _, spoken, _ in people for code in spoken})
    ListingProfile.objects.create(
        is_listed=True,
        display_name=f"{rng.choice(LAST_NAMES)} {theme_label} {rng.choice(BUSINESS_WORDS)}",
        description=f"{theme_label} in {city.name}.",
        specializations=sorted({spec for _, specs, _, _ in people for spec in specs})[:5],
        languages=languages[:10],
        address=address,
        latitude=Decimal(str(latitude)),
        longitude=Decimal(str(longitude)),
        payment_modes=rng.sample(PAYMENT_MODES, 2),
    )
    rows = []
    for resource, specs, spoken, _ in people:
        description = rng.choice(DESCRIPTIONS).format(
            years=rng.randrange(2, 30),
            spec=theme_label.lower(),
            city=city.name,
            street=address.split(", ")[0],
            languages=", ".join(spoken),
        )
        rows.append(
            ResourceListing(
                resource=resource,
                specializations=specs,
                languages=spoken,
                description=description,
                is_listed=True,
            )
        )
    ResourceListing.objects.bulk_create(rows)


def directory_seed(
    *, size: DirectorySize, slug_pattern: str, progress: bool = True
) -> dict[str, Any]:
    """Seeds the directory workload in the first `size.tenants` tenants whose slugs
    follow `slug_pattern` (tests/bench/seed.py's EMPTY_SLUG) and fills the index.
    Returns the marker's "directory" part: size, counts and timings (seconds)."""
    slugs = [slug_pattern.format(n + 1) for n in range(size.tenants)]
    tenants = list(Tenant.objects.filter(slug__in=slugs).order_by("slug"))
    if len(tenants) < size.tenants:
        raise RuntimeError(f"Only {len(tenants)} bench tenants for {size.tenants}: reseed.")
    with tenant_context(tenants[0]):
        half_done = ListingProfile.objects.exists()
    if half_done or DirectoryEntry.objects.filter(tenant__in=tenants).exists():
        raise RuntimeError(
            "The bench tenants hold a directory seed left half done: run with --reseed."
        )
    rng = random.Random(RANDOM_SEED)
    now = timezone.now()
    timings: dict[str, float] = {"catalogue_s": 0.0, "slots_s": 0.0, "bookings_reviews_s": 0.0}
    started = time.perf_counter()
    for number, tenant in enumerate(tenants):
        with tenant_context(tenant):
            for key, seconds in _tenant_seed(
                tenant, number=number, size=size, rng=rng, now=now
            ).items():
                timings[key] += seconds
        if progress and (number + 1) % 50 == 0:
            print(f"  directory: {number + 1}/{len(tenants)} businesses", flush=True)  # noqa: T201
    # Live (without tenant_live_mark's signal: each would queue a rebuild task) ...
    Tenant.objects.filter(pk__in=[t.pk for t in tenants], live_at__isnull=True).update(live_at=now)
    seeded_s = time.perf_counter() - started

    # ... then indexed by the real indexer, business by business.
    started = time.perf_counter()
    entries = 0
    for tenant in Tenant.objects.filter(pk__in=[t.pk for t in tenants]).order_by("slug"):
        with tenant_context(tenant):
            entries += directory_index_rebuild(tenant=tenant)
    index_s = time.perf_counter() - started
    if progress:
        print(f"  directory: {entries} index entries in {index_s:.0f} s", flush=True)  # noqa: T201
    return {
        "version": DIRECTORY_SEED_VERSION,
        "size": asdict(size),
        "counts": {
            "listed_tenants": len(tenants),
            "listings": entries,
            "reviews": size.total_reviews,
        },
        "timings": {
            **{f"directory_{key}": round(value, 1) for key, value in timings.items()},
            "directory_seed_s": round(seeded_s, 1),
            "directory_index_s": round(index_s, 1),
        },
    }


def directory_part_matches(part: Any, size: DirectorySize) -> bool:
    return (
        isinstance(part, dict)
        and part.get("version") == DIRECTORY_SEED_VERSION
        and part.get("size") == asdict(size)
    )
