"""Writes of reviews: asking for one when a booking is completed, the customer's review
(written once, changed by its author for EDIT_DAYS), the business's one reply and its
abuse report, support hiding and showing again. Each change that the public sees asks
the directory to rebuild the business's rows (ratings and latest reviews) through its
outbox, in the same transaction.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape, urlize
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from apps.accounts.selectors import tenant_current
from apps.bookings.models import Booking, Customer
from apps.calendars.timezones import local_date, zone
from apps.core.errors import FieldError, NotFound, ValidationFailed
from apps.core.tenancy import current_schema
from apps.directory.models import ListingProfile
from apps.directory.refresh import directory_refresh_request
from apps.notifications.messages.services import notifications_plan_review_request
from apps.reviews.errors import ReplyExists, ReviewEditClosed, ReviewExists, ReviewNotAllowed
from apps.reviews.links import review_url
from apps.reviews.models import (
    COMMENT_MAX_LENGTH,
    RATING_MAX,
    RATING_MIN,
    REASON_MAX_LENGTH,
    REPLY_MAX_LENGTH,
    Review,
)

logger = logging.getLogger(__name__)

EDIT_DAYS = 14
# Links are the usual payload of review spam; a review is about a visit, not a website.
# Any scheme ("hxxps://", "ftp://"), "www.", a domain with a path ("spam.ru/buy"), and
# Django's urlize for bare .com/.net/.org… domains and email addresses, over a folded
# copy of the text (`_has_link`).
_LINK = re.compile(
    r"([a-z][a-z0-9+.-]{1,15}://|www\.)\S|\b[a-z0-9-]+\.[a-z]{2,24}/\S", re.IGNORECASE
)
_DIGIT = re.compile(r"\d")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Invisible characters that reorder or split what is shown (bidi overrides and
# isolates, zero-width spaces, the word joiner, the BOM): public text must read as it is
# stored. Joiners inside emoji and scripts that need them (U+200C, U+200D) are kept.
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class ReviewInput:
    rating: int
    comment: str


def author_display_name(full_name: str) -> str:
    """ "Ada Lovelace" → "Ada L."; one word stays as it is; "" for no name. Only this is
    ever stored with a review."""
    # A word with "@" or a digit is no name (an email or a phone typed in the name
    # field): shown whole or as an initial, it would say more than a first name.
    words = [word for word in full_name.split() if "@" not in word and not _DIGIT.search(word)]
    if not words:
        return ""
    first = words[0][:40]
    return f"{first} {words[-1][0].upper()}." if len(words) > 1 else first


def _clean_text(text: str) -> str:
    return _INVISIBLE.sub("", _CONTROL.sub("", text.replace("\r\n", "\n"))).strip()


def _has_link(text: str) -> bool:
    """A web or email address, also written to slip past a plain search: full-width or
    other compatibility forms (full-width "www."), invisible format characters inside it."""
    folded = "".join(
        char for char in unicodedata.normalize("NFKC", text) if unicodedata.category(char) != "Cf"
    )
    return bool(_LINK.search(folded)) or "<a " in urlize(escape(folded))


def review_input_check(*, rating: object, comment: str) -> ReviewInput:
    """The rating (a whole number from 1 to 5) and comment (at most 2,000 characters, no
    links), or ValidationFailed naming each field."""
    problems: list[FieldError] = []
    value = 0
    if isinstance(rating, bool) or not isinstance(rating, int | str):
        problems.append(FieldError("rating", str(_("Choose a rating from 1 to 5."))))
    else:
        try:
            value = int(str(rating).strip())
        except ValueError:
            value = 0
        if not RATING_MIN <= value <= RATING_MAX:
            problems.append(FieldError("rating", str(_("Choose a rating from 1 to 5."))))
    text = _clean_text(comment)
    if len(text) > COMMENT_MAX_LENGTH:
        problems.append(
            FieldError(
                "comment",
                str(_("Keep the comment to %(max)d characters (it has %(count)d)."))
                % {"max": COMMENT_MAX_LENGTH, "count": len(text)},
            )
        )
    elif _has_link(text):
        problems.append(FieldError("comment", str(_("Please leave out web addresses."))))
    if problems:
        raise ValidationFailed(gettext_noop("The review could not be saved."), details=problems)
    return ReviewInput(rating=value, comment=text)


def reviews_directory_refresh() -> None:
    """The business's directory rows carry its ratings and latest reviews: a listed
    business asks for them to be rebuilt (due at once, queued on commit)."""
    if current_schema() == "public":
        return
    if ListingProfile.objects.filter(is_listed=True).exists():
        directory_refresh_request(tenant_id=tenant_current().pk, reason="reviews", debounce=False)


def review_request_send(*, booking: Booking, now: datetime | None = None) -> list[object]:
    """The customer of a booking just marked completed is asked for a review (email, and
    a text when texts are on): the message carries a signed link. Runs in the completion's
    transaction (the outbox rows commit with it)."""
    if booking.status != Booking.Status.COMPLETED:
        return []
    url = review_url(booking_id=booking.pk, tenant=tenant_current(), now=now)
    return notifications_plan_review_request(booking=booking, url=url, now=now)


def _completed_booking_locked(booking_id: uuid.UUID) -> Booking:
    # The customer's row first, as erasure takes it (customer, then bookings): a review
    # written while its customer is being erased waits and is refused, and an erasure
    # that starts while a review is being written waits and then anonymises it.
    customer_ids = list(
        Booking.objects.filter(pk=booking_id).values_list("customer_id", flat=True)[:1]
    )
    list(Customer.objects.select_for_update().filter(pk__in=customer_ids).values_list("pk"))
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("customer", "resource__location")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise NotFound(gettext_noop("No such booking."))
    if booking.status != Booking.Status.COMPLETED:
        raise ReviewNotAllowed()
    if booking.customer.erased_at is not None:
        # An erased customer's link (sent before the erasure) writes nothing: new words
        # would be personal data of someone whose data was removed, under a pseudonym.
        raise NotFound(gettext_noop("No such booking."))
    return booking


def review_create(
    *, booking_id: uuid.UUID, rating: object, comment: str, now: datetime | None = None
) -> Review:
    """The customer's review of their completed booking. Raises ValidationFailed,
    ReviewNotAllowed (not completed) or ReviewExists (one review per booking; the unique
    key settles a race)."""
    now = now or timezone.now()
    data = review_input_check(rating=rating, comment=comment)
    try:
        with transaction.atomic():
            booking = _completed_booking_locked(booking_id)
            if Review.objects.filter(booking_id=booking.pk).exists():
                raise ReviewExists()
            tz = zone(booking.resource.location.timezone)
            review = Review.objects.create(
                booking=booking,
                resource_id=booking.resource_id,
                service_id=booking.service_id,
                rating=data.rating,
                comment=data.comment,
                author_name=author_display_name(booking.contact_name or booking.customer.name),
                visit_month=local_date(booking.starts_at, tz).replace(day=1),
                editable_until=now + timedelta(days=EDIT_DAYS),
                created_at=now,
                updated_at=now,
            )
            reviews_directory_refresh()
    except IntegrityError:
        if Review.objects.filter(booking_id=booking_id).exists():
            raise ReviewExists() from None
        raise
    logger.info("review.created", extra={"review_id": str(review.pk), "rating": review.rating})
    return review


def review_update(
    *, booking_id: uuid.UUID, rating: object, comment: str, now: datetime | None = None
) -> Review:
    """The author changes their review, until its `editable_until`. Raises
    ValidationFailed, NotFound or ReviewEditClosed."""
    now = now or timezone.now()
    data = review_input_check(rating=rating, comment=comment)
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(booking_id=booking_id).first()
        if review is None:
            raise NotFound(gettext_noop("No review to change."))
        if review.anonymised_at is not None or now >= review.editable_until:
            raise ReviewEditClosed()
        review.rating, review.comment, review.updated_at = data.rating, data.comment, now
        review.save(update_fields=["rating", "comment", "updated_at"])
        reviews_directory_refresh()
    logger.info("review.updated", extra={"review_id": str(review.pk), "rating": review.rating})
    return review


def _review_locked(review_id: uuid.UUID | str) -> Review:
    try:
        key = uuid.UUID(str(review_id))
    except ValueError:
        raise NotFound(gettext_noop("No such review.")) from None
    review = Review.objects.select_for_update().filter(pk=key).first()
    if review is None:
        raise NotFound(gettext_noop("No such review."))
    return review


def _reason(text: str, *, field: str = "reason", max_length: int = REASON_MAX_LENGTH) -> str:
    cleaned = _clean_text(text)
    if not cleaned:
        raise ValidationFailed(
            gettext_noop("A reason is required."), details=[FieldError(field, str(_("Say why.")))]
        )
    if len(cleaned) > max_length:
        raise ValidationFailed(
            gettext_noop("Too long."),
            details=[
                FieldError(field, str(_("Keep it to %(max)d characters.")) % {"max": max_length})
            ],
        )
    return cleaned


def review_reply(
    *, review_id: uuid.UUID | str, text: str, user_id: uuid.UUID | None, now: datetime | None = None
) -> Review:
    """The business's one public reply. Raises ValidationFailed or ReplyExists."""
    now = now or timezone.now()
    cleaned = _reason(text, field="reply", max_length=REPLY_MAX_LENGTH)
    with transaction.atomic():
        review = _review_locked(review_id)
        if review.reply:
            raise ReplyExists()
        review.reply, review.replied_at, review.replied_by_id = cleaned, now, user_id
        review.updated_at = now
        review.save(update_fields=["reply", "replied_at", "replied_by", "updated_at"])
        reviews_directory_refresh()
    logger.info("review.replied", extra={"review_id": str(review.pk)})
    return review


