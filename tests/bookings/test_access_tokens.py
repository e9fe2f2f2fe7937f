"""Customer access tokens: one scheme for the manage link and the API's booking token,
bound to one booking in one business; the forms sent before the schemes merged keep
working until they expire."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.core import signing
from django_tenants.utils import tenant_context

from apps.bookings.access_tokens import (
    LEGACY_API_SALT,
    LEGACY_PAGE_SALT,
    LEGACY_TOKEN_MAX_AGE,
    SALT,
    booking_access_read,
    booking_access_token,
)
from apps.resources.services import MAX_HORIZON_DAYS

pytestmark = pytest.mark.django_db


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


SURFACES = ["pages", "api"]


@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_names_its_booking_in_its_business(acme, surface):
    booking_id = uuid.uuid4()

    token = booking_access_token(booking_id=booking_id)

    assert booking_access_read(token, surface=surface) == booking_id


@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_of_one_business_opens_nothing_in_another(acme, globex, surface):
    token = booking_access_token(booking_id=uuid.uuid4())
    named = booking_access_token(booking_id=uuid.uuid4(), schema=globex.schema_name)

    with tenant_context(globex):
        assert booking_access_read(token, surface=surface) is None
    assert booking_access_read(named, surface=surface) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda schema: "",
        lambda schema: "x" * 600,
        lambda schema: "not-a-token",
        lambda schema: signing.dumps({"b": str(uuid.uuid4()), "s": schema}, salt="password-reset"),
        lambda schema: signing.dumps({"b": "not-a-uuid", "s": schema}, salt=SALT),
        lambda schema: signing.dumps(["a", "list"], salt=SALT),
    ],
    ids=["empty", "too-long", "garbage", "other-salt", "not-a-uuid", "not-a-mapping"],
)
@pytest.mark.parametrize("surface", SURFACES)
def test_access_token_refuses_what_it_did_not_make(acme, make, surface):
    assert booking_access_read(make(acme.schema_name), surface=surface) is None


def test_old_manage_link_token_still_opens_its_booking_on_the_pages_only(acme):
    booking_id = uuid.uuid4()
    legacy = signing.dumps(str(booking_id), salt=LEGACY_PAGE_SALT)

    assert booking_access_read(legacy, surface="pages") == booking_id
    # the API never took this form and does not start to
    assert booking_access_read(legacy, surface="api") is None


def test_old_api_booking_token_still_opens_its_booking_in_the_api_only(acme, globex):
    booking_id = uuid.uuid4()
    legacy = signing.dumps(
        {"b": str(booking_id), "s": acme.schema_name}, salt=LEGACY_API_SALT, compress=False
    )

    assert booking_access_read(legacy, surface="api") == booking_id
    assert booking_access_read(legacy, surface="pages") is None
    with tenant_context(globex):
        assert booking_access_read(legacy, surface="api") is None


def test_old_tokens_outlive_every_booking_they_can_name():
    # the furthest a service may take bookings, plus a year of moving them later
    assert dt.timedelta(days=MAX_HORIZON_DAYS + 365) <= LEGACY_TOKEN_MAX_AGE


def test_old_tokens_stop_working_once_they_expire(acme, monkeypatch):
    booking_id = uuid.uuid4()
    too_old = LEGACY_TOKEN_MAX_AGE.total_seconds() + 60
    old_page = _made_ago(
        monkeypatch, too_old, lambda: signing.dumps(str(booking_id), salt=LEGACY_PAGE_SALT)
    )
    old_api = _made_ago(
        monkeypatch,
        too_old,
        lambda: signing.dumps({"b": str(booking_id), "s": acme.schema_name}, salt=LEGACY_API_SALT),
    )
    recent_page = _made_ago(
        monkeypatch, too_old - 3600, lambda: signing.dumps(str(booking_id), salt=LEGACY_PAGE_SALT)
    )
    current = _made_ago(monkeypatch, too_old, lambda: booking_access_token(booking_id=booking_id))

    assert booking_access_read(old_page, surface="pages") is None
    assert booking_access_read(old_api, surface="api") is None
    assert booking_access_read(recent_page, surface="pages") == booking_id
    # The merged scheme's own tokens do not expire: a customer may cancel weeks later.
    assert booking_access_read(current, surface="pages") == booking_id
    assert booking_access_read(current, surface="api") == booking_id
