"""The whole path: a booking marked completed → the review request (email and text) with
its signed link → the review page → the review shown with "verified booking", the
service, the month and the author's first name and initial, on the business's pages,
in `/find/` and the API, with the averages computed again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.test import Client
from django.utils import timezone

from apps.bookings.models import Booking
from apps.bookings.services import booking_mark_no_show
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.notifications.messages.content import message_facts, sms_text
from apps.notifications.messages.emails import notification_email
from apps.notifications.models import Notification, NotificationPreference
from apps.reviews.models import Review
from tests.dashboard.factories import booking_row
from tests.reviews.conftest import STAFF, Place

HOST = "acme.localhost"


def _review_path(booking: Booking) -> str:
    (row,) = Notification.objects.filter(
        booking=booking, kind=Notification.Kind.REVIEW_REQUEST, channel="email"
    )
    url = str(row.details["url"])
    assert url.startswith("http://acme.localhost/review/")
    return url.removeprefix("http://acme.localhost")


def test_completed_booking_to_a_review_shown_everywhere_with_averages(
    place: Place, complete: Callable[..., Booking], new_address: Any
) -> None:
    # given two completed bookings (one reviewed already, 3 stars)
    first = complete(name="Maria Sanchez Lopez")
    other = complete(name="Tom Baker")
    client = Client(HTTP_HOST=HOST, REMOTE_ADDR=new_address())
    assert client.post(_review_path(other), {"intent": "create", "rating": "3"}).status_code == 302

    # when the first customer follows their link and rates 5 with a comment
    path = _review_path(first)
    page = client.get(path)
    assert page.status_code == 200
    assert 'name="rating"' in page.content.decode()
    response = client.post(
        path, {"intent": "create", "rating": "5", "comment": "Fixed my shoulder in one visit."}
    )

    # then it is saved, and the page says so
    assert response.status_code == 302
    assert "your review is saved" in client.get(response["Location"]).content.decode()
    review = Review.objects.get(booking=first)
    assert (review.rating, review.author_name) == (5, "Maria L.")
    # the directory is asked to rebuild the business's rows (the outbox row)
    assert DirectoryRefresh.objects.filter(tenant=place.tenant, status="pending").exists()

    # when the worker rebuilds them
    directory_index_rebuild(tenant=place.tenant)

    # then the averages are PostgreSQL's over the shown reviews
    entry = DirectoryEntry.objects.get(tenant=place.tenant, resource_id=place.resource.pk)
    assert (entry.rating_average, entry.rating_count) == (Decimal("4.00"), 2)
    month = first.starts_at.strftime("%Y-%m")
    assert entry.latest_reviews[0]["author"] == "Maria L."
    assert entry.latest_reviews[0]["month"] == month
    assert entry.latest_reviews[0]["verified"] is True
    # /find/ shows them with the verified badge, the service, the month, first name + initial
    root = Client(HTTP_HOST="localhost", REMOTE_ADDR=new_address())
    html = root.get("/find/", {"q": "Anna"}).content.decode()
    assert "4.00 / 5 (2)" in html
    assert "Verified booking" in html and "Sports massage" in html and "Maria L." in html
    assert first.starts_at.strftime("%B %Y") in html
    assert "Sanchez" not in html
    assert f"http://acme.localhost/reviews/?resource={place.resource.pk}" in html
    # the API: the provider's aggregates, and its reviews
    (provider,) = root.get("/api/v1/directory/providers", {"q": "Anna"}).json()["data"]
    assert (provider["rating_average"], provider["rating_count"]) == ("4.00", 2)
    assert [r["author"] for r in provider["latest_reviews"]] == ["Maria L.", "Tom B."]
    body = root.get(f"/api/v1/directory/providers/{provider['id']}/reviews").json()
    assert body["pagination"]["total"] == 2
    assert body["data"][0] | {"id": None, "created_at": None} == {
        "id": None,
        "rating": 5,
        "comment": "Fixed my shoulder in one visit.",
        "author": "Maria L.",
        "service": "Sports massage",
        "month": month,
        "verified": True,
        "reply": "",
        "created_at": None,
    }
    # the business's own pages
    home = Client(HTTP_HOST=HOST, REMOTE_ADDR=new_address())
    assert "Rated 4.0 out of 5 · 2 reviews" in home.get("/").content.decode()
    listing = home.get("/reviews/").content.decode()
    assert "Verified booking" in listing and "Fixed my shoulder" in listing
    theirs = home.get("/reviews/", {"resource": str(place.resource.pk)}).content.decode()
    assert "Reviews of Anna Berg at" in theirs and "4.0 out of 5 from 2 reviews" in theirs


def test_review_request_goes_by_email_and_text_with_the_link(
    place: Place, complete: Callable[..., Booking]
) -> None:
    # given a business that sends texts (the default), and a customer with a phone
    booking = complete(phone="+447700900123")
    # when the messages are written
    rows = Notification.objects.filter(booking=booking, kind=Notification.Kind.REVIEW_REQUEST)
    email_row, sms_row = rows.get(channel="email"), rows.get(channel="sms")
    facts = message_facts(notification=email_row, tenant=place.tenant)
    message = notification_email(facts=facts, recipient="maria@example.test")
    # then the email carries the signed link, and no calendar invitation
    assert "How was your Sports massage?" in message.subject
    assert str(email_row.details["url"]) in message.body
    assert not message.attachments
    text = sms_text(message_facts(notification=sms_row, tenant=place.tenant))
    assert "how was your Sports massage" in text
    assert "Rate it: http://acme.localhost/review/" in text
    # and texts switched off: email only
    NotificationPreference.objects.update_or_create(pk=1, defaults={"sms_enabled": False})
    later = complete(phone="+447700900124", name="Lee Chan")
    channels = Notification.objects.filter(booking=later, kind="review_request")
    assert list(channels.values_list("channel", flat=True)) == ["email"]


def test_a_no_show_gets_no_review_request(place: Place) -> None:
    starts_at = timezone.now() - dt.timedelta(days=1)
    booking = booking_row(service=place.service, resource=place.resource, starts_at=starts_at)
    booking_mark_no_show(booking=booking, actor=STAFF)
    assert not Notification.objects.filter(booking=booking, kind="review_request").exists()


def test_review_lists_cost_the_same_queries_for_one_review_or_many(
    place: Place, complete: Callable[..., Booking], new_address: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.core.tenancy import use_tenant
    from apps.reviews.services import review_create

    root = Client(HTTP_HOST="localhost", REMOTE_ADDR=new_address())
    home = Client(HTTP_HOST=HOST, REMOTE_ADDR=new_address())

    def costs() -> list[int]:
        directory_index_rebuild(tenant=place.tenant)
        provider = DirectoryEntry.objects.get(tenant=place.tenant).pk
        counts = []
        for client, path in [
            (home, "/reviews/"),
            (root, "/find/?q=Anna"),
            (root, f"/api/v1/directory/providers/{provider}/reviews"),
        ]:
            client.get(path)  # the host's business is cached after its first request
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            counts.append(len(queries))
        use_tenant(place.tenant)  # the root domain's requests left it in public
        return counts

    review_create(booking_id=complete(name="One Person").pk, rating=4, comment="Fine.")
    one = costs()
    for n in range(4):
        review_create(booking_id=complete(name=f"Person {n}").pk, rating=5, comment="Good.")
    assert costs() == one