def review_report(
    *,
    review_id: uuid.UUID | str,
    reason: str,
    user_id: uuid.UUID | None,
    now: datetime | None = None,
) -> Review:
    """The business reports a review as abusive, for support to look at; it stays shown
    until support decides (a business cannot silence a bad review by itself)."""
    now = now or timezone.now()
    cleaned = _reason(reason)
    with transaction.atomic():
        review = _review_locked(review_id)
        review.reported_at, review.report_reason, review.reported_by_id = now, cleaned, user_id
        review.updated_at = now
        review.save(update_fields=["reported_at", "report_reason", "reported_by", "updated_at"])
    logger.info("review.reported", extra={"review_id": str(review.pk)})
    return review


def review_hide(
    *,
    review_id: uuid.UUID | str,
    reason: str,
    user_id: uuid.UUID | None,
    now: datetime | None = None,
) -> Review:
    """Support hides a review (the words stay, unchanged; the reason is kept)."""
    now = now or timezone.now()
    cleaned = _reason(reason)
    with transaction.atomic():
        review = _review_locked(review_id)
        review.hidden_at, review.hidden_reason, review.hidden_by_id = now, cleaned, user_id
        review.updated_at = now
        review.save(update_fields=["hidden_at", "hidden_reason", "hidden_by", "updated_at"])
        reviews_directory_refresh()
    logger.info("review.hidden", extra={"review_id": str(review.pk)})
    return review


def review_unhide(
    *,
    review_id: uuid.UUID | str,
    reason: str,
    user_id: uuid.UUID | None,
    now: datetime | None = None,
) -> Review:
    """Support shows a hidden review again; the reason replaces the hiding's (both stay in
    the model history)."""
    now = now or timezone.now()
    cleaned = _reason(reason)
    with transaction.atomic():
        review = _review_locked(review_id)
        review.hidden_at, review.hidden_reason, review.hidden_by_id = None, cleaned, user_id
        review.updated_at = now
        review.save(update_fields=["hidden_at", "hidden_reason", "hidden_by", "updated_at"])
        reviews_directory_refresh()
    logger.info("review.shown", extra={"review_id": str(review.pk)})
    return review
