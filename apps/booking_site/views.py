"""The customer booking pages on a business's own subdomain (no account needed).

    /                                 choose a service
    /book/<service>/                  choose a person or room, or anyone
    /book/<service>/<who>/            choose a day (a month view) and a time
    /book/<service>/<who>/details/    your details; POST holds the time
    /hold/<token>/                    the held time with its countdown; POST confirms
    /hold/<token>/release/            POST lets the held time go
    /booked/<token>/                  the confirmation, with "Add to calendar"
    /manage/<token>/                  the link in the emails: view, cancel, reschedule
    /manage/<token>/booking.ics

Each screen is one view that renders the whole page, or for htmx only the screen's
partial (booking_site/_*.html), which htmx swaps into #flow and pushes to history.
Without JavaScript the same links and forms work as plain GET and POST, with a redirect
after every successful POST.

`<token>` is the signed booking id that the confirmation emails carry: pages and emails
must agree on it, so this edge uses the notifications app's link and .ics builders.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.addresses import tenant_domain
from apps.accounts.selectors import tenant_current
from apps.billing.booking_payments import booking_checkout_url, booking_needs_payment
from apps.billing.connect import online_payments_on
from apps.billing.stripe_api import PaymentRefused, PaymentsUnavailable
from apps.booking_site.embed import embed_form_problem, embed_form_token, embed_of
from apps.booking_site.forms import DetailsForm, SlotForm, slot_parse, slot_value
from apps.booking_site.month_grid import (
    WEEKDAYS,
    month_clamp,
    month_first,
    month_grid,
    month_last,
    time_groups,
)
from apps.booking_site.selectors import (
    alternative_starts,
    bookable_service_get,
    bookable_services,
    booking_change_deadline,
    booking_changeable,
    booking_last_day,
    hold_is_live,
    resource_names,
    service_payment_required,
    service_resource_get,
    service_resources,
)
from apps.booking_site.timezones import (
    TZ_COOKIE,
    DisplayZone,
    business_timezone,
    display_zone,
    timezone_choices,
)
from apps.bookings.access_tokens import booking_access_read, booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.errors import (
    BookingError,
    BookingLinkExpired,
    HoldExpired,
    IdempotencyKeyReused,
    InvalidTransition,
    OutsideBookingWindow,
    SlotFull,
    SlotNotFound,
    TooLateToCancel,
)
from apps.bookings.ics import booking_invitation_ics
from apps.bookings.idempotency import IdempotentResponse, idempotent_call
from apps.bookings.models import Booking
from apps.bookings.payments import payment_amount_due, payment_checkout_current
from apps.bookings.selectors import booking_get, series_occurrences
from apps.bookings.series import (
    SeriesConflicts,
    repeat_rule_clean,
    series_cancel_from,
    series_confirm,
    series_create,
    series_offered_to_customers,
)
from apps.bookings.services import (
    CustomerInput,
    booking_cancel,
    booking_confirm,
    booking_hold,
    booking_reschedule,
)
from apps.calendars.availability.selectors import (
    AvailableSlot,
    availability_dates,
    availability_slots,
)
from apps.calendars.timezones import zone
from apps.core.entitlements import PlanInactive, PlanLimitReached, tenant_active_require
from apps.core.errors import NotFound, ValidationFailed
from apps.core.htmx import render_page_or_partial
from apps.core.languages import language_carried, language_choices, language_refused
from apps.core.rate_limits import client_ident, rate_limit_wait
from apps.resources.intake import questions_asked
from apps.resources.models import Resource, Service

logger = logging.getLogger(__name__)

ANYONE = "anyone"
STEPS = 5
PAGE = "booking_site/page.html"
EMBED_BASE = "booking_site/embed_base.html"
HOLD_ACTOR = ActorRef.customer("", label="booking page")
# Idempotency keys of the booking form are random per rendered form; this scope keeps
# them apart from the API's anonymous callers.
FORM_SCOPE = ActorRef.customer("booking-page", label="booking page")
# Places the customer asked for that someone else took, or that are not offered.
LOST_PLACE_ERRORS = (SlotFull, SlotNotFound, OutsideBookingWindow)
TZ_COOKIE_MAX_AGE = 365 * 24 * 3600


# --- Plumbing ------------------------------------------------------------------------


def _page(
    request: HttpRequest,
    partial: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    display: DisplayZone | None = None,
) -> HttpResponse:
    """The screen as a whole page, or only its partial for an htmx swap (a history
    restore after a cache miss needs the whole page). Times render in the display zone."""
    tenant = tenant_current()
    embed = embed_of(request)
    context = {
        "partial": partial,
        "display": display,
        # In a frame on the business's site: the page without the site's header.
        "embed": embed,
        "base_template": EMBED_BASE if embed is not None else "base.html",
        "carried_tz": _carried_tz(request, display),
        # The language picked on these pages (the `lang` parameter), carried on likewise.
        "carried_lang": language_carried(request),
        "language_choices": language_choices(),
        "steps": STEPS,
        **context,
    }
    with timezone.override(zone(display.name if display else tenant.timezone)):
        response = render_page_or_partial(
            request, page=PAGE, partial=partial, context=context, status=status
        )
    if display is not None:
        _remember_zone(request, response, display)
    return response


def _carried_tz(request: HttpRequest, display: DisplayZone | None) -> str:
    """The zone the visitor picked explicitly (the `tz` parameter), which links and
    forms carry on so the choice holds without cookies; "" when none was picked, so a
    default is never mistaken for a choice."""
    source = request.POST if request.method == "POST" else request.GET
    if display is None or display.problem or not source.get("tz"):
        return ""
    return display.name


def _remember_zone(request: HttpRequest, response: HttpResponse, display: DisplayZone) -> None:
    """A zone picked explicitly is kept for the next visit."""
    carried = _carried_tz(request, display)
    if carried and request.COOKIES.get(TZ_COOKIE) != carried:
        response.set_cookie(
            TZ_COOKIE, carried, max_age=TZ_COOKIE_MAX_AGE, samesite="Lax", httponly=False
        )


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _with_query(url: str, **params: str | None) -> str:
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{url}?{query}" if query else url


def customer_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anything a URL names that does not exist here (an unknown or malformed id, another
    business's id, a date that is no date) is a friendly 404, never an error page. Reads
    are rate limited per client (PRODUCT.md §4.8), in the API's bucket for anonymous
    reads: a friendly 429 past the limit."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            wait = _read_wait(request)
            if wait is not None:
                return _too_many_requests(request, wait)
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            return _page(
                request,
                "booking_site/_not_found.html",
                {"page_title": gettext("Page not found")},
                status=404,
            )
        except BookingLinkExpired:
            # A genuine link whose booking is long over: say so, and who can help.
            return _page(
                request,
                "booking_site/_link_expired.html",
                {
                    "page_title": gettext("This link has expired"),
                    "tenant_name": tenant_current().name,
                    "grace_days": settings.BOOKING_LINK_GRACE_DAYS,
                },
                status=410,
            )
        except (PlanInactive, PlanLimitReached):
            # Customers never see plan talk: the business is simply not taking bookings.
            return _page(
                request,
                "booking_site/_closed.html",
                {
                    "page_title": gettext("Not taking bookings online"),
                    "tenant_name": tenant_current().name,
                },
                status=503,
            )

    return wrapper


def taking_bookings(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The steps towards a new booking are closed while the business is suspended
    (existing bookings stay manageable), and until a new business goes live (its
    first-day checklist, apps/calendars/first_day.py)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant_active_require()
        tenant = tenant_current()
        if tenant.live_at is None:
            return _page(
                request,
                "booking_site/_not_live.html",
                {"page_title": gettext("Opening soon"), "tenant_name": tenant.name},
                status=503,
            )
        return view(request, *args, **kwargs)

    return wrapper


def _booking_from_token(token: str) -> Booking:
    booking_id = booking_access_read(token, surface="pages")
    if booking_id is None:
        raise NotFound(gettext("No such booking."))
    return booking_get(booking_id=str(booking_id))


def _date_param(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise NotFound(gettext("That is not a date.")) from None


def _month_param(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(f"{value.strip()}-01")
    except ValueError:
        raise NotFound(gettext("That is not a month.")) from None


def _viewer_key(request: HttpRequest) -> str:
    """Who sees a curated pick of times: the session, else the CSRF cookie (set by the
    first form), else the address."""
    for cookie in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        value = request.COOKIES.get(cookie)
        if value:
            return f"{cookie}:{value[:64]}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def _booking_post_wait(request: HttpRequest) -> int | None:
    """Seconds to wait when this client sent too many booking POSTs (PRODUCT.md §4.8), else
    None. It counts in the API's bucket for anonymous booking writes, so mixing the pages
    and the API does not double the allowance; with Redis out of reach this process
    keeps counting (fail closed)."""
    wait = rate_limit_wait(scope="anon_booking", ident=client_ident(request), fail_closed=True)
    if wait is not None:
        logger.info("booking_page.throttled")
    return wait


def _read_wait(request: HttpRequest) -> int | None:
    """Seconds to wait when this client read too many pages, else None. With Redis out of
    reach pages are served (fail open): reads change nothing."""
    wait = rate_limit_wait(scope="anon_read", ident=client_ident(request))
    if wait is not None:
        logger.info("booking_page.throttled", extra={"scope": "anon_read"})
    return wait


def _too_many_requests(request: HttpRequest, wait: int) -> HttpResponse:
    response = _page(
        request,
        "booking_site/_too_many.html",
        {"page_title": gettext("Too many requests"), "wait": wait},
        status=429,
    )
    return _throttled(response, wait)


def _throttled(response: HttpResponse, wait: int) -> HttpResponse:
    response["Retry-After"] = str(wait)
    return response


def _who(service: Service, who: str) -> Resource | None:
    return None if who == ANYONE else service_resource_get(service=service, resource_id=who)


def _display(request: HttpRequest, *, service: Service, resource: Resource | None) -> DisplayZone:
    business = business_timezone(tenant=tenant_current(), service=service, resource=resource)
    return display_zone(request, business=business)


def _customer_actor(booking: Booking) -> ActorRef:
    return ActorRef.customer(str(booking.customer_id), label="booking page")


@dataclass(frozen=True)
class Choice:
    """A free start offered as a link or a radio button."""

    slot: AvailableSlot
    value: str
    resource_name: str


def _choices(slots: list[AvailableSlot]) -> list[Choice]:
    names = resource_names(resource_ids=[slot.resource_id for slot in slots])
    return [
        Choice(
            slot,
            slot_value(resource_id=slot.resource_id, start=slot.start),
            names.get(slot.resource_id, ""),
        )
        for slot in slots
    ]


def _calendar_context(
    request: HttpRequest,
    *,
    service: Service,
    resource: Resource | None,
    display: DisplayZone,
) -> dict[str, Any]:
    """The month grid and the chosen day's times (`?month=YYYY-MM&day=YYYY-MM-DD`)."""
    today = timezone.now().astimezone(zone(display.name)).date()
    last_day = booking_last_day(service=service, tenant=tenant_current(), today=today)
    day = _date_param(request.GET.get("day"))
    month = _month_param(request.GET.get("month")) or day or today
    month = month_clamp(month, first=today, last=last_day)
    first_shown, last_shown = max(month, today), min(month_last(month), last_day)
    free_by_day: dict[dt.date, int] = {}
    if first_shown <= last_shown:
        dates = availability_dates(
            service=service, resource=resource, start=first_shown, end=last_shown, tz=display.name
        )
        free_by_day = {entry.day: entry.free for entry in dates.dates}
    grid = month_grid(
        month=month, free_by_day=free_by_day, today=today, last_day=last_day, selected=day
    )
    slots = None
    groups: list[Any] = []
    if day is not None:
        slots = availability_slots(
            service=service,
            resource=resource,
            day=day,
            tz=display.name,
            viewer_key=_viewer_key(request),
        )
        for group in time_groups(slots.slots):
            groups.append((group.label, _choices(group.slots)))
    return {
        "grid": grid,
        "weekdays": WEEKDAYS,
        "day": day,
        "slots": slots,
        "time_groups": groups,
        "zone_choices": timezone_choices(display.name),
        "month_key": month_first(grid.month).strftime("%Y-%m"),
    }


