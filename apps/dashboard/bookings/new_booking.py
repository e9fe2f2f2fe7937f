"""The "New booking" screen: front desk and up book for a customer who phoned or walked
in. Reached from the bookings list and from an open stretch of the calendar (service,
person and time prefilled).

The customer is found by exact email or phone (through the lookup hashes) or by the
start of the name, or added; the free times of the chosen day come from the availability
selectors (every one, never the curated few); the booking goes through
`booking_create_by_staff`, and a payment link through billing once it has committed.
Every part works without JavaScript (the search and the free times are GET submits of
the same page); with htmx they are swapped in place."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.billing.booking_payments import booking_payment_link_send
from apps.billing.connect import online_payments_on
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.errors import IdempotencyKeyReused
from apps.bookings.idempotency import IdempotentResponse, idempotent_call
from apps.bookings.models import Booking, Customer
from apps.bookings.selectors import booking_get, customer_get, customers_search
from apps.bookings.series import repeat_rule_clean, series_create
from apps.bookings.services import CustomerInput
from apps.bookings.staff_bookings import StaffPayment, booking_create_by_staff
from apps.calendars.availability.selectors import AvailableSlots, availability_slots
from apps.calendars.grid.services import horizon_last_date
from apps.calendars.timezones import local_date, parse_wall_time, wall_time_instant, zone
from apps.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required, request_actor
from apps.dashboard.bookings.new_booking_forms import CONFIRM_NOW, NEW_CUSTOMER, NewBookingForm
from apps.dashboard.forms import DayField, search_query
from apps.resources.models import Resource, Service
from apps.resources.selectors import resource_get, resource_list, service_get, service_list

logger = logging.getLogger(__name__)

FRONTDESK = Membership.Role.FRONTDESK
# The fields a GET of the screen (a link from the calendar, a search without htmx) may
# prefill; "shown" says the page's own form sent them, so an unticked box stays so.
_PREFILL = (
    "q",
    "customer",
    "name",
    "email",
    "phone",
    "service",
    "resource",
    "date",
    "start",
    "time",
    "mode",
    "payment",
    "override_reason",
    "notes",
    "request_key",
    "every_weeks",
    "count",
    "until",
)


@dataclass(frozen=True)
class FreeTimes:
    """The free starts of a service with one person or room on one day (location time)."""

    service: Service | None = None
    resource: Resource | None = None
    day: dt.date | None = None
    available: AvailableSlots | None = None
    problem: str = ""

    @property
    def timezone(self) -> str:
        return self.resource.location.timezone if self.resource else ""


def _free_times(service_id: str, resource_id: str, day: dt.date | None) -> FreeTimes:
    try:
        service = service_get(service_id=service_id) if service_id else None
        resource = resource_get(resource_id=resource_id) if resource_id else None
    except NotFound:
        return FreeTimes(problem=_("Choose a service and a person or room."))
    if service is None or resource is None or day is None:
        return FreeTimes(service=service, resource=resource, day=day)
    if not service.resources.filter(pk=resource.pk).exists():
        return FreeTimes(
            service=service,
            resource=resource,
            day=day,
            problem=_("%(resource)s does not offer %(service)s.")
            % {"resource": resource.name, "service": service.name},
        )
    tenant = tenant_current()
    tz_name = resource.location.timezone
    now = timezone.now()
    horizon = service.horizon_days if service.horizon_days is not None else tenant.horizon_days
    if day < local_date(now, zone(tz_name)):
        problem = _("That day has passed.")
        return FreeTimes(service=service, resource=resource, day=day, problem=problem)
    if day > horizon_last_date(tz_name=tz_name, days=horizon, now=now):
        problem = _(
            "That day is beyond the booking horizon: type a time and give a reason to book it."
        )
        return FreeTimes(service=service, resource=resource, day=day, problem=problem)
    available = availability_slots(
        service=service, resource=resource, day=day, tz=tz_name, now=now, exposure_variant="all"
    )
    return FreeTimes(service=service, resource=resource, day=day, available=available)


def _value(form: NewBookingForm, name: str) -> str:
    value = form[name].value()
    return "" if value is None else str(value)


def _day_of(form: NewBookingForm) -> dt.date | None:
    return _day_clean(form["date"].value())


def _day_clean(value: Any) -> dt.date | None:
    """The day asked for, or None when there is none or it is malformed (the form
    reports that beside the field; the free times just wait for a day)."""
    try:
        day = DayField(required=False).clean(value)
    except forms.ValidationError:
        return None
    return day if isinstance(day, dt.date) else None


def _chosen_customer(customer_id: str) -> Customer | None:
    if not customer_id or customer_id == NEW_CUSTOMER:
        return None
    try:
        customer = customer_get(customer_id=customer_id)
    except NotFound:
        return None
    return None if customer.erased_at is not None else customer


def _screen(request: HttpRequest, form: NewBookingForm, *, status: int = 200) -> HttpResponse:
    services = {str(service.pk): service for service in form.services}
    chosen_service = services.get(_value(form, "service"))
    times = _free_times(_value(form, "service"), _value(form, "resource"), _day_of(form))
    query, search_errors = search_query(form.fields["q"], form["q"].value())
    return render_page_or_partial(
        request,
        page="dashboard/booking_new.html",
        partial="dashboard/_booking_new.html",
        context={
            "form": form,
            "times": times,
            "chosen_start": _value(form, "start"),
            "customers": customers_search(query=query),
            # A sent form reports a refused search beside the box; a GET beside the results.
            "search_errors": [] if form.is_bound else search_errors,
            "chosen_customer": _chosen_customer(_value(form, "customer")),
            "customer_value": _value(form, "customer"),
            "service_is_paid": chosen_service is not None and chosen_service.is_paid,
        },
        status=status,
    )


def _form(data: Any = None, initial: dict[str, Any] | None = None) -> NewBookingForm:
    return NewBookingForm(
        data,
        initial=initial,
        services=list(service_list()),
        resources=list(resource_list()),
        payment_links=online_payments_on(tenant_current()),
    )


def _initial(request: HttpRequest) -> dict[str, Any]:
    initial: dict[str, Any] = {
        name: request.GET[name] for name in _PREFILL if request.GET.get(name)
    }
    if "shown" in request.GET:
        initial["notify"] = "notify" in request.GET
        # A series' tick comes back too, or Book would make a single booking.
        initial["repeat"] = "repeat" in request.GET
    elif initial.get("resource") and not initial.get("service"):
        # From the calendar: a person or room with one service books that service.
        initial["service"] = _only_service_of(initial["resource"])
    initial.setdefault("request_key", uuid.uuid4().hex)
    return initial


def _only_service_of(resource_id: str) -> str:
    try:
        resource = resource_get(resource_id=resource_id)
    except NotFound:
        return ""
    offered = list(service_list().filter(resources=resource).values_list("pk", flat=True)[:2])
    return str(offered[0]) if len(offered) == 1 else ""


@require_http_methods(["GET", "POST"])
@membership_required(FRONTDESK)
def booking_new(request: HttpRequest) -> HttpResponse:
    """GET: the form, prefilled from the query (`service`, `resource`, `date`, `time`;
    the calendar's open stretches link here). POST: books, and on success goes to the
    booking's page; a refusal re-renders the form with what was typed."""
    if request.method != "POST":
        return _screen(request, _form(initial=_initial(request)))
    form = _form(request.POST)
    if not form.is_valid():
        return _screen(request, form, status=400)
    try:
        booking, replayed = _book(request, form)
    except IdempotencyKeyReused:
        # This key went with other details: a fresh one lets the next press book.
        form = _form({**request.POST.dict(), "request_key": uuid.uuid4().hex})
        form.is_valid()
        form.add_error(
            None,
            _("This form was already sent with other details. Check them and press Book again."),
        )
        return _screen(request, form, status=409)
    except DomainError as error:
        form.apply_domain_error(error)
        return _screen(request, form, status=error.http_status)
    if booking.series_id is not None:
        messages.success(request, _("The series is booked and confirmed."))
    elif booking.status == Booking.Status.CONFIRMED:
        messages.success(request, _("The booking is confirmed."))
    else:
        messages.success(request, _("The time is held for the customer."))
    if form.cleaned_data.get("payment") == StaffPayment.LINK and not replayed:
        _payment_link_send(request, booking)
    return redirect_after_post(request, reverse("dashboard:booking", args=[booking.pk]))


def _book(request: HttpRequest, form: NewBookingForm) -> tuple[Booking, bool]:
    data = form.cleaned_data
    try:
        service = service_get(service_id=data["service"])
        resource = resource_get(resource_id=data["resource"])
    except NotFound as exc:
        raise ValidationFailed(
            _("Choose a service and a person or room."),
            [FieldError("resource", _("Choose a service and a person or room."))],
        ) from exc
    customer = _customer_input(data)
    starts_at = data.get("start") or wall_time_instant(
        data["date"], parse_wall_time(data["time"]), zone(resource.location.timezone)
    )
    payment = data.get("payment") or ""
    actor = request_actor(request)

    def perform() -> IdempotentResponse:
        if data.get("repeat"):
            return _series_book(data, service, resource, starts_at, customer, actor)
        booking = booking_create_by_staff(
            service=service,
            resource=resource,
            starts_at=starts_at,
            customer=customer,
            actor=actor,
            confirm=data["mode"] == CONFIRM_NOW,
            payment=payment,
            notify=bool(data.get("notify")),
            override_reason=data.get("override_reason") or "",
            notes=data.get("notes") or "",
        )
        return IdempotentResponse(status_code=303, body=str(booking.pk))

    payload = {name: str(value) for name, value in data.items() if name not in ("q", "request_key")}
    answer = idempotent_call(
        # A form without its key (not this page's) still books, just once per press.
        key=data.get("request_key") or uuid.uuid4().hex,
        actor=actor,
        payload=payload,
        perform=perform,
    )
    return booking_get(booking_id=answer.body), answer.replayed


def _series_book(
    data: dict[str, Any],
    service: Service,
    resource: Resource,
    starts_at: dt.datetime,
    customer: CustomerInput,
    actor: ActorRef,
) -> IdempotentResponse:
    """A repeated booking: every date booked and confirmed, or the conflicts listed
    (SeriesConflicts) and nothing booked. The answer names the first occurrence."""
    rule = repeat_rule_clean(
        every_weeks=data.get("every_weeks") or "",
        count=data.get("count") or "",
        until=data.get("until") or "",
        first_day=local_date(starts_at, zone(resource.location.timezone)),
    )
    series = series_create(
        service=service,
        resource=resource,
        first_starts_at=starts_at,
        rule=rule,
        customer=customer,
        actor=actor,
        source=Booking.Source.ADMIN,
        payment=data.get("payment") or "",
        notify=bool(data.get("notify")),
        override_reason=data.get("override_reason") or "",
        notes=data.get("notes") or "",
    )
    first = series.occurrences.order_by("starts_at").values_list("pk", flat=True).first()
    return IdempotentResponse(status_code=303, body=str(first))


def _customer_input(data: dict[str, Any]) -> CustomerInput:
    if data["customer"] == NEW_CUSTOMER:
        return CustomerInput(name=data["name"], email=data["email"], phone=data["phone"])
    customer = _chosen_customer(data["customer"])
    if customer is None:
        message = _("Choose a customer, or add a new one.")
        raise ValidationFailed(message, [FieldError("customer", message)])
    return CustomerInput(name=customer.name, email=customer.email, phone=customer.phone)


def _payment_link_send(request: HttpRequest, booking: Booking) -> None:
    """The hold has committed: open its checkout and email the link. When that fails
    the booking stays held and staff are told why (the hold's page can try again)."""
    if (
        booking.status != Booking.Status.HELD
        or booking.payment_status != Booking.PaymentStatus.PENDING
    ):
        return
    tenant = tenant_current()
    token = booking_access_token(booking_id=booking.pk, ends_at=booking.ends_at)
    base = tenant_base_url(tenant)
    try:
        booking_payment_link_send(
            booking=booking,
            tenant=tenant,
            success_url=base + reverse("booking:booked", args=[token]),
            cancel_url=base + reverse("booking:hold", args=[token]),
            actor=request_actor(request),
        )
    except DomainError as error:
        logger.warning(
            "dashboard.payment_link_not_sent",
            extra={"booking_id": str(booking.pk), "code": error.code},
        )
        messages.warning(
            request,
            _("The payment link could not be sent: %(reason)s") % {"reason": error.message},
        )
        return
    messages.success(request, _("The customer was emailed a link to pay."))


@require_GET
@membership_required(FRONTDESK)
def booking_new_customers(request: HttpRequest) -> HttpResponse:
    """The search's answers (htmx swaps them into the form); a search the form's field
    refuses finds nobody and says why."""
    typed = request.GET.get("q", "")
    query, search_errors = search_query(NewBookingForm.base_fields["q"], typed)
    return render(
        request,
        "dashboard/_booking_new_customers.html",
        {
            "customers": customers_search(query=query),
            "query": typed,
            "search_errors": search_errors,
            "customer_value": request.GET.get("customer", ""),
        },
    )


@require_GET
@membership_required(FRONTDESK)
def booking_new_times(request: HttpRequest) -> HttpResponse:
    """The free times of the chosen service, person and day (htmx swaps them in)."""
    day = _day_clean(request.GET.get("date", ""))
    times = _free_times(request.GET.get("service", ""), request.GET.get("resource", ""), day)
    return render(
        request,
        "dashboard/_booking_new_times.html",
        {"times": times, "chosen_start": request.GET.get("start", "")},
    )
