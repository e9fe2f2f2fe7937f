"""The business's reviews (admins and managers): every review, newest first, with its
state; a public reply, once per review; reporting a review as abusive, with a reason,
for support to decide on. Nobody here changes a customer's words or hides a review."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Membership
from apps.core.errors import DomainError, ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.reviews.forms import ReplyForm, ReportForm
from apps.reviews.errors import ReplyExists
from apps.reviews.selectors import business_rating, review_get, reviews_for_staff
from apps.reviews.services import review_reply, review_report

MANAGER = Membership.Role.MANAGER
PER_PAGE = 25


def _screen(
    request: HttpRequest,
    *,
    bound: tuple[uuid.UUID, str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    reported_only = request.GET.get("reported") == "1"
    page = Paginator(reviews_for_staff(reported_only=reported_only), PER_PAGE).get_page(
        request.GET.get("page")
    )
    reviews = list(page)
    if bound is not None and all(review.pk != bound[0] for review in reviews):
        # The forms post to a URL without the list's page: a refused form of a review on
        # another page comes first here, with its errors and what was typed.
        reviews.insert(0, review_get(review_id=bound[0]))
    cards = []
    for review in reviews:
        reply_form: forms.Form = ReplyForm(auto_id=f"id_reply_{review.pk}_%s")
        report_form: forms.Form = ReportForm(auto_id=f"id_report_{review.pk}_%s")
        if bound is not None and bound[0] == review.pk:
            if bound[1] == "reply":
                reply_form = bound[2]
            else:
                report_form = bound[2]
        cards.append({"review": review, "reply_form": reply_form, "report_form": report_form})
    return render_page_or_partial(
        request,
        page="dashboard/reviews.html",
        partial="dashboard/_reviews.html",
        context={
            "cards": cards,
            "page": page,
            "rating": business_rating(),
            "reported_only": reported_only,
        },
        status=status,
    )


@require_GET
@membership_required(MANAGER)
def reviews(request: HttpRequest) -> HttpResponse:
    return _screen(request)


def _user_id(request: HttpRequest) -> uuid.UUID | None:
    pk = getattr(request.user, "pk", None)
    return pk if isinstance(pk, uuid.UUID) else None


@require_POST
@membership_required(MANAGER)
def review_reply_view(request: HttpRequest, review_id: uuid.UUID) -> HttpResponse:
    review = review_get(review_id=review_id)
    form = ReplyForm(request.POST, auto_id=f"id_reply_{review.pk}_%s")
    if form.is_valid():
        try:
            review_reply(
                review_id=review.pk, text=form.cleaned_data["reply"], user_id=_user_id(request)
            )
        except ValidationFailed as error:
            for detail in error.details:
                form.add_error("reply" if detail.field == "reply" else None, detail.message)
        except ReplyExists:
            form.add_error(None, _("This review has a reply already; a reply cannot be changed."))
        else:
            messages.success(request, _("Reply published."))
            return redirect_after_post(request, reverse("dashboard:reviews"))
    return _screen(request, bound=(review.pk, "reply", form), status=400)


@require_POST
@membership_required(MANAGER)
def review_report_view(request: HttpRequest, review_id: uuid.UUID) -> HttpResponse:
    review = review_get(review_id=review_id)
    form = ReportForm(request.POST, auto_id=f"id_report_{review.pk}_%s")
    if form.is_valid():
        try:
            review_report(
                review_id=review.pk, reason=form.cleaned_data["reason"], user_id=_user_id(request)
            )
        except DomainError as error:
            for detail in error.details:
                form.add_error("reason" if detail.field == "reason" else None, detail.message)
            if not error.details:
                form.add_error(None, _(error.message))
        else:
            messages.success(request, _("Review reported to support."))
            return redirect_after_post(request, reverse("dashboard:reviews"))
    return _screen(request, bound=(review.pk, "report", form), status=400)
