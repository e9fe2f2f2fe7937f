"""Dashboard screens for bookings: today, the calendar, the bookings list, one booking
with its actions, moving it to a free time, and bookings stuck on blocked slots.

Front desk and up manage bookings; conflicts (caused by changed opening hours) are the
scheduler's screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.billing.refunds import RefundChoice, RefundMode, refund_choice_check, refund_decided
from apps.bookings.exports import bookings_csv, export_filename
from apps.bookings.models import Booking
from apps.bookings.selectors import booking_get
from apps.bookings.series import series_cancel_from
from apps.bookings.services import (
    booking_cancel,
    booking_confirm,
    booking_mark_completed,
    booking_mark_no_show,
    booking_reschedule,
)
from apps.calendars.timezones import local_date, zone
from apps.core.errors import DomainError, NotFound
from apps.core.htmx import redirect_after_post, render_page_or_partial, wants_partial
from apps.dashboard.access import (
    membership_passes,
    membership_required,
    request_actor,
    request_membership,
)
from apps.dashboard.bookings.forms import (
    BookingFilterForm,
    CalendarForm,
    CancelForm,
    RescheduleForm,
    RescheduleSearchForm,
)
from apps.dashboard.bookings.selectors import (
    booking_conflicts,
    booking_detail,
    bookings_search,
    calendar_day,
    calendar_week,
    reschedule_options,
    today_summary,
    week_start,
)
from apps.dashboard.downloads import csv_download
from apps.dashboard.first_day.views import first_day_context
from apps.resources.models import Location, Resource
from apps.resources.selectors import location_list, resource_get, resource_list

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

FRONTDESK = Membership.Role.FRONTDESK
SCHEDULER = Membership.Role.SCHEDULER
MANAGER = Membership.Role.MANAGER
BOOKINGS_PER_PAGE = 25


# --- Today -------------------------------------------------------------------------


@require_GET
@membership_required(FRONTDESK)
def dashboard_today(request: HttpRequest) -> HttpResponse:
    summary = today_summary(tz_name=tenant_current().timezone)
    membership = request_membership(request)
    return render_page_or_partial(
        request,
        page="dashboard/today.html",
        partial="dashboard/_today.html",
        context={
            "summary": summary,
            "membership": membership,
            "can_schedule": membership.has_role(SCHEDULER),
            **first_day_context(request, membership),
        },
    )


# --- Calendar ----------------------------------------------------------------------


def _calendar_url(
    *,
    view: str,
    day: dt.date,
    location: Location | None = None,
    resource: Resource | None = None,
    cancelled: bool = False,
) -> str:
    params: dict[str, str] = {"view": view, "date": day.isoformat()}
    if view == "week" and resource is not None:
        params["resource"] = str(resource.pk)
    elif location is not None:
        params["location"] = str(location.pk)
    if cancelled:
        params["cancelled"] = "on"
    return f"{reverse('dashboard:calendar')}?{urlencode(params)}"


# Each booking's place in the grid is computed (style attributes: grid rows and lanes);
# only this screen's documents allow style attributes (config/content_security.py). Its
# own controls are the only ones that swap the calendar in, so they share its document.
@csp_update({"style-src-attr": [UNSAFE_INLINE]})
@require_GET
@membership_required(FRONTDESK)
def calendar(request: HttpRequest) -> HttpResponse:
    """?view=day|week, date, location (day), resource (week), cancelled. Days are the
    location's calendar days; a resource's week is in its location's time zone."""
    tenant = tenant_current()
    locations = list(location_list())
    resources = list(resource_list())
    form = CalendarForm(request.GET, locations=locations, resources=resources)
    form.is_valid()  # bad values are reported beside the field and replaced by defaults
    chosen = form.cleaned_data
    view = chosen.get("view") or "day"
    cancelled = bool(chosen.get("cancelled"))
    resource = next((r for r in resources if str(r.pk) == chosen.get("resource")), None)
    location = next((loc for loc in locations if str(loc.pk) == chosen.get("location")), None)
    if view == "week":
        resource = resource or next(
            (r for r in resources if location is None or r.location_id == location.pk), None
        )
        location = resource.location if resource else location
    location = location or (locations[0] if locations else None)
    tz_name = location.timezone if location else tenant.timezone
    today = local_date(timezone.now(), zone(tz_name))
    day = chosen.get("date") or today

    grid = None
    if view == "week" and resource is not None:
        grid = calendar_week(resource=resource, day=day, include_cancelled=cancelled)
    elif view == "day" and location is not None:
        grid = calendar_day(location=location, day=day, include_cancelled=cancelled)
    step = dt.timedelta(days=7 if view == "week" else 1)
    first_day = week_start(day) if view == "week" else day

    def link(to_view: str, to_day: dt.date, **kwargs: Any) -> str:
        return _calendar_url(
            view=to_view,
            day=to_day,
            location=kwargs.get("location", location),
            resource=kwargs.get("resource", resource),
            cancelled=cancelled,
        )

    context = {
        "form": form,
        "grid": grid,
        "view": view,
        "day": day,
        "first_day": first_day,
        "last_day": first_day + dt.timedelta(days=6),
        "today": today,
        "location": location,
        "resource": resource,
        "locations": locations,
        "resources": resources,
        "cancelled": cancelled,
        "can_manage": request_membership(request).has_role(Membership.Role.MANAGER),
        "links": {
            "previous": link(view, day - step),
            "next": link(view, day + step),
            "today": link(view, today),
            "day": link("day", day),
            "week": link("week", day),
        },
        # A column's heading leads to the other view: a day of the week, a resource's week.
        "columns": [
            {
                "column": column,
                "link": link("day", column.day)
                if view == "week"
                else link("week", day, resource=column.resource),
            }
            for column in (grid.columns if grid else [])
        ],
    }
    return render_page_or_partial(
        request,
        page="dashboard/calendar.html",
        partial="dashboard/_calendar.html",
        context=context,
        status=400 if form.errors else 200,
    )


