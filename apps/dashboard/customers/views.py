"""Dashboard screens of one customer's data, for GDPR requests (admins only): the
customer page with their bookings and the export downloads (JSON, or a zip of CSV
files), and the erasure form, which says what will happen before anything does.
Reached from a booking's page."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.models import Membership
from apps.bookings.customer_data import (
    customer_erase,
    customer_erasure_preview,
    customer_export_file,
)
from apps.bookings.exports import customers_csv, export_filename
from apps.bookings.models import Customer
from apps.bookings.selectors import customer_bookings, customer_get
from apps.core.errors import DomainError
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required, request_actor
from apps.dashboard.customers.forms import EraseForm
from apps.dashboard.downloads import csv_download

ADMIN = Membership.Role.ADMIN
BOOKINGS_SHOWN = 100


def _customer_screen(
    request: HttpRequest, customer: Customer, *, error: str = "", status: int = 200
) -> HttpResponse:
    bookings = customer_bookings(customer=customer)
    return render_page_or_partial(
        request,
        page="dashboard/customer.html",
        partial="dashboard/_customer.html",
        context={
            "customer": customer,
            "bookings": bookings.order_by("-starts_at", "pk")[:BOOKINGS_SHOWN],
            "bookings_count": bookings.count(),
            "error": error,
        },
        status=status,
    )


@require_GET
@never_cache
@membership_required(ADMIN, factor_before_live=True)
def customer(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    return _customer_screen(request, customer_get(customer_id=customer_id))


@require_GET
@never_cache
@membership_required(ADMIN, factor_before_live=True)
def customer_export_view(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    found = customer_get(customer_id=customer_id)
    try:
        export = customer_export_file(
            customer=found,
            actor=request_actor(request),
            file_format=request.GET.get("format", "json"),
        )
    except DomainError as error:
        return _customer_screen(request, found, error=error.message, status=error.http_status)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@require_GET
@never_cache
@membership_required(ADMIN, factor_before_live=True)
def customers_export(request: HttpRequest) -> HttpResponseBase:
    """Every customer of the business with contact details in clear, as a CSV download
    (streamed; recorded in the business's history)."""
    return csv_download(
        customers_csv(actor=request_actor(request)), filename=export_filename("customers")
    )


@require_http_methods(["GET", "POST"])
@never_cache
@membership_required(ADMIN, factor_before_live=True)
def customer_erase_view(request: HttpRequest, customer_id: UUID) -> HttpResponse:
    found = customer_get(customer_id=customer_id)
    form = EraseForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                outcome = customer_erase(
                    customer=found, actor=request_actor(request), reason=form.cleaned_data["reason"]
                )
            except DomainError as error:
                form.apply_domain_error(error)
                status = error.http_status
            else:
                if outcome.already_erased:
                    messages.info(request, _("This customer's data had already been erased."))
                else:
                    messages.success(
                        request,
                        _(
                            "The customer's data is erased; %(count)s bookings still to come "
                            "were cancelled."
                        )
                        % {"count": outcome.bookings_cancelled},
                    )
                url = reverse("dashboard:customer", kwargs={"customer_id": found.pk})
                return redirect_after_post(request, url)
    return render_page_or_partial(
        request,
        page="dashboard/customer_erase.html",
        partial="dashboard/_customer_erase.html",
        context={
            "customer": found,
            "form": form,
            "future_bookings": customer_erasure_preview(customer=found),
            "bookings_count": customer_bookings(customer=found).count(),
        },
        status=status,
    )
