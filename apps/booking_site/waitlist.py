"""Customer pages of the waitlist: joining it when a day or a time is full
(`/book/<service>/<who>/waitlist/`), and an offer's one-click link
(`/waitlist/offer/<token>/`, from the offer's email or text).

The offer's link opens a page with one button rather than confirming on GET: mail
scanners and link previews fetch links, and must not take a place for anyone. A free
service's button confirms the hold; a paid one's opens the booking pages' checkout for
that hold (the hold lasts as long as the checkout, as any paid hold's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from apps.booking_site.forms import DescribedForm
from apps.booking_site.intake_fields import IntakeAnswersMixin
from apps.booking_site.selectors import bookable_service_get
from apps.booking_site.views import (
    ANYONE,
    _booking_post_wait,
    _display,
    _page,
    _too_many_requests,
    _who,
    customer_page,
    taking_bookings,
)
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.errors import InvalidTransition
from apps.bookings.models import Booking
from apps.bookings.services import NAME_MAX_LENGTH, CustomerInput
from apps.calendars.timezones import local_time_span
from apps.core.errors import NotFound, ValidationFailed
from apps.resources.intake import questions_of
from apps.waitlist.errors import OfferGone, WaitlistAlreadyWaiting, WaitlistTimeFree
from apps.waitlist.models import WaitlistOffer
from apps.waitlist.offer_links import offer_token_read
from apps.waitlist.selectors import waitlist_offer_get
from apps.waitlist.services import waitlist_join, waitlist_offer_accept

JOIN_ACTOR = ActorRef.customer("", label="booking page")
# The days the join form accepts (as the API's instants, apps/api/fields.py).
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)


class WaitlistJoinForm(IntakeAnswersMixin, DescribedForm):
    """The day (and, if they like, the times of it) a customer waits for, how to reach
    them, and the service's intake questions (`questions=`, asked as the details form
    asks them: the offer's hold is made with the answers). Shape only: the waitlist
    service decides."""

    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    earliest = forms.TimeField(
        label=_("From"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_("Leave both times empty to take any time that day."),
    )
    latest = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH)
    email = forms.CharField(label=_("Email"), max_length=254)
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=40,
        required=False,
        help_text=_("We text you as well when a place frees, if the business sends texts."),
    )

    def clean_day(self) -> dt.date:
        # Read in the location's zone, a day at the calendar's very ends would overflow.
        day: dt.date = self.cleaned_data["day"]
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(
                gettext("Choose a day between %(first)s and %(last)s.")
                % {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()}
            )
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", gettext("The last time must not be before the first."))
        return data

    def span(self, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
        """The acceptable starts as instants, read in `zone_name`."""
        data = self.cleaned_data
        return local_time_span(data["day"], data.get("earliest"), data.get("latest"), zone_name)


@customer_page
@taking_bookings
@require_http_methods(["GET", "POST"])
def join_page(request: HttpRequest, service_id: str, who: str) -> HttpResponse:
    service = bookable_service_get(service_id=service_id)
    resource = _who(service, who)
    display = _display(request, service=service, resource=resource)
    when_url = reverse("booking:when", args=[service.pk, who])
    status = 200
    free_url = ""
    joined = None
    questions = questions_of(service=service)
    if request.method == "POST":
        wait = _booking_post_wait(request)
        if wait is not None:
            return _too_many_requests(request, wait)
        form = WaitlistJoinForm(request.POST, questions=questions)
        if form.is_valid():
            earliest_at, latest_at = form.span(display.name)
            try:
                joined = waitlist_join(
                    service=service,
                    resource=resource,
                    earliest_at=earliest_at,
                    latest_at=latest_at,
                    customer=CustomerInput(
                        name=form.cleaned_data["name"],
                        email=form.cleaned_data["email"],
                        phone=form.cleaned_data["phone"],
                    ),
                    actor=JOIN_ACTOR,
                    answers=form.answers(),
                )
            except WaitlistTimeFree as error:
                form.add_error(None, gettext(error.message))
                free_url = f"{when_url}?day={form.cleaned_data['day'].isoformat()}"
                status = 409
            except WaitlistAlreadyWaiting as error:
                form.add_error(None, gettext(error.message))
                status = 409
            except ValidationFailed as error:
                form.apply_domain_error(error, own={"name", "email", "phone", "earliest", "latest"})
                status = 400
        else:
            status = 400
    else:
        form = WaitlistJoinForm(initial={"day": request.GET.get("day", "")}, questions=questions)
    return _page(
        request,
        "booking_site/_waitlist_join.html",
        {
            "page_title": gettext("Join the waitlist"),
            "service": service,
            "resource": resource,
            "who": who if resource is not None else ANYONE,
            "form": form,
            "joined": joined,
            "free_url": free_url,
            "when_url": when_url,
        },
        status=status,
        display=display,
    )


def _offer_from_token(token: str) -> WaitlistOffer:
    offer_id = offer_token_read(token)
    if offer_id is None:
        raise NotFound(gettext("No such offer."))
    return waitlist_offer_get(offer_id=offer_id)


@customer_page
@require_http_methods(["GET", "POST"])
def offer_page(request: HttpRequest, token: str) -> HttpResponse:
    """The offer with its one button; POST confirms it (a free service)."""
    offer = _offer_from_token(token)
    booking = offer.booking
    booking_token = booking_access_token(booking_id=booking.pk, ends_at=booking.ends_at)
    booked_url = reverse("booking:booked", args=[booking_token])
    status = 200
    if request.method == "POST":
        try:
            waitlist_offer_accept(offer=offer)
        except (OfferGone, InvalidTransition, ValidationFailed):
            # Lapsed, or a paid place (it is taken by paying, from the hold's page).
            status = 409
        else:
            return HttpResponseRedirect(booked_url, status=303)
        booking = Booking.objects.get(pk=booking.pk)
    if booking.status in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED):
        return HttpResponseRedirect(booked_url, status=303)
    live = (
        booking.status == Booking.Status.HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at > timezone.now()
    )
    display = _display(request, service=booking.service, resource=booking.resource)
    return _page(
        request,
        "booking_site/_waitlist_offer.html",
        {
            "page_title": gettext("A place is free for you"),
            "offer": offer,
            "booking": booking,
            "service": booking.service,
            "live": live,
            "paid": booking.payment_status == Booking.PaymentStatus.PENDING,
            "hold_url": reverse("booking:hold", args=[booking_token]),
            "token": token,
        },
        status=status if live or status != 200 else 410,
        display=display,
    )