# --- Bookings list -----------------------------------------------------------------


def _bookings_filtered(request: HttpRequest) -> tuple[BookingFilterForm, Any, QuerySet[Booking]]:
    """The list's filters (status, resource, date_from/date_to as the business's calendar
    days, email: the exact customer address) and the bookings they choose; upcoming
    bookings unless asked otherwise. Invalid filters are reported and left out."""
    tenant = tenant_current()
    resources = list(resource_list(include_inactive=True))
    params = request.GET.copy()
    params.pop("page", None)
    if not params:
        params["date_from"] = local_date(timezone.now(), zone(tenant.timezone)).isoformat()
    form = BookingFilterForm(params, resources=resources)
    form.is_valid()
    chosen = form.cleaned_data
    found = bookings_search(
        tz_name=tenant.timezone,
        status=chosen.get("status"),
        resource_id=chosen.get("resource"),
        first_day=chosen.get("date_from"),
        last_day=chosen.get("date_to"),
        customer_email=chosen.get("email"),
    )
    return form, params, found


def _bookings_screen(
    request: HttpRequest, form: BookingFilterForm, params: Any, found: QuerySet[Booking]
) -> HttpResponse:
    page = Paginator(found, BOOKINGS_PER_PAGE).get_page(request.GET.get("page"))
    membership = request_membership(request)
    return render_page_or_partial(
        request,
        page="dashboard/bookings.html",
        partial="dashboard/_bookings.html",
        context={
            "form": form,
            "page": page,
            "query": params.urlencode(),
            "can_export": membership.has_role(MANAGER),
            "can_export_customers": membership.has_role(Membership.Role.ADMIN),
        },
        status=400 if form.errors else 200,
    )


@require_GET
@membership_required(FRONTDESK)
def bookings(request: HttpRequest) -> HttpResponse:
    return _bookings_screen(request, *_bookings_filtered(request))


@require_GET
@never_cache
@membership_required(MANAGER)
def bookings_export(request: HttpRequest) -> HttpResponseBase:
    """The bookings the list's filters choose, every page of them, as a CSV download
    (streamed; recorded in the business's history). Invalid filters: the list with
    their errors, and no file. Intake answers (possibly health data) go with it only
    for an admin who would pass the customers export's door (second factor done)."""
    form, params, found = _bookings_filtered(request)
    if form.errors:
        return _bookings_screen(request, form, params, found)
    filters = {key: value for key, value in params.items() if value}
    answers = membership_passes(request, Membership.Role.ADMIN, factor_before_live=True)
    return csv_download(
        bookings_csv(found, actor=request_actor(request), filters=filters, answers=answers),
        filename=export_filename("bookings"),
    )


# --- One booking -------------------------------------------------------------------


