"""The review services and the rules the database holds whatever code runs: one review
per booking, the customer's words fixed after 14 days, one reply, hidden reviews out of
the averages, names shown as first name and initial."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.bookings.customer_data import customer_erase
from apps.bookings.models import Booking
from apps.core.errors import ValidationFailed
from apps.directory.ratings import ratings_for
from apps.reviews.errors import ReplyExists, ReviewEditClosed, ReviewExists
from apps.reviews.models import Review
from apps.reviews.services import (
    author_display_name,
    review_create,
    review_hide,
    review_reply,
    review_unhide,
    review_update,
)
from tests.dashboard.factories import ResourceFactory
from tests.reviews.conftest import STAFF, Place


@pytest.mark.parametrize(
    ("full", "shown"),
    [
        ("Maria Sanchez Lopez", "Maria L."),
        ("ada lovelace", "ada L."),
        ("Cher", "Cher"),
        ("", ""),
        # an email or a phone typed as the name is never shown, nor its initial
        ("maria.sanchez@example.com", ""),
        ("Maria maria.sanchez@example.com", "Maria"),
        ("Tom +447700900123", "Tom"),
    ],
)
def test_author_is_shown_by_first_name_and_initial(full: str, shown: str) -> None:
    assert author_display_name(full) == shown


def test_one_review_per_booking_also_in_the_database(
    place: Place, complete: Callable[..., Booking]
) -> None:
    booking = complete()
    review = review_create(booking_id=booking.pk, rating=5, comment="Great")
    with pytest.raises(ReviewExists):
        review_create(booking_id=booking.pk, rating=1, comment="Again")
    # the unique key refuses a second row even past the service
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            booking=booking,
            resource=place.resource,
            service=place.service,
            rating=1,
            visit_month=review.visit_month,
            editable_until=review.editable_until,
            created_at=review.created_at,
            updated_at=review.updated_at,
        )


def _refused(change: Callable[[], object]) -> None:
    """The trigger's refusal: SQLSTATE 23001 (restrict_violation)."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        change()
    assert getattr(caught.value.__cause__, "sqlstate", None) == "23001"


def test_the_database_keeps_a_customers_words_after_14_days_and_a_reply_once(
    complete: Callable[..., Booking],
) -> None:
    booking = complete()
    review = review_create(
        booking_id=booking.pk, rating=4, comment="Kind.", now=timezone.now() - dt.timedelta(days=15)
    )
    with pytest.raises(ReviewEditClosed):
        review_update(booking_id=booking.pk, rating=1, comment="Changed")
    rows = Review.objects.filter(pk=review.pk)
    # nobody else changes them either: not staff code, not a shell
    _refused(lambda: rows.update(comment="Rewritten by someone"))
    _refused(lambda: rows.update(rating=5))
    _refused(lambda: rows.update(editable_until=timezone.now() + dt.timedelta(days=30)))
    # the business replies once
    review_reply(review_id=review.pk, text="Thank you!", user_id=None)
    with pytest.raises(ReplyExists):
        review_reply(review_id=review.pk, text="Edited reply", user_id=None)
    _refused(lambda: rows.update(reply="Edited reply"))
    review.refresh_from_db()
    assert (review.rating, review.comment, review.reply) == (4, "Kind.", "Thank you!")


def test_bad_input_names_each_field(complete: Callable[..., Booking]) -> None:
    booking = complete()
    with pytest.raises(ValidationFailed) as caught:
        review_create(booking_id=booking.pk, rating=True, comment="see https://spam.example")
    assert {d.field for d in caught.value.details} == {"rating", "comment"}
    with pytest.raises(ValidationFailed):
        review_reply(review_id=str(booking.pk), text="   ", user_id=None)


def test_hidden_reviews_leave_the_averages_and_come_back(
    place: Place, complete: Callable[..., Booking]
) -> None:
    reviews = [
        review_create(booking_id=complete(name=f"Person {n}").pk, rating=rating, comment="")
        for n, rating in enumerate([5, 4, 1])
    ]
    summary = ratings_for([place.resource.pk])[place.resource.pk]
    assert (summary.average, summary.count) == (Decimal("3.33"), 3)
    assert [r["rating"] for r in summary.latest] == [1, 4, 5]  # newest first

    review_hide(review_id=reviews[2].pk, reason="Abusive language", user_id=None)
    summary = ratings_for([place.resource.pk])[place.resource.pk]
    assert (summary.average, summary.count) == (Decimal("4.50"), 2)
    hidden = Review.objects.get(pk=reviews[2].pk)
    assert hidden.hidden_reason == "Abusive language" and hidden.rating == 1

    review_unhide(review_id=reviews[2].pk, reason="Reviewed again: fair", user_id=None)
    assert ratings_for([place.resource.pk])[place.resource.pk].count == 3
    with pytest.raises(ValidationFailed):
        review_hide(review_id=reviews[2].pk, reason="", user_id=None)


def test_the_database_keeps_what_a_review_is_of_and_whose_it_is(
    place: Place, complete: Callable[..., Booking]
) -> None:
    # given a review that its author may still change
    review = review_create(booking_id=complete().pk, rating=1, comment="Rude.")
    other = complete(name="Other Person")
    rows = Review.objects.filter(pk=review.pk)
    # when code moves it to another booking, person or month, or renames its author
    _refused(lambda: rows.update(booking=other))
    _refused(lambda: rows.update(resource=ResourceFactory.create(name="Someone else")))
    _refused(lambda: rows.update(visit_month=review.visit_month.replace(year=2000)))
    _refused(lambda: rows.update(author_name="Somebody E."))
    # or fakes an erasure that keeps the name (to drop only the words)
    _refused(lambda: rows.update(anonymised_at=timezone.now(), comment=""))
    # or deletes it (to write it again, or not at all)
    _refused(lambda: rows.delete())
    # then the database refuses each; the review is as written
    review.refresh_from_db()
    assert (review.booking_id, review.resource_id, review.author_name, review.comment) == (
        review.booking_id,
        place.resource.pk,
        "Maria L.",
        "Rude.",
    )


def test_an_erased_review_stays_erased(complete: Callable[..., Booking]) -> None:
    booking = complete()
    review = review_create(booking_id=booking.pk, rating=2, comment="Meh.")
    customer_erase(customer=booking.customer, actor=STAFF, reason="Asked by the customer")
    rows = Review.objects.filter(pk=review.pk)
    # clearing the mark would reopen the words for their remaining days
    _refused(lambda: rows.update(anonymised_at=None))
    with pytest.raises(ReviewEditClosed):
        review_update(booking_id=booking.pk, rating=5, comment="Back again")
    review.refresh_from_db()
    assert review.anonymised_at is not None and (review.rating, review.comment) == (2, "")