# --- Choosing ------------------------------------------------------------------------


@customer_page
@taking_bookings
@require_GET
def services_page(request: HttpRequest) -> HttpResponse:
    """The business's home: what can be booked."""
    return _page(
        request,
        "booking_site/_services.html",
        {"page_title": gettext("Book an appointment"), "services": list(bookable_services())},
    )


@customer_page
@taking_bookings
@require_GET
def who_page(request: HttpRequest, service_id: str) -> HttpResponse:
    service = bookable_service_get(service_id=service_id)
    resources = list(service_resources(service=service))
    return _page(
        request,
        "booking_site/_who.html",
        {
            "page_title": gettext("%(service)s: with whom") % {"service": service.name},
            "service": service,
            "resources": resources,
            "anyone": ANYONE,
            "tz": request.GET.get("tz", ""),
            "step": 2,
        },
    )


@customer_page
@taking_bookings
@require_GET
def when_page(request: HttpRequest, service_id: str, who: str) -> HttpResponse:
    service = bookable_service_get(service_id=service_id)
    resource = _who(service, who)
    display = _display(request, service=service, resource=resource)
    context = _calendar_context(request, service=service, resource=resource, display=display)
    return _page(
        request,
        "booking_site/_when.html",
        {
            "page_title": gettext("%(service)s: choose a time") % {"service": service.name},
            "service": service,
            "resource": resource,
            "who": who,
            "step": 3,
            "details_url": reverse("booking:details", args=[service.pk, who]),
            **context,
        },
        display=display,
    )


