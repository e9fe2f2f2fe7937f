"""Every bad input of the review link and form gets a clear answer and loses nothing: a
link for another business's booking, an expired or altered link, a second review, a
change after the 14 days, a rating out of range, a comment too long or with a link."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.reviews.links import review_token
from apps.reviews.models import Review
from apps.reviews.services import review_create
from tests.reviews.conftest import Place, completed_booking, place_create

HOST = "acme.localhost"


@pytest.fixture
def client(new_address: Any) -> Client:
    return Client(HTTP_HOST=HOST, REMOTE_ADDR=new_address())


def _path(booking: Booking, *, schema: str = "t_acme", now: dt.datetime | None = None) -> str:
    return f"/review/{review_token(booking_id=booking.pk, schema=schema, now=now)}/"


def test_a_review_link_for_another_business_is_refused_clearly(
    client: Client, place: Place, globex: Tenant
) -> None:
    # given a genuine link to a completed booking of globex
    with tenant_context(globex):
        theirs = completed_booking(place_create(globex, listed=False))
        token_path = _path(theirs, schema=globex.schema_name)
    # when it is opened (and posted) on acme's domain
    page = client.get(token_path)
    posted = client.post(token_path, {"intent": "create", "rating": "1"})
    # then it opens nothing here, and says why
    assert page.status_code == posted.status_code == 404
    assert "This review link is for another business" in page.content.decode()
    with tenant_context(globex):
        assert not Review.objects.filter(booking_id=theirs.pk).exists()


def test_an_expired_review_link_says_so(client: Client, place: Place) -> None:
    booking = completed_booking(place)
    path = _path(booking, now=timezone.now() - dt.timedelta(days=31))
    response = client.get(path)
    assert response.status_code == 410
    assert "This review link has expired" in response.content.decode()
    assert client.post(path, {"intent": "create", "rating": "5"}).status_code == 410
    assert not Review.objects.filter(booking=booking).exists()


def _altered(token: str, **changes: object) -> str:
    encoded, *signed = token.split(":")
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    payload.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return ":".join([body.decode().rstrip("="), *signed])


@pytest.mark.parametrize("kind", ["altered", "cut", "manage_link", "garbage"])
def test_a_broken_review_link_is_not_valid(client: Client, place: Place, kind: str) -> None:
    from apps.bookings.access_tokens import booking_access_token

    booking = completed_booking(place)
    token = review_token(booking_id=booking.pk, schema="t_acme")
    broken = {
        "altered": _altered(token, e=int((timezone.now() + dt.timedelta(days=999)).timestamp())),
        "cut": token[:-6],
        "manage_link": booking_access_token(booking_id=booking.pk),
        "garbage": "x" * 600,
    }[kind]
    response = client.get(f"/review/{broken}/")
    assert response.status_code == 404
    assert "This review link is not valid" in response.content.decode()


def test_a_second_review_is_refused_and_keeps_what_was_typed(client: Client, place: Place) -> None:
    # given a review written (in another tab, or a second press)
    booking = completed_booking(place)
    review_create(booking_id=booking.pk, rating=4, comment="Good.")
    # when a form to write one is sent again
    response = client.post(
        _path(booking), {"intent": "create", "rating": "1", "comment": "Second thoughts"}
    )
    # then it is refused, saying why; the first stands; the text typed is still there
    html = response.content.decode()
    assert response.status_code == 409
    assert "You have already reviewed this visit: one review per booking." in html
    assert "Second thoughts" in html
    assert Review.objects.get(booking=booking).rating == 4
    assert Review.objects.filter(booking=booking).count() == 1


def test_a_review_is_changed_within_14_days_and_never_after(client: Client, place: Place) -> None:
    booking = completed_booking(place)
    review_create(booking_id=booking.pk, rating=2, comment="Late start.")
    # within the 14 days its author changes it
    assert client.get(_path(booking)).status_code == 200
    changed = client.post(_path(booking), {"intent": "edit", "rating": "4", "comment": "Fine."})
    assert changed.status_code == 302
    assert Review.objects.get(booking=booking).rating == 4

    # given another review written 15 days ago
    older = completed_booking(place, name="Old Timer", days_ago=20)
    review_create(
        booking_id=older.pk, rating=3, comment="Kept.", now=timezone.now() - dt.timedelta(days=15)
    )
    # when its author tries to change it with a link that still works
    page = client.get(_path(older))
    response = client.post(_path(older), {"intent": "edit", "rating": "5", "comment": "Changed"})
    # then the page shows it read-only, and a change is refused
    assert page.status_code == 200 and "can no longer be changed" in page.content.decode()
    assert response.status_code == 409
    assert "the 14 days are over" in response.content.decode()
    assert Review.objects.get(booking=older).comment == "Kept."


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "rating", "Choose a rating from 1 to 5."),
        ({"rating": "0"}, "rating", "Choose a rating from 1 to 5."),
        ({"rating": "6"}, "rating", "Choose a rating from 1 to 5."),
        ({"rating": "five"}, "rating", "Choose a rating from 1 to 5."),
        ({"rating": "5", "comment": "x" * 2001}, "comment", "2000 characters"),
        ({"rating": "5", "comment": "Cheap pills at www.example.com"}, "comment", "web addresses"),
        # the same, written to slip past a plain search
        ({"rating": "5", "comment": "Cheap pills at cheap-pills.com"}, "comment", "web addresses"),
        ({"rating": "5", "comment": "Cheap pills: pills.ru/buy now"}, "comment", "web addresses"),
        ({"rating": "5", "comment": "Cheap pills: hxxps://pills.example"}, "comment", "web"),
        (
            {"rating": "5", "comment": "Cheap pills at \uff57\uff57\uff57\uff0epills\uff0eru"},
            "comment",
            "web",
        ),
        ({"rating": "5", "comment": "Cheap pills at ww\u200bw.pills.ru"}, "comment", "web"),
        ({"rating": "5", "comment": "Write to me: pills@example.org"}, "comment", "web"),
    ],
)
def test_bad_review_input_gets_field_errors_and_keeps_the_text(
    client: Client, place: Place, data: dict[str, str], field: str, message: str
) -> None:
    booking = completed_booking(place)
    response = client.post(_path(booking), {"intent": "create", "comment": "", **data})
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    if data.get("comment"):
        assert data["comment"][:12] in html
    assert not Review.objects.filter(booking=booking).exists()


def test_a_booking_that_did_not_take_place_cannot_be_reviewed(client: Client, place: Place) -> None:
    from tests.dashboard.factories import booking_row

    booking = booking_row(
        service=place.service,
        resource=place.resource,
        starts_at=timezone.now() + dt.timedelta(days=3),
    )
    response = client.get(_path(booking))
    assert response.status_code == 409
    assert "Only a visit that took place can be reviewed." in response.content.decode()


def test_review_posts_are_rate_limited(
    client: Client, place: Place, settings: Any, complete: Callable[..., Booking]
) -> None:
    from tests.booking_site.catalogue import generous_rates

    settings.REST_FRAMEWORK = generous_rates(review_write="2/min")
    booking = complete()
    for _ in range(2):
        client.post(_path(booking), {"intent": "create", "rating": "9"})
    response = client.post(_path(booking), {"intent": "create", "rating": "5"})
    assert response.status_code == 429 and response["Retry-After"]


def test_reviews_page_of_an_unknown_person_is_not_found(client: Client, place: Place) -> None:
    for value in ["nonsense", "01a25082-0000-7000-8000-000000000000"]:
        assert client.get("/reviews/", {"resource": value}).status_code == 404


def test_provider_reviews_api_answers_bad_input_in_the_envelope(
    place: Place, new_address: Any
) -> None:
    from apps.directory.index.models import DirectoryEntry

    root = Client(HTTP_HOST="localhost", REMOTE_ADDR=new_address())
    provider = DirectoryEntry.objects.get(tenant=place.tenant).pk
    url = f"/api/v1/directory/providers/{provider}/reviews"
    # a page that is no page: 400 naming the field
    response = root.get(url, {"page": "0"})
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]
    assert detail["field"] == "page"
    # an unknown provider, or no id at all: 404 in the envelope
    for path in [
        "/api/v1/directory/providers/01a25082-0000-7000-8000-000000000000/reviews",
        "/api/v1/directory/providers/not-an-id/reviews",
    ]:
        missing = root.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    # a business that is not serving: its provider is not found either
    place.tenant.status = "suspended"
    place.tenant.save(update_fields=["status"])
    assert root.get(url).status_code == 404


def test_ordinary_comments_are_not_mistaken_for_links(client: Client, place: Place) -> None:
    # given punctuation and scripts a visit's comment uses, and characters that turn
    # text around (a right-to-left override) or hide in it (a zero-width space)
    booking = completed_booking(place)
    comment = "Dr.Smith was great.Thanks, 10/10, e.g. my knee 👍🏽 — Ça va\u202e!\u200b"
    # when it is published
    response = client.post(_path(booking), {"intent": "create", "rating": "5", "comment": comment})
    # then it is kept, without the invisible characters
    assert response.status_code == 302
    assert Review.objects.get(booking=booking).comment == (
        "Dr.Smith was great.Thanks, 10/10, e.g. my knee 👍🏽 — Ça va!"
    )
