"""The customer's review of a completed booking (`/review/<token>/`, the link in the
email and text sent when the booking is marked completed), and the business's shown
reviews (`/reviews/`).

One form: a rating from 1 to 5 (radio buttons in a fieldset) and a comment. With no
review yet it writes one; with one, its author changes it until its 14 days are over,
then it is shown read-only. A link of another business, an expired or broken link, the
link of a customer whose data was erased, or a second review (a form to write one, sent
when the booking has one: another tab, a second press) get a page or a message saying
so; typed text is kept. Posting is rate
limited per client like booking writes.
"""

from __future__ import annotations

import uuid

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.selectors import tenant_current
from apps.booking_site.views import _page, _too_many_requests, customer_page
from apps.bookings.models import Booking
from apps.bookings.selectors import booking_get
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post
from apps.core.rate_limits import client_ident, configured_rate, rate_limit_wait
from apps.resources.selectors import resource_get
from apps.reviews.errors import (
    ReviewEditClosed,
    ReviewExists,
    ReviewLinkExpired,
    ReviewLinkInvalid,
    ReviewLinkOtherBusiness,
    ReviewNotAllowed,
)
from apps.reviews.links import REVIEW_LINK_DAYS, review_token_read
from apps.reviews.models import COMMENT_MAX_LENGTH, RATING_MAX, RATING_MIN, Review
from apps.reviews.selectors import business_rating, review_for_booking, reviews_public
from apps.reviews.services import review_create, review_update

# Writes per client address: a person reviews a visit or two, not dozens a minute
# (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES["review_write"] overrides it).
WRITE_RATE = "10/min"
PER_PAGE = 20


class ReviewForm(forms.Form):
    """Turns the fields into values; `review_input_check` (the service's) decides."""

    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        coerce=int,
        choices=[(n, str(n)) for n in range(RATING_MAX, RATING_MIN - 1, -1)],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5."),
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Your comment (optional)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": COMMENT_MAX_LENGTH}),
        help_text=_("At most 2,000 characters, without web addresses."),
    )


def _problem(request: HttpRequest, *, title: str, text: str, status: int) -> HttpResponse:
    return _page(
        request,
        "booking_site/_review_problem.html",
        {"page_title": title, "problem_title": title, "problem_text": text},
        status=status,
    )


def _link_problem(request: HttpRequest, error: Exception) -> HttpResponse:
    name = tenant_current().name
    if isinstance(error, ReviewLinkOtherBusiness):
        return _problem(
            request,
            title=gettext("This review link is for another business"),
            text=gettext(
                "The link you followed was sent for a booking with another business, so it "
                "opens nothing at %(name)s. Please use the link in that business's email."
            )
            % {"name": name},
            status=404,
        )
    if isinstance(error, ReviewLinkExpired):
        return _problem(
            request,
            title=gettext("This review link has expired"),
            text=gettext(
                "Review links work for %(days)d days after the visit (and a review can be "
                "changed for 14 days after it was written). This one can no longer be used."
            )
            % {"days": REVIEW_LINK_DAYS},
            status=410,
        )
    return _problem(
        request,
        title=gettext("This review link is not valid"),
        text=gettext(
            "The link may have been cut short when it was copied. Please open it again "
            "from the email or text message."
        ),
        status=404,
    )


def _editable(review: Review | None) -> bool:
    return review is None or (
        review.anonymised_at is None and timezone.now() < review.editable_until
    )


@customer_page
@require_http_methods(["GET", "POST"])
def review_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking_id = review_token_read(token)
    except (ReviewLinkInvalid, ReviewLinkOtherBusiness, ReviewLinkExpired) as error:
        return _link_problem(request, error)
    booking = booking_get(booking_id=str(booking_id))
    if booking.customer.erased_at is not None:
        # The customer's data was erased: their old link opens nothing (not the visit,
        # not the anonymised review) and writes nothing.
        return _link_problem(request, ReviewLinkInvalid())
    review = review_for_booking(booking_id=booking_id)
    if review is None and booking.status != Booking.Status.COMPLETED:
        return _problem(
            request,
            title=gettext("This visit cannot be reviewed"),
            text=gettext("Only a visit that took place can be reviewed."),
            status=409,
        )
    status = 200
    problem = ""
    if request.method == "POST":
        wait = rate_limit_wait(
            scope="review_write",
            ident=client_ident(request),
            rate=configured_rate("review_write") or WRITE_RATE,
            fail_closed=True,
        )
        if wait is not None:
            return _too_many_requests(request, wait)
        form = ReviewForm(request.POST)
        if form.is_valid():
            problem, status = _save(form, booking_id=booking_id, intent=request.POST.get("intent"))
            if not problem and not form.errors:
                return redirect_after_post(
                    request, reverse("booking:review", kwargs={"token": token}) + "?saved=1"
                )
            review = review_for_booking(booking_id=booking_id)
        else:
            status = 400
    else:
        initial = {"rating": review.rating, "comment": review.comment} if review else {}
        form = ReviewForm(initial=initial)
    return _page(
        request,
        "booking_site/_review.html",
        {
            "page_title": gettext("Review your visit"),
            "booking": booking,
            "review": review,
            "editable": _editable(review),
            "form": form,
            "problem": problem,
            "saved": request.method == "GET" and request.GET.get("saved") == "1",
            "token": token,
        },
        status=status,
    )


def _save(form: ReviewForm, *, booking_id: uuid.UUID, intent: str | None) -> tuple[str, int]:
    """Writes or changes the review; a refusal as (message, status), else ("", 200).
    Field errors go on the form (status 400)."""
    rating, comment = form.cleaned_data["rating"], form.cleaned_data["comment"]
    try:
        if intent == "edit":
            review_update(booking_id=booking_id, rating=rating, comment=comment)
        else:
            review_create(booking_id=booking_id, rating=rating, comment=comment)
    except ValidationFailed as error:
        for detail in error.details:
            form.add_error(detail.field if detail.field in form.fields else None, detail.message)
        return "", 400
    except ReviewExists:
        return (
            gettext(
                "You have already reviewed this visit: one review per booking. Your review "
                "is below; you can change it for 14 days after writing it."
            ),
            409,
        )
    except ReviewEditClosed:
        return gettext("Your review can no longer be changed: the 14 days are over."), 409
    except ReviewNotAllowed:
        return gettext("Only a visit that took place can be reviewed."), 409
    return "", 200


@customer_page
@require_GET
def reviews_page(request: HttpRequest) -> HttpResponse:
    """The business's shown reviews, newest first, 20 a page; `?resource=` one person's
    or asset's (the directory's results link here)."""
    resource = None
    if request.GET.get("resource"):
        resource = resource_get(resource_id=request.GET["resource"])
    paginator = Paginator(reviews_public(resource_id=resource.pk if resource else None), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return _page(
        request,
        "booking_site/_reviews.html",
        {
            "page_title": gettext("Reviews"),
            "rating": business_rating(resource_id=resource.pk if resource else None),
            "reviews": page,
            "resource": resource,
        },
    )
