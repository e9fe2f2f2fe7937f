"""Reviews in the business's admin, for support agents: read everything, edit nothing
(nobody changes a customer's words), and, with the review's change permission, hide or
show again with a typed reason. The
reason is kept on the review (`hidden_reason`), in the support-access trail of this
business (with the agent's name) and, as the change of the review, in its model
history."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin_sites import ReadOnlyAdmin, support_access_note, tenant_admin_site
from apps.core.errors import DomainError
from apps.reviews.models import REASON_MAX_LENGTH, Review
from apps.reviews.services import review_hide, review_unhide


class ModerationReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the review and in the audit trail with your name."),
    )


def _moderate(
    modeladmin: admin.ModelAdmin[Review],
    request: HttpRequest,
    queryset: QuerySet[Review],
    *,
    hide: bool,
) -> TemplateResponse | None:
    form = ModerationReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        reason = str(form.cleaned_data["reason"]).strip()
        ids = sorted(str(review.pk) for review in queryset)
        support_access_note(
            request,
            reason=reason,
            details={"action": "review.hide" if hide else "review.show", "reviews": ids},
        )
        service = review_hide if hide else review_unhide
        done = 0
        for review_id in ids:
            try:
                service(review_id=review_id, reason=reason, user_id=cast(Any, request.user).pk)
            except DomainError as error:
                modeladmin.message_user(request, error.message, messages.ERROR)
            else:
                done += 1
        modeladmin.message_user(
            request,
            (_("%(count)d review(s) hidden.") if hide else _("%(count)d review(s) shown again."))
            % {"count": done},
            messages.SUCCESS,
        )
        return None
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Hide reviews") if hide else _("Show reviews again"),
        "submit": _("Hide these reviews") if hide else _("Show these reviews again"),
        "explanation": (
            _(
                "A hidden review leaves the business's pages, the directory and its "
                "averages. Its words are kept unchanged; the customer is not told."
            )
            if hide
            else _("These reviews are shown again on the business's pages and in the directory.")
        ),
        "action": "hide_reviews" if hide else "show_reviews",
        "form": form,
        "reviews": queryset.order_by("pk"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/reviews/moderate.html", context)


@admin.action(description=_("Hide the selected reviews"), permissions=["moderate"])
def hide_reviews(
    modeladmin: admin.ModelAdmin[Review], request: HttpRequest, queryset: QuerySet[Review]
) -> TemplateResponse | None:
    return _moderate(modeladmin, request, queryset, hide=True)


@admin.action(description=_("Show the selected reviews again"), permissions=["moderate"])
def show_reviews(
    modeladmin: admin.ModelAdmin[Review], request: HttpRequest, queryset: QuerySet[Review]
) -> TemplateResponse | None:
    return _moderate(modeladmin, request, queryset, hide=False)


@admin.register(Review, site=tenant_admin_site)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "rating",
        "resource",
        "service",
        "author_name",
        "reported_at",
        "hidden_at",
    )
    list_filter = (
        ("reported_at", admin.EmptyFieldListFilter),
        ("hidden_at", admin.EmptyFieldListFilter),
        "rating",
    )
    ordering = ("-created_at",)
    actions = (hide_reviews, show_reviews)
    readonly_fields = (
        "id",
        "booking",
        "resource",
        "service",
        "rating",
        "comment",
        "author_name",
        "visit_month",
        "created_at",
        "updated_at",
        "editable_until",
        "reply",
        "replied_at",
        "reported_at",
        "report_reason",
        "hidden_at",
        "hidden_reason",
        "hidden_by",
        "anonymised_at",
    )
    fields = readonly_fields

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        """Hiding and showing again are writes: they need the review's change permission
        (a superuser has it), not the view permission a read-only agent holds. The
        admin's own edit form stays closed (ReadOnlyAdmin) whatever this says."""
        return bool(request.user.has_perm("reviews.change_review"))