# --- Holding -------------------------------------------------------------------------


@customer_page
@taking_bookings
@require_http_methods(["GET", "POST"])
def details_page(request: HttpRequest, service_id: str, who: str) -> HttpResponse:
    """The customer's details for the chosen time (`?slot=`); POST holds it.

    A double-submitted form holds once: its hidden idempotency key makes the second POST
    replay the first one's answer. When the time was taken meanwhile, the form comes back
    with what was typed and the nearest free times to pick from."""
    service = bookable_service_get(service_id=service_id)
    embedded = embed_of(request) is not None
    chosen_by = _who(service, who)
    asked = slot_parse(request.GET.get("slot"))
    if asked is None:
        raise NotFound(gettext("No time was chosen."))
    resource = service_resource_get(service=service, resource_id=asked[0])
    starts_at = asked[1]
    # Phones may be typed as they are written in the location's country.
    region = resource.location.country or None
    questions = list(questions_asked(service=service))
    display = _display(request, service=service, resource=resource)
    status = 200
    lost: BookingError | None = None
    wait: int | None = None
    problem = ""
    # A service that allows it may be booked as a weekly series from this form.
    series_offered = series_offered_to_customers(service)
    series_conflicts: list[str] = []
    if request.method == "POST":
        form = DetailsForm(request.POST, phone_region=region, questions=questions)
        wait = _booking_post_wait(request)
        # In a frame there is no CSRF cookie: the form's signed token stands in for it.
        refusal = embed_form_problem(request, service_id=str(service.pk)) if embedded else None
        if wait is not None:
            status = 429
        elif refusal is not None:
            problem, status = refusal, 403
            form = DetailsForm(
                {**request.POST.dict(), "idempotency_key": uuid.uuid4().hex},
                phone_region=region,
                questions=questions,
            )
        elif language_refused(request):
            # A `lang` we do not speak: nothing is held; the form comes back as typed.
            problem, status = language_refused(request), 400
        elif form.is_valid():
            chosen_id, chosen_start = form.cleaned_data["slot"]
            chosen = service_resource_get(service=service, resource_id=chosen_id)
            resource, starts_at = chosen, chosen_start
            as_series = series_offered and bool(form.cleaned_data.get("repeat"))
            try:
                if as_series:
                    outcome = _series_book(
                        form, service=service, resource=chosen, starts_at=chosen_start
                    )
                else:
                    outcome = _hold(form, service=service, resource=chosen, starts_at=chosen_start)
            except SeriesConflicts as error:
                problem, status = error.message, error.http_status
                series_conflicts = [detail.message for detail in error.details]
            except ValidationFailed as error:
                form.apply_domain_error(
                    error, own=DetailsForm.CUSTOMER_FIELDS | DetailsForm.REPEAT_FIELDS
                )
                status = 400
            except LOST_PLACE_ERRORS as error:
                lost, status = error, 409
            except IdempotencyKeyReused:
                problem = gettext(
                    "This form was already sent with other details. Check them and send it again."
                )
                form = DetailsForm(
                    {**request.POST.dict(), "idempotency_key": uuid.uuid4().hex},
                    phone_region=region,
                    questions=questions,
                )
                status = 409
            else:
                # A series is held like one booking: its first date's hold page lists all.
                url = reverse("booking:hold", args=[outcome.body])
                return _see_other(
                    _with_query(
                        url, tz=_carried_tz(request, display), lang=language_carried(request)
                    )
                )
        else:
            status = 400
            if "slot" in form.errors:
                lost = SlotNotFound(gettext("Choose one of the times below."))
    else:
        form = DetailsForm(
            initial={"slot": request.GET.get("slot"), "idempotency_key": uuid.uuid4().hex},
            phone_region=region,
            questions=questions,
        )
    alternatives: list[Choice] = []
    if lost is not None:
        alternatives = _choices(
            alternative_starts(
                service=service,
                resource=chosen_by,
                around=starts_at,
                tz=display.name,
                viewer_key=_viewer_key(request),
            )
        )
    back = reverse("booking:when", args=[service.pk, who])
    local_day = starts_at.astimezone(zone(display.name)).date()
    payment_required = service_payment_required(service=service)
    response = _page(
        request,
        "booking_site/_details.html",
        {
            "page_title": gettext("%(service)s: your details") % {"service": service.name},
            "service": service,
            "resource": resource,
            "who": who,
            "chosen_by": chosen_by,
            "start": starts_at,
            "end": starts_at + dt.timedelta(minutes=service.duration_minutes),
            "form": form,
            "lost": lost,
            "alternatives": alternatives,
            "problem": problem,
            "series_offered": series_offered,
            "series_conflicts": series_conflicts,
            "series_max_days": settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD,
            "wait": wait,
            "payment_required": payment_required,
            # Asked only of a service paid when booking: free ones cost no query here.
            "online_payment": payment_required and online_payments_on(tenant_current()),
            "back_url": _with_query(
                back,
                day=local_day.isoformat(),
                tz=_carried_tz(request, display),
                lang=language_carried(request),
            ),
            "embed_token": (
                embed_form_token(service_id=str(service.pk), key=form["idempotency_key"].value())
                if embedded
                else ""
            ),
            "step": 4,
        },
        status=status,
        display=display,
    )
    return _throttled(response, wait) if wait is not None else response


