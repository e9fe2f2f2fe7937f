"""Reads for customers and bookings (the tenant is the connection's schema)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext

from apps.bookings import pii
from apps.bookings.models import Booking, BookingEvent, Customer
from apps.core.entitlements import month_started_at
from apps.core.errors import NotFound, ValidationFailed


def booking_get(*, booking_id: uuid.UUID | str) -> Booking:
    """The booking with its service, resource (and location) and customer; NotFound for
    an unknown or malformed id, so a bad id in a URL is a 404, not a 500."""
    try:
        return Booking.objects.select_related("service", "resource__location", "customer").get(
            pk=booking_id
        )
    except (Booking.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound(gettext("No such booking.")) from exc


def series_occurrences(*, booking: Booking) -> list[Booking]:
    """Every occurrence of the series `booking` belongs to, earliest first (none when
    it belongs to no series)."""
    if booking.series_id is None:
        return []
    return list(
        Booking.objects.filter(series_id=booking.series_id)
        .select_related("series")
        .order_by("starts_at", "pk")
    )


def booking_list(
    *,
    status: str | None = None,
    resource_id: uuid.UUID | str | None = None,
    customer_email: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> QuerySet[Booking]:
    """Bookings in start order; every filter is optional. `customer_email` matches by
    the keyed hash of the normalized address (an invalid address matches nothing)."""
    bookings = Booking.objects.select_related("service", "resource", "customer").order_by(
        "starts_at", "pk"
    )
    if status:
        bookings = bookings.filter(status=status)
    if resource_id:
        bookings = bookings.filter(resource_id=resource_id)
    if starts_from:
        bookings = bookings.filter(starts_at__gte=starts_from)
    if starts_before:
        bookings = bookings.filter(starts_at__lt=starts_before)
    if customer_email is not None:
        customer = customer_find_by_email(email=customer_email)
        bookings = bookings.filter(customer=customer) if customer else bookings.none()
    return bookings


def booking_events(*, booking: Booking) -> QuerySet[BookingEvent]:
    """The booking's history, oldest first."""
    return BookingEvent.objects.filter(booking=booking).order_by("created_at", "id")


def customer_get(*, customer_id: uuid.UUID | str) -> Customer:
    """NotFound for an unknown or malformed id (a 404, not a 500)."""
    try:
        return Customer.objects.get(pk=customer_id)
    except (Customer.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound(gettext("No such customer.")) from exc


def customer_bookings(*, customer: Customer) -> QuerySet[Booking]:
    """Every booking made for the customer, in start order."""
    return (
        Booking.objects.filter(customer=customer)
        .select_related("service", "resource__location")
        .order_by("starts_at", "pk")
    )


def customer_future_bookings(*, customer: Customer, now: datetime) -> QuerySet[Booking]:
    """The customer's held or confirmed bookings that start after `now`: what erasing
    the customer cancels."""
    return customer_bookings(customer=customer).filter(
        status__in=Booking.ACTIVE_STATUSES, starts_at__gt=now
    )


def customer_find_by_email(*, email: str) -> Customer | None:
    try:
        normalized = pii.email_normalize(email)
    except ValidationFailed:
        return None
    return Customer.objects.filter(email_hash=pii.lookup_hash(normalized)).first()


def customer_find_by_phone(*, phone: str) -> Customer | None:
    try:
        normalized = pii.phone_normalize(phone)
    except ValidationFailed:
        return None
    if not normalized:
        return None
    return Customer.objects.filter(phone_hash=pii.lookup_hash(normalized)).order_by("pk").first()


CUSTOMER_SEARCH_LIMIT = 10
_PHONE_CHARACTERS = frozenset("+0123456789 ()-.")


def customers_search(*, query: str, limit: int = CUSTOMER_SEARCH_LIMIT) -> list[Customer]:
    """Customers staff may book for (erased ones never): by exact email or exact phone,
    through their lookup hashes (nothing is decrypted to search), or by the start of the
    name (names are kept in clear for this; case-insensitive), in name order."""
    query = " ".join(query.split())
    if not query:
        return []
    found: Customer | None
    if "@" in query:
        found = customer_find_by_email(email=query)
        return [found] if found is not None and found.erased_at is None else []
    if query.startswith("+") and set(query) <= _PHONE_CHARACTERS:
        found = customer_find_by_phone(phone=query)
        return [found] if found is not None and found.erased_at is None else []
    return list(
        Customer.objects.filter(erased_at__isnull=True, name__istartswith=query).order_by(
            "name", "pk"
        )[:limit]
    )


def holds_next_expiry() -> datetime | None:
    """When the next live hold lapses (the sweeper's next due time), or None."""
    expiry: datetime | None = (
        Booking.objects.filter(status=Booking.Status.HELD)
        .order_by("hold_expires_at")
        .values_list("hold_expires_at", flat=True)
        .first()
    )
    return expiry


def bookings_this_month() -> int:
    """What the plan's monthly allowance counts: bookings made since the month began
    (holds that lapsed are not bookings)."""
    return (
        Booking.objects.filter(created_at__gte=month_started_at())
        .exclude(status=Booking.Status.EXPIRED)
        .count()
    )
