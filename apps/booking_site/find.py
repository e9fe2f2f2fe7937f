"""The public directory's search page on the root domain: `/find/`.

A plain GET form (works without JS); with htmx, submitting swaps only the results
(`directory/_results.html`) and the status line, and keeps the address bar in step. Bad
parameters re-render the form with each field's error and what was typed, with status
400 (under htmx the form is swapped out of band too); too many searches say so (429). Throttled per
client address in the `anon_read` bucket, like every public read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from apps.core.errors import ValidationFailed
from apps.core.htmx import render_page_or_partial, wants_partial
from apps.core.rate_limits import client_ident, rate_limit_wait
from apps.directory.search import (
    SORTS,
    DirectoryPage,
    directory_query_parse,
    directory_search,
)
from apps.directory.taxonomy import language_choices, specialization_choices

SORT_LABELS = {
    "relevance": _("Best match"),
    "rating": _("Rating"),
    "distance": _("Distance"),
    "soonest": _("Soonest free time"),
}


class DirectorySearchForm(forms.Form):
    """Renders the search's fields and shows the search's own errors; the checking is
    `directory_query_parse`'s (the API's too), so nothing here refuses anything."""

    q = forms.CharField(label=_("What are you looking for?"), required=False)
    specialization = forms.CharField(
        label=_("Specialization"),
        required=False,
        widget=forms.Select(choices=[("", _("Any"))]),
    )
    language = forms.CharField(
        label=_("Language"), required=False, widget=forms.Select(choices=[("", _("Any"))])
    )
    near = forms.CharField(
        label=_("Near (latitude, longitude)"),
        required=False,
        help_text=_("For example 51.5074,-0.1278"),
    )
    radius_km = forms.CharField(label=_("Within (km)"), required=False)
    min_rating = forms.CharField(label=_("Lowest rating (0 to 5)"), required=False)
    available_from = forms.CharField(
        label=_("Free from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    available_to = forms.CharField(
        label=_("Free until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.CharField(
        label=_("Sort by"),
        required=False,
        widget=forms.Select(choices=[(key, SORT_LABELS[key]) for key in SORTS]),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specialization"].widget.choices = [
            ("", _("Any")),
            *specialization_choices(),
        ]
        self.fields["language"].widget.choices = [
            ("", _("Any")),
            *language_choices(),
        ]


@require_GET
def find_page(request: HttpRequest) -> HttpResponse:
    form = DirectorySearchForm(request.GET)
    form.is_valid()
    found: DirectoryPage | None = None
    status = 200
    wait = rate_limit_wait(scope="anon_read", ident=client_ident(request))
    if wait is not None:
        response = render_page_or_partial(
            request,
            page="directory/throttled.html",
            partial="directory/_throttled.html",
            context={"partial": wants_partial(request)},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    try:
        found = directory_search(query=directory_query_parse(request.GET))
    except ValidationFailed as error:
        status = 400
        for detail in error.details:
            form.add_error(detail.field if detail.field in form.fields else None, detail.message)
    params = request.GET.copy()
    params.pop("page", None)
    return render_page_or_partial(
        request,
        page="directory/find.html",
        partial="directory/_results.html",
        context={
            "form": form,
            "found": found,
            "query": params.urlencode(),
            "partial": wants_partial(request),
        },
        status=status,
    )