def _booking_screen(
    request: HttpRequest,
    booking_id: UUID,
    *,
    cancel_form: CancelForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    detail = booking_detail(booking_id=booking_id)
    return render_page_or_partial(
        request,
        page="dashboard/booking.html",
        partial="dashboard/_booking.html",
        context={
            "detail": detail,
            "booking": detail.booking,
            "cancel_form": cancel_form or CancelForm(),
            "error": error,
        },
        status=status,
    )


def _after_change(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    if wants_partial(request):
        return _booking_screen(request, booking_id)
    return redirect("dashboard:booking", booking_id=booking_id)


@require_GET
@membership_required(FRONTDESK)
def booking(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    return _booking_screen(request, booking_id)


def _booking_action(
    request: HttpRequest,
    booking_id: UUID,
    action: Callable[..., Booking],
    done: StrOrPromise,
) -> HttpResponse:
    found = booking_get(booking_id=booking_id)
    try:
        action(booking=found, actor=request_actor(request))
    except DomainError as error:
        return _booking_screen(
            request, booking_id, error=gettext(error.message), status=error.http_status
        )
    messages.success(request, done)
    return _after_change(request, booking_id)


@require_POST
@membership_required(FRONTDESK)
def booking_confirm_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    return _booking_action(
        request, booking_id, booking_confirm, gettext_lazy("The booking is confirmed.")
    )


@require_POST
@membership_required(FRONTDESK)
def booking_completed_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    return _booking_action(
        request,
        booking_id,
        booking_mark_completed,
        gettext_lazy("The booking is marked completed."),
    )


@require_POST
@membership_required(FRONTDESK)
def booking_no_show_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    return _booking_action(
        request,
        booking_id,
        booking_mark_no_show,
        gettext_lazy("The booking is marked as a no-show."),
    )


@require_POST
@membership_required(FRONTDESK)
def booking_cancel_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    found = booking_get(booking_id=booking_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _booking_screen(request, booking_id, cancel_form=form, status=400)
    choice = RefundChoice(
        mode=RefundMode(form.cleaned_data.get("refund") or RefundMode.POLICY),
        amount=form.cleaned_data.get("refund_amount"),
        note=form.cleaned_data["reason"][:200],
    )
    cancelled_dates: list[Booking] = []
    try:
        refund_choice_check(booking=found, choice=choice)
        # Staff are not bound by the customers' cancellation window; the service then
        # requires a reason, which the history keeps. A paid booking is refunded as
        # chosen (by the policy unless staff decided otherwise) once this commits.
        with refund_decided(choice):
            if form.cleaned_data.get("scope") == "rest" and found.series_id is not None:
                # Each occurrence is cancelled (and refunded) as a single booking is.
                cancelled_dates = series_cancel_from(
                    booking=found,
                    actor=request_actor(request),
                    reason=form.cleaned_data["reason"],
                    override_window=True,
                )
            else:
                booking_cancel(
                    booking=found,
                    actor=request_actor(request),
                    reason=form.cleaned_data["reason"],
                    override_window=True,
                )
    except DomainError as error:
        if error.details:
            form.apply_domain_error(error)
        # A refusal of the whole change (the booking moved on meanwhile) is said at the
        # top: the cancel form may no longer be on the page.
        return _booking_screen(
            request,
            booking_id,
            cancel_form=form,
            error="" if error.details else gettext(error.message),
            status=error.http_status,
        )
    if len(cancelled_dates) > 1:
        messages.success(
            request,
            ngettext(
                "%(count)d booking of the series is cancelled.",
                "%(count)d bookings of the series are cancelled.",
                len(cancelled_dates),
            )
            % {"count": len(cancelled_dates)},
        )
    else:
        messages.success(request, gettext("The booking is cancelled."))
    return _after_change(request, booking_id)


@require_http_methods(["GET", "POST"])
@membership_required(FRONTDESK)
def booking_reschedule_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    """GET ?date=&who=<resource id|any> lists free times; POST start + resource moves the
    booking there (the search fields ride along so a refusal shows the same day)."""
    found = booking_get(booking_id=booking_id)
    tz = zone(found.resource.location.timezone)
    source = request.POST if request.method == "POST" else request.GET
    resources = list(
        found.service.resources.filter(is_active=True).select_related("location").order_by("name")
    )
    search = RescheduleSearchForm(source or None, resources=resources)
    search.is_valid()
    chosen = search.cleaned_data if search.is_bound else {}
    today = local_date(timezone.now(), tz)
    day = chosen.get("date") or max(local_date(found.starts_at, tz), today)
    who = chosen.get("who") or str(found.resource_id)
    target = next((r for r in resources if str(r.pk) == who), None)

    form = RescheduleForm(request.POST or None)
    status = 400 if search.errors else 200
    if request.method == "POST":
        status = 400
        moved_to = None
        if form.is_valid():
            try:
                moved_to = resource_get(resource_id=form.cleaned_data["resource"])
            except NotFound:
                form.add_error(None, gettext("Choose one of the free times."))
        if moved_to is not None:
            try:
                moved = booking_reschedule(
                    booking=found,
                    starts_at=form.cleaned_data["start"],
                    resource=moved_to,
                    actor=request_actor(request),
                )
            except DomainError as error:
                form.apply_domain_error(error)
                status = error.http_status
            else:
                when = moved.starts_at.astimezone(tz)
                messages.success(
                    request,
                    gettext("Moved to %(when)s with %(name)s.")
                    % {"when": date_format(when, "D j M Y, H:i"), "name": moved_to.name},
                )
                return redirect_after_post(
                    request, reverse("dashboard:booking", kwargs={"booking_id": found.pk})
                )
    options = reschedule_options(booking=found, day=day, resource=target)
    return render_page_or_partial(
        request,
        page="dashboard/reschedule.html",
        partial="dashboard/_reschedule.html",
        context={
            "booking": found,
            "options": options,
            "search": search,
            "form": form,
            "who": who,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "today": today,
        },
        status=status,
    )


# --- Conflicts ---------------------------------------------------------------------


@require_GET
@membership_required(SCHEDULER)
def conflicts(request: HttpRequest) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/conflicts.html",
        partial="dashboard/_conflicts.html",
        context={"conflicts": booking_conflicts()},
    )
