"""Customer access tokens: one scheme for the manage link and the API's booking token,
bound to one booking in one business, signed with its expiry (the booking's end plus
BOOKING_LINK_GRACE_DAYS); tokens made before they carried one are honoured on the same
terms."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid

import pytest
from django.core import signing
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.bookings.access_tokens import (
    LEGACY_API_SALT,
    LEGACY_PAGE_SALT,
    LEGACY_TOKEN_MAX_AGE,
    SALT,
    booking_access_read,
    booking_access_token,
)
from apps.bookings.errors import BookingLinkExpired
from apps.bookings.models import Booking
from apps.resources.services import MAX_HORIZON_DAYS
from tests.notifications.factories import BookingFactory

pytestmark = pytest.mark.django_db

SURFACES = ["pages", "api"]
GRACE = dt.timedelta(days=30)


def _made_ago(monkeypatch, seconds: float, make):
    """A token made `seconds` ago (signing stamps tokens with time.time())."""
    real_time = time.time
    now = real_time()
    # signing reads the clock of the time module: put it back before returning.
    monkeypatch.setattr(time, "time", lambda: now - seconds)
    try:
        return make()
    finally:
        monkeypatch.setattr(time, "time", real_time)


def _ending(at: dt.datetime) -> Booking:
    return BookingFactory.create(starts_at=at - dt.timedelta(minutes=30), ends_at=at)


def _payload(token: str) -> dict:
    encoded = token.split(":")[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def _with_payload(token: str, payload: dict) -> str:
    """The token with another payload and the original signature (a forgery attempt)."""
    encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return ":".join([encoded.decode().rstrip("="), *token.split(":")[1:]])


@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_names_its_booking_in_its_business(acme, surface):
    booking = _ending(timezone.now() + dt.timedelta(days=3))

    token = booking_access_token(booking_id=booking.pk)

    assert booking_access_read(token, surface=surface) == booking.pk


@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_carries_its_business_and_the_bookings_end_plus_the_grace(
    acme, settings, surface
):
    settings.BOOKING_LINK_GRACE_DAYS = 30
    ends_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    booking = _ending(ends_at)

    token = booking_access_token(booking_id=booking.pk, ends_at=booking.ends_at)

    assert _payload(token) == {
        "b": str(booking.pk),
        "s": acme.schema_name,
        "e": int((ends_at + GRACE).timestamp()),
    }
    # the same token made without the end reads it from the booking
    assert _payload(booking_access_token(booking_id=booking.pk)) == _payload(token)
    with pytest.raises(Booking.DoesNotExist):
        booking_access_token(booking_id=uuid.uuid4())


@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_opens_its_booking_until_the_grace_after_its_end(acme, settings, surface):
    settings.BOOKING_LINK_GRACE_DAYS = 30
    ends_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    token = booking_access_token(booking_id=_ending(ends_at).pk)

    # travelling in time: the day after the visit, and a second before the grace is over
    for now in (ends_at + dt.timedelta(days=1), ends_at + GRACE - dt.timedelta(seconds=1)):
        assert booking_access_read(token, surface=surface, now=now) is not None
    for now in (ends_at + GRACE, ends_at + GRACE + dt.timedelta(days=400)):
        with pytest.raises(BookingLinkExpired) as caught:
            booking_access_read(token, surface=surface, now=now)
        assert (caught.value.code, caught.value.http_status) == ("BOOKING_LINK_EXPIRED", 410)


def test_access_token_follows_its_booking_moved_later(acme):
    ends_at = timezone.now() + dt.timedelta(days=3)
    booking = _ending(ends_at)
    token = booking_access_token(booking_id=booking.pk)
    later = ends_at + dt.timedelta(days=60)
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=later - dt.timedelta(minutes=30), ends_at=later
    )

    # past the expiry it carries, the booking's new end decides
    assert booking_access_read(token, surface="pages", now=ends_at + GRACE) == booking.pk
    with pytest.raises(BookingLinkExpired):
        booking_access_read(token, surface="pages", now=later + GRACE)


def test_access_token_of_a_booking_long_over_is_expired(acme):
    booking = _ending(timezone.now() - GRACE - dt.timedelta(minutes=1))
    token = booking_access_token(booking_id=booking.pk)

    for surface in SURFACES:
        with pytest.raises(BookingLinkExpired):
            booking_access_read(token, surface=surface)


@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_of_one_business_opens_nothing_in_another(acme, globex, surface):
    token = booking_access_token(booking_id=_ending(timezone.now() + dt.timedelta(days=3)).pk)
    with tenant_context(globex):
        theirs = _ending(timezone.now() + dt.timedelta(days=3))
        named = booking_access_token(booking_id=theirs.pk)
    # made from elsewhere (as the link builders may be), it reads the booking over there
    assert _payload(booking_access_token(booking_id=theirs.pk, schema=globex.schema_name)) == (
        _payload(named)
    )

    with tenant_context(globex):
        assert booking_access_read(token, surface=surface) is None
    assert booking_access_read(named, surface=surface) is None
    # nor does an expired one say "expired" elsewhere: it names nothing there
    with tenant_context(globex):
        assert booking_access_read(token, surface=surface, now=timezone.now() + 2 * GRACE) is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: {**p, "e": p["e"] + 365 * 86400}, id="later-expiry"),
        pytest.param(lambda p: {**p, "s": "globex"}, id="other-business"),
        pytest.param(lambda p: {**p, "b": str(uuid.uuid4())}, id="other-booking"),
        pytest.param(lambda p: {"b": p["b"], "s": p["s"]}, id="expiry-removed"),
    ],
)
def test_access_token_altered_in_any_part_is_refused(acme, change):
    # given the genuine token of a booking whose links have expired
    booking = _ending(timezone.now() - GRACE - dt.timedelta(days=1))
    token = booking_access_token(booking_id=booking.pk)
    with pytest.raises(BookingLinkExpired):
        booking_access_read(token, surface="pages")

    # when its holder changes what it says (a later expiry, above all)
    forged = _with_payload(token, change(_payload(token)))

    # then it is no token at all: not expired, not valid
    assert forged != token
    for surface in SURFACES:
        assert booking_access_read(forged, surface=surface) is None
        assert booking_access_read(token[:-2] + "xx", surface=surface) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda schema: "",
        lambda schema: "x" * 600,
        lambda schema: "not-a-token",
        lambda schema: signing.dumps({"b": str(uuid.uuid4()), "s": schema}, salt="password-reset"),
        lambda schema: signing.dumps({"b": "not-a-uuid", "s": schema, "e": 2**31}, salt=SALT),
        lambda schema: signing.dumps({"b": str(uuid.uuid4()), "s": schema, "e": "x"}, salt=SALT),
        lambda schema: signing.dumps({"b": str(uuid.uuid4()), "s": schema, "e": 10**20}, salt=SALT),
        lambda schema: signing.dumps(["a", "list"], salt=SALT),
    ],
    ids=[
        "empty",
        "too-long",
        "garbage",
        "other-salt",
        "not-a-uuid",
        "expiry-not-a-number",
        "expiry-out-of-range",
        "not-a-mapping",
    ],
)
@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_refuses_what_it_did_not_make(acme, make, surface):
    assert booking_access_read(make(acme.schema_name), surface=surface) is None


# --- tokens made before they carried an expiry -----------------------------------------


@pytest.mark.parametrize("surface", SURFACES)
def test_token_without_expiry_opens_its_booking_until_the_grace_after_its_end(acme, surface):
    ends_at = timezone.now() + dt.timedelta(days=3)
    booking = _ending(ends_at)
    unexpiring = signing.dumps(
        {"b": str(booking.pk), "s": acme.schema_name}, salt=SALT, compress=False
    )

    assert booking_access_read(unexpiring, surface=surface) == booking.pk
    with pytest.raises(BookingLinkExpired):
        booking_access_read(unexpiring, surface=surface, now=ends_at + GRACE)
    # and one naming no booking here opens nothing
    nothing = signing.dumps({"b": str(uuid.uuid4()), "s": acme.schema_name}, salt=SALT)
    assert booking_access_read(nothing, surface=surface) is None


def test_old_manage_link_token_opens_its_booking_on_the_pages_only(acme, globex):
    ends_at = timezone.now() + dt.timedelta(days=3)
    booking = _ending(ends_at)
    legacy = signing.dumps(str(booking.pk), salt=LEGACY_PAGE_SALT)

    assert booking_access_read(legacy, surface="pages") == booking.pk
    # the API never took this form and does not start to
    assert booking_access_read(legacy, surface="api") is None
    # it names no business, but its booking is looked up in this business only
    with tenant_context(globex):
        assert booking_access_read(legacy, surface="pages") is None
    with pytest.raises(BookingLinkExpired):
        booking_access_read(legacy, surface="pages", now=ends_at + GRACE)


def test_old_api_booking_token_opens_its_booking_in_the_api_only(acme, globex):
    ends_at = timezone.now() + dt.timedelta(days=3)
    booking = _ending(ends_at)
    legacy = signing.dumps(
        {"b": str(booking.pk), "s": acme.schema_name}, salt=LEGACY_API_SALT, compress=False
    )

    assert booking_access_read(legacy, surface="api") == booking.pk
    assert booking_access_read(legacy, surface="pages") is None
    with tenant_context(globex):
        assert booking_access_read(legacy, surface="api") is None
    with pytest.raises(BookingLinkExpired):
        booking_access_read(legacy, surface="api", now=ends_at + GRACE)


def test_old_tokens_outlive_every_booking_they_can_name():
    # the furthest a service may take bookings, plus a year of moving them later
    assert dt.timedelta(days=MAX_HORIZON_DAYS + 365) <= LEGACY_TOKEN_MAX_AGE


def test_old_forms_also_stop_once_they_are_too_old(acme, monkeypatch):
    booking = _ending(timezone.now() + dt.timedelta(days=3))
    too_old = LEGACY_TOKEN_MAX_AGE.total_seconds() + 60
    old_page = _made_ago(
        monkeypatch, too_old, lambda: signing.dumps(str(booking.pk), salt=LEGACY_PAGE_SALT)
    )
    old_api = _made_ago(
        monkeypatch,
        too_old,
        lambda: signing.dumps({"b": str(booking.pk), "s": acme.schema_name}, salt=LEGACY_API_SALT),
    )
    recent_page = _made_ago(
        monkeypatch, too_old - 3600, lambda: signing.dumps(str(booking.pk), salt=LEGACY_PAGE_SALT)
    )

    assert booking_access_read(old_page, surface="pages") is None
    assert booking_access_read(old_api, surface="api") is None
    assert booking_access_read(recent_page, surface="pages") == booking.pk
