"""A customer's reviews in their data export; erasing the customer anonymises them (name
and comment gone, rating kept) and the directory's copy follows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.bookings.actors import ActorRef
from apps.bookings.customer_data import customer_erase, customer_export
from apps.bookings.models import Booking
from apps.bookings.services import booking_mark_completed
from apps.core.errors import NotFound
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.reviews.links import review_token
from apps.reviews.models import Review
from apps.reviews.services import (
    review_create,
    review_hide,
    review_reply,
    review_report,
    review_unhide,
)
from tests.dashboard.factories import booking_row
from tests.reviews.conftest import Place

ADMIN = ActorRef.staff("00000000-0000-7000-8000-0000000000ab", label="Admin")


def test_reviews_are_exported_with_the_customers_data(complete: Callable[..., Booking]) -> None:
    booking = complete(name="Maria Sanchez")
    review_create(booking_id=booking.pk, rating=5, comment="Lovely.")

    document = customer_export(customer=booking.customer)

    (row,) = document["reviews"]
    assert row["booking_id"] == str(booking.pk)
    assert (row["rating"], row["comment"], row["shown_as"]) == (5, "Lovely.", "Maria S.")
    assert row["service"] == "Sports massage" and row["hidden"] is False


def test_erasing_a_customer_anonymises_their_reviews_everywhere(
    place: Place, complete: Callable[..., Booking]
) -> None:
    booking = complete(name="Maria Sanchez")
    review = review_create(booking_id=booking.pk, rating=4, comment="My knee is better, Maria")
    review_reply(review_id=review.pk, text="Glad to help, Maria Sanchez!", user_id=None)
    review_report(review_id=review.pk, reason="Maria Sanchez is not a client", user_id=None)
    review_hide(review_id=review.pk, reason="Maria Sanchez asked by phone", user_id=None)
    review_unhide(review_id=review.pk, reason="Checked with maria sanchez", user_id=None)
    directory_index_rebuild(tenant=place.tenant)
    DirectoryRefresh.objects.all().delete()

    customer_erase(customer=booking.customer, actor=ADMIN, reason="GDPR request 7")

    review.refresh_from_db()
    assert (review.author_name, review.comment) == ("", "")
    assert review.rating == 4 and review.anonymised_at is not None
    assert "Maria" not in review.reply and "Sanchez" not in review.reply
    # and so are staff's notes about it (the report's and the hiding's reasons)
    assert "Maria" not in review.report_reason and "Sanchez" not in review.report_reason
    assert review.hidden_reason.startswith("Checked with ")
    assert "sanchez" not in review.hidden_reason.lower()
    # the directory is asked to drop its copy, and its rebuild shows no name or words
    assert DirectoryRefresh.objects.filter(tenant=place.tenant, status="pending").exists()
    directory_index_rebuild(tenant=place.tenant)
    entry = DirectoryEntry.objects.get(tenant=place.tenant, resource_id=place.resource.pk)
    assert entry.rating_count == 1
    assert entry.latest_reviews[0]["author"] == "" and entry.latest_reviews[0]["comment"] == ""
    assert "Maria" not in str(entry.latest_reviews)


def test_an_erased_customers_review_link_opens_and_writes_nothing(
    complete: Callable[..., Booking], new_address: Any
) -> None:
    # given two completed visits of one customer, one reviewed, and both links sent
    reviewed = complete(name="Maria Sanchez")
    review_create(booking_id=reviewed.pk, rating=4, comment="Good.")
    unreviewed = booking_row(
        service=reviewed.service,
        resource=reviewed.resource,
        starts_at=reviewed.starts_at - dt.timedelta(days=7),
        customer=reviewed.customer,
    )
    unreviewed = booking_mark_completed(booking=unreviewed, actor=ADMIN)
    links = [
        f"/review/{review_token(booking_id=booking.pk, schema='t_acme')}/"
        for booking in (reviewed, unreviewed)
    ]
    # when the customer is erased, and the links are followed later
    customer_erase(customer=reviewed.customer, actor=ADMIN, reason="GDPR request 8")
    client = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR=new_address())
    pages = [client.get(link) for link in links]
    posted = client.post(links[1], {"intent": "create", "rating": "5", "comment": "New words"})
    # then neither opens the visit or the anonymised review, and nothing is written
    for response in [*pages, posted]:
        assert response.status_code == 404
        assert "This review link is not valid" in response.content.decode()
        assert "Sports massage" not in response.content.decode()
    assert not Review.objects.filter(booking=unreviewed).exists()
    # nor through the service itself
    with pytest.raises(NotFound):
        review_create(booking_id=unreviewed.pk, rating=5, comment="New words")