def _hold(
    form: DetailsForm, *, service: Service, resource: Resource, starts_at: dt.datetime
) -> IdempotentResponse:
    """Holds the time once per form (idempotency key); the answer is the booking's
    token, which a repeated POST gets back instead of a second hold."""
    data = form.cleaned_data
    key = data["idempotency_key"]

    def perform() -> IdempotentResponse:
        booking = booking_hold(
            service=service,
            resource=resource,
            starts_at=starts_at,
            customer=CustomerInput(name=data["name"], email=data["email"], phone=data["phone"]),
            notes=data["notes"],
            answers=form.answers(),
            source=Booking.Source.PAGE,
            actor=HOLD_ACTOR,
            idempotency_key=key,
            # An error ends the idempotency record's transaction.
            savepoint=False,
        )
        token = booking_access_token(booking_id=booking.id, ends_at=booking.ends_at)
        return IdempotentResponse(status_code=303, body=token)

    return idempotent_call(
        key=key,
        actor=FORM_SCOPE,
        payload={"service": str(service.pk), **form.payload()},
        perform=perform,
    )


def _series_book(
    form: DetailsForm, *, service: Service, resource: Resource, starts_at: dt.datetime
) -> IdempotentResponse:
    """Holds every date of the series, or none (SeriesConflicts lists the dates that
    cannot be booked); once per form, like a hold. The answer is the first occurrence's
    token, whose hold page confirms them all."""
    data = form.cleaned_data
    key = data["idempotency_key"]

    def perform() -> IdempotentResponse:
        rule = repeat_rule_clean(
            every_weeks=data.get("every_weeks") or "",
            count=data.get("count") or "",
            until=data.get("until") or "",
            first_day=starts_at.astimezone(zone(resource.location.timezone)).date(),
        )
        series = series_create(
            service=service,
            resource=resource,
            first_starts_at=starts_at,
            rule=rule,
            customer=CustomerInput(name=data["name"], email=data["email"], phone=data["phone"]),
            actor=HOLD_ACTOR,
            source=Booking.Source.PAGE,
            notes=data["notes"],
            answers=form.answers(),
            confirm=False,
        )
        first = series.occurrences.order_by("starts_at").first()
        assert first is not None
        token = booking_access_token(booking_id=first.id, ends_at=first.ends_at)
        return IdempotentResponse(status_code=303, body=token)

    return idempotent_call(
        key=key,
        actor=FORM_SCOPE,
        payload={"service": str(service.pk), **form.payload()},
        perform=perform,
    )


