"""Two customers' tabs racing to write the review of one booking, each on its own
connection against committed rows: one review, and the other told so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from apps.accounts.models import Tenant
from apps.bookings.customer_data import customer_erase
from apps.core.errors import NotFound
from apps.reviews.errors import ReviewExists
from apps.reviews.models import Review
from apps.reviews.services import review_create
from tests.directory.threads import finished_or_blocked, side_start
from tests.plugins.tenant_tables import business_tables_truncate
from tests.reviews.conftest import STAFF, completed_booking, place_create


@pytest.fixture
def business(committed: Tenant) -> Iterator[Tenant]:
    try:
        yield committed
    finally:
        business_tables_truncate(committed.schema_name)


def test_two_concurrent_first_reviews_of_one_booking_make_one(business: Tenant) -> None:
    # given a completed booking, and a first review written but not committed yet
    booking = completed_booking(place_create(business, listed=False))
    with transaction.atomic():
        review_create(booking_id=booking.pk, rating=5, comment="First tab")
        # when a second one is written meanwhile on another connection
        second = side_start(
            business, lambda: review_create(booking_id=booking.pk, rating=1, comment="Second")
        )
        # then it waits for the first (the booking's row lock) ...
        assert finished_or_blocked(second) is False
    # ... and, once the first commits, is refused as a second review
    with pytest.raises(ReviewExists):
        second.join()
    assert list(Review.objects.filter(booking=booking).values_list("comment", flat=True)) == [
        "First tab"
    ]


def test_a_business_cloned_from_the_template_keeps_the_words_guard(business: Tenant) -> None:
    # The committed business was created by cloning `tenant_template`: the trigger came
    # with it, resolving to the one function in `public`.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_trigger t "
            "JOIN pg_class r ON r.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = r.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgname = 'reviews_words_guard' AND n.nspname = %s",
            [business.schema_name],
        )
        assert cursor.fetchall() == [("reviews_words_guard()",)]


def test_a_review_written_while_its_customer_is_erased_does_not_escape_the_erasure(
    business: Tenant,
) -> None:
    # given a completed booking, and its review being written (not committed yet)
    booking = completed_booking(place_create(business, listed=False), name="Maria Sanchez")
    with transaction.atomic():
        review_create(booking_id=booking.pk, rating=5, comment="Maria here: all good")
        # when the customer is erased meanwhile on another connection
        erasure = side_start(
            business,
            lambda: customer_erase(customer=booking.customer, actor=STAFF, reason="Request 9"),
        )
        # then the erasure waits for the review (the customer's row) ...
        assert finished_or_blocked(erasure) is False
    erasure.join()
    # ... and, once it is written, anonymises it like any other
    review = Review.objects.get(booking=booking)
    assert (review.author_name, review.comment) == ("", "")
    assert review.anonymised_at is not None


def test_a_review_sent_while_its_customer_is_erased_is_refused(business: Tenant) -> None:
    # given a completed booking whose customer is being erased (not committed yet)
    booking = completed_booking(place_create(business, listed=False), name="Maria Sanchez")
    with transaction.atomic():
        customer_erase(customer=booking.customer, actor=STAFF, reason="Request 10")
        # when a review of it is sent meanwhile through the old link
        review = side_start(
            business, lambda: review_create(booking_id=booking.pk, rating=5, comment="Hi")
        )
        # then it waits for the erasure ...
        assert finished_or_blocked(review) is False
    # ... and is refused: nothing of the erased customer is written again
    with pytest.raises(NotFound):
        review.join()
    assert not Review.objects.filter(booking=booking).exists()