def _payment_context(booking: Booking) -> dict[str, Any]:
    """What the hold page says about paying; a booking with nothing to pay costs no
    query for it."""
    if booking.payment_status != Booking.PaymentStatus.PENDING:
        return {"online_payment": False, "checkout_open": False, "amount_due": None}
    return {
        "online_payment": online_payments_on(tenant_current()),
        "checkout_open": payment_checkout_current(booking) is not None,
        "amount_due": payment_amount_due(booking),
    }


def _pick_again_url(request: HttpRequest, booking: Booking, display: DisplayZone) -> str:
    url = reverse("booking:when", args=[booking.service_id, booking.resource_id])
    day = booking.starts_at.astimezone(zone(display.name)).date()
    return _with_query(
        url, day=day.isoformat(), tz=_carried_tz(request, display), lang=language_carried(request)
    )


def _booking_context(booking: Booking, token: str) -> dict[str, Any]:
    return {
        "booking": booking,
        "token": token,
        "service": booking.service,
        "resource": booking.resource,
        "start": booking.starts_at,
        "end": booking.ends_at,
        # What was typed with this booking, never the customer record found by its
        # email (that record is someone's, whoever typed the address).
        "contact_name": booking.contact.name,
        "masked_email": booking.contact.masked_email,
        "payment_pending": booking.payment_status == Booking.PaymentStatus.PENDING,
    }


@customer_page
@require_http_methods(["GET", "POST"])
def hold_page(request: HttpRequest, token: str) -> HttpResponse:
    """The held time with its countdown; POST confirms it."""
    booking = _booking_from_token(token)
    display = _display(request, service=booking.service, resource=booking.resource)
    status = 200
    problem = ""
    if request.method == "POST" and language_refused(request):
        problem, status = language_refused(request), 400  # nothing confirmed: the page again
    elif request.method == "POST":
        try:
            if booking.series_id is not None:
                # A series' dates are confirmed together, or none is.
                series_confirm(booking=booking, actor=_customer_actor(booking))
                booking = booking_get(booking_id=booking.pk)
            else:
                booking = booking_confirm(booking=booking, actor=_customer_actor(booking))
        except HoldExpired:
            booking = booking_get(booking_id=booking.pk)
            status = 409
        except InvalidTransition as error:
            problem, status = gettext(error.message), 409
        else:
            return _see_other(
                _with_query(
                    reverse("booking:booked", args=[token]),
                    tz=_carried_tz(request, display),
                    lang=language_carried(request),
                )
            )
    if booking.status in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED):
        return _see_other(
            _with_query(
                reverse("booking:booked", args=[token]),
                tz=_carried_tz(request, display),
                lang=language_carried(request),
            )
        )
    if booking.status == Booking.Status.NO_SHOW:
        return _see_other(reverse("booking:manage", args=[token]))
    state = (
        "live"
        if hold_is_live(booking=booking)
        else "released"
        if booking.status == Booking.Status.CANCELLED
        else "expired"
    )
    return _page(
        request,
        "booking_site/_hold.html",
        {
            **_booking_context(booking, token),
            "page_title": gettext("Confirm your booking")
            if state == "live"
            else gettext("Your hold"),
            "state": state,
            "problem": problem,
            "hold_minutes": tenant_current().hold_ttl_minutes,
            **_payment_context(booking),
            "pick_again_url": _pick_again_url(request, booking, display),
            "step": 5 if state == "live" else None,
            # A series' hold page lists every date it holds.
            "series": series_occurrences(booking=booking),
        },
        status=status,
        display=display,
    )


@customer_page
@require_POST
def pay_page(request: HttpRequest, token: str) -> HttpResponse:
    """Opens (or reopens) Stripe's payment page for a held booking that awaits payment;
    the hold lasts as long as that page. Stripe out of reach: the hold stays, and the
    hold page says so and offers the button again."""
    booking = _booking_from_token(token)
    display = _display(request, service=booking.service, resource=booking.resource)
    hold_url = _with_query(
        reverse("booking:hold", args=[token]),
        tz=_carried_tz(request, display),
        lang=language_carried(request),
    )
    if not booking_needs_payment(booking):
        return _see_other(hold_url)
    # Stripe's page comes back to the pages outside any frame (paying from the widget
    # opens it in a new tab; the business may also have removed its sites meanwhile).
    tz = _carried_tz(request, display)
    back = settings.ROOT_URLCONF
    lang = language_carried(request)
    booked_url = _with_query(
        reverse("booking:booked", args=[token], urlconf=back), tz=tz, lang=lang
    )
    cancel_url = _with_query(reverse("booking:hold", args=[token], urlconf=back), tz=tz, lang=lang)
    try:
        url = booking_checkout_url(
            booking=booking,
            tenant=tenant_current(),
            success_url=request.build_absolute_uri(booked_url),
            cancel_url=request.build_absolute_uri(cancel_url),
        )
    except HoldExpired:
        return _see_other(hold_url)
    except (PaymentsUnavailable, PaymentRefused) as error:
        status = 503 if isinstance(error, PaymentsUnavailable) else 409
        return _page(
            request,
            "booking_site/_hold.html",
            {
                **_booking_context(booking, token),
                "page_title": gettext("Confirm your booking"),
                "state": "live",
                "problem": gettext(error.message),
                "hold_minutes": tenant_current().hold_ttl_minutes,
                **_payment_context(booking),
                "pick_again_url": _pick_again_url(request, booking, display),
                "step": 5,
            },
            status=status,
            display=display,
        )
    return HttpResponseRedirect(url, status=303)


@customer_page
@require_POST
def release_page(request: HttpRequest, token: str) -> HttpResponse:
    """Lets a held time go for someone else, and goes back to choosing."""
    booking = _booking_from_token(token)
    display = _display(request, service=booking.service, resource=booking.resource)
    if booking.status == Booking.Status.HELD:
        try:
            if booking.series_id is not None:
                # A held series is let go whole (every date from the first on).
                let_go = series_cancel_from(
                    booking=booking,
                    actor=_customer_actor(booking),
                    reason="Let go on the booking page",
                )
            else:
                booking_cancel(
                    booking=booking,
                    actor=_customer_actor(booking),
                    reason="Let go on the booking page",
                )
                let_go = [booking]
        except InvalidTransition:
            pass  # expired meanwhile: it is free already
        else:
            if len(let_go) > 1:
                messages.info(
                    request,
                    ngettext(
                        "We let %(count)d time go.", "We let those %(count)d times go.", len(let_go)
                    )
                    % {"count": len(let_go)},
                )
            else:
                messages.info(request, gettext("We let that time go."))
    return _see_other(_pick_again_url(request, booking, display))


@customer_page
@require_GET
def booked_page(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_from_token(token)
    if booking.status == Booking.Status.HELD or booking.status == Booking.Status.EXPIRED:
        return _see_other(reverse("booking:hold", args=[token]))
    if booking.status != Booking.Status.CONFIRMED:
        return _see_other(reverse("booking:manage", args=[token]))
    display = _display(request, service=booking.service, resource=booking.resource)
    return _page(
        request,
        "booking_site/_booked.html",
        {
            **_booking_context(booking, token),
            "page_title": gettext("You are booked"),
            # The link to keep is the one outside any frame, as in the emails.
            "manage_url": request.build_absolute_uri(
                reverse("booking:manage", args=[token], urlconf=settings.ROOT_URLCONF)
            ),
            "deadline": booking_change_deadline(booking=booking, tenant=tenant_current()),
        },
        display=display,
    )


# --- Managing ------------------------------------------------------------------------


@customer_page
@require_GET
def manage_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the emails: the booking, and what the customer can still do."""
    booking = _booking_from_token(token)
    display = _display(request, service=booking.service, resource=booking.resource)
    can_change, deadline = booking_changeable(booking=booking, tenant=tenant_current())
    return _page(
        request,
        "booking_site/_manage.html",
        {
            **_booking_context(booking, token),
            "series": _series_links(booking),
            "page_title": gettext("Your booking"),
            "can_change": can_change,
            "deadline": deadline,
            "hold_live": hold_is_live(booking=booking),
            "upcoming": booking.starts_at > timezone.now(),
            "window_minutes": tenant_current().cancellation_window_minutes,
        },
        display=display,
    )


@dataclass(frozen=True)
class SeriesDate:
    """One occurrence of a customer's series, with the link to its own page."""

    booking: Booking
    manage_url: str
    current: bool


def _series_links(booking: Booking) -> list[SeriesDate]:
    """The occurrences of the booking's series, each with its own manage link (a link
    opens one booking; each occurrence's reminders carry its own)."""
    return [
        SeriesDate(
            booking=occurrence,
            manage_url=reverse(
                "booking:manage",
                args=[booking_access_token(booking_id=occurrence.pk, ends_at=occurrence.ends_at)],
            ),
            current=occurrence.pk == booking.pk,
        )
        for occurrence in series_occurrences(booking=booking)
    ]


def _series_rest_count(booking: Booking) -> int:
    """How many active occurrences "this and the rest" would cancel (0: no series)."""
    return sum(
        1
        for occurrence in series_occurrences(booking=booking)
        if occurrence.starts_at >= booking.starts_at
        and occurrence.status in Booking.ACTIVE_STATUSES
    )


@customer_page
@require_http_methods(["GET", "POST"])
def cancel_page(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_from_token(token)
    display = _display(request, service=booking.service, resource=booking.resource)
    status = 200
    problem = ""
    if request.method == "POST" and language_refused(request):
        problem, status = language_refused(request), 400  # nothing cancelled: the page again
    elif request.method == "POST":
        try:
            if request.POST.get("scope") == "rest" and booking.series_id is not None:
                # This date and every later one of the series, each cancelled on its own.
                series_cancel_from(booking=booking, actor=_customer_actor(booking))
            else:
                booking_cancel(booking=booking, actor=_customer_actor(booking), reason="")
        except TooLateToCancel:
            status = 409  # the page explains the window
        except InvalidTransition as error:
            problem, status = gettext(error.message), 409
        else:
            if request.POST.get("scope") == "rest" and booking.series_id is not None:
                messages.success(request, gettext("Your bookings from this date on are cancelled."))
            else:
                messages.success(request, gettext("Your booking is cancelled."))
            return _see_other(
                _with_query(
                    reverse("booking:manage", args=[token]),
                    tz=_carried_tz(request, display),
                    lang=language_carried(request),
                )
            )
    can_change, deadline = booking_changeable(booking=booking, tenant=tenant_current())
    return _page(
        request,
        "booking_site/_cancel.html",
        {
            **_booking_context(booking, token),
            "page_title": gettext("Cancel your booking"),
            "series_rest": _series_rest_count(booking),
            "can_change": can_change,
            "deadline": deadline,
            "problem": problem,
            "window_minutes": tenant_current().cancellation_window_minutes,
        },
        status=status,
        display=display,
    )


@customer_page
@require_http_methods(["GET", "POST"])
def reschedule_page(request: HttpRequest, token: str) -> HttpResponse:
    """A new time on the same person or room: the month and times, then (`?slot=`) the
    move to confirm; POST moves the booking in one step or not at all."""
    booking = _booking_from_token(token)
    service, resource = booking.service, booking.resource
    display = _display(request, service=service, resource=resource)
    status = 200
    problem = ""
    wait: int | None = None
    lost: BookingError | None = None
    chosen = slot_parse(request.GET.get("slot"))
    if request.method == "POST":
        form = SlotForm(request.POST)
        wait = _booking_post_wait(request)
        if wait is not None:
            status = 429
        elif language_refused(request):
            problem, status = language_refused(request), 400  # nothing moved: the page again
        elif form.is_valid():
            new_resource_id, new_start = form.cleaned_data["slot"]
            if new_resource_id != resource.pk:
                raise NotFound(gettext("Rescheduling keeps the same person or room."))
            chosen = (new_resource_id, new_start)
            try:
                booking_reschedule(
                    booking=booking, starts_at=new_start, actor=_customer_actor(booking)
                )
            except LOST_PLACE_ERRORS as error:
                lost, status = error, 409
            except TooLateToCancel:
                status = 409  # the page explains the window
            except (InvalidTransition, HoldExpired, ValidationFailed) as error:
                problem, status = gettext(error.message), 409
            else:
                messages.success(request, gettext("Your booking has moved to the new time."))
                url = reverse("booking:manage", args=[token])
                return _see_other(
                    _with_query(
                        url, tz=_carried_tz(request, display), lang=language_carried(request)
                    )
                )
        else:
            problem, status = "Choose a new time.", 400
    if chosen is not None and chosen[0] != resource.pk:
        raise NotFound(gettext("Rescheduling keeps the same person or room."))
    can_change, deadline = booking_changeable(booking=booking, tenant=tenant_current())
    context: dict[str, Any] = {}
    alternatives: list[Choice] = []
    if can_change:
        context = _calendar_context(request, service=service, resource=resource, display=display)
        if lost is not None and chosen is not None:
            alternatives = _choices(
                alternative_starts(
                    service=service,
                    resource=resource,
                    around=chosen[1],
                    tz=display.name,
                    viewer_key=_viewer_key(request),
                )
            )
    response = _page(
        request,
        "booking_site/_reschedule.html",
        {
            **_booking_context(booking, token),
            **context,
            "page_title": gettext("Choose a new time"),
            "can_change": can_change,
            "deadline": deadline,
            "window_minutes": tenant_current().cancellation_window_minutes,
            "chosen_start": chosen[1] if chosen and lost is None else None,
            "chosen_value": slot_value(resource_id=chosen[0], start=chosen[1]) if chosen else "",
            "chosen_end": (
                chosen[1] + dt.timedelta(minutes=service.duration_minutes) if chosen else None
            ),
            "lost": lost,
            "alternatives": alternatives,
            "problem": problem,
            "wait": wait,
            "time_url": reverse("booking:reschedule", args=[token]),
        },
        status=status,
        display=display,
    )
    return _throttled(response, wait) if wait is not None else response


@customer_page
@require_GET
def ics_download(request: HttpRequest, token: str) -> HttpResponse:
    """ "Add to calendar": the same event (same UID) as the confirmation email's."""
    booking = _booking_from_token(token)
    if booking.status != Booking.Status.CONFIRMED:
        raise NotFound(gettext("Only a confirmed booking goes into a calendar."))
    tenant = tenant_current()
    body = booking_invitation_ics(
        booking=booking,
        domain=tenant_domain(tenant),
        business_name=tenant.name,
        organizer_email=_organizer_address(),
        attendee_email="",
        attendee_name="",
        manage_url=request.build_absolute_uri(reverse("booking:manage", args=[token])),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="booking.ics"'
    return response


def _organizer_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "bookings@localhost"
