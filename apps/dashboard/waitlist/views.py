"""Dashboard screen "Waitlist": the line in order, with its live offers; front desk and
up move people up and down, take them out and add someone who phoned or walked in (the
customer found as the "New booking" screen finds them, through `waitlist_join` with the
staff member as actor); plain forms, swapped by htmx when JavaScript runs; managers set
the offer window."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Membership
from apps.bookings.selectors import customer_get, customers_search
from apps.bookings.services import CustomerInput
from apps.core.errors import FieldError, NotFound, ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial, wants_partial
from apps.dashboard.access import membership_required, request_actor, request_membership
from apps.dashboard.bookings.new_booking_forms import NEW_CUSTOMER
from apps.dashboard.forms import search_query
from apps.dashboard.waitlist.forms import ANYONE, MoveForm, OfferWindowForm, WaitlistAddForm
from apps.resources.selectors import resource_get, resource_list, service_get, service_list
from apps.waitlist.errors import WaitlistAlreadyWaiting, WaitlistTimeFree
from apps.waitlist.selectors import (
    waitlist_entries_open,
    waitlist_entry_get,
    waitlist_settings_get,
    waitlist_zone,
)
from apps.waitlist.services import (
    waitlist_entry_move,
    waitlist_entry_remove,
    waitlist_join,
    waitlist_settings_update,
)

FRONTDESK = Membership.Role.FRONTDESK
MANAGER = Membership.Role.MANAGER


# The add form's fields a GET of the screen (its search without JavaScript) prefills.
_PREFILL = (
    "q",
    "customer",
    "name",
    "email",
    "phone",
    "service",
    "resource",
    "day",
    "earliest",
    "latest",
)


def _add_form(data: Any = None, initial: dict[str, Any] | None = None) -> WaitlistAddForm:
    return WaitlistAddForm(
        data,
        initial=initial or {"resource": ANYONE},
        services=list(service_list()),
        resources=list(resource_list()),
    )


def _value(form: WaitlistAddForm, name: str) -> str:
    value = form[name].value()
    return "" if value is None else str(value)


def _search_query(form: WaitlistAddForm) -> str:
    """What was typed into the search, or "" when its field refuses it (a refused search
    finds nobody, as on New booking)."""
    return search_query(form.fields["q"], _value(form, "q"))[0]


def _chosen_customer(customer_id: str) -> Any:
    if not customer_id or customer_id == NEW_CUSTOMER:
        return None
    try:
        customer = customer_get(customer_id=customer_id)
    except (NotFound, ValueError):
        return None
    return None if customer.erased_at is not None else customer


def _page(
    request: HttpRequest,
    *,
    form: OfferWindowForm | None = None,
    add_form: WaitlistAddForm | None = None,
    book_url: str = "",
    status: int = 200,
) -> HttpResponse:
    entries = list(waitlist_entries_open())
    for entry in entries:
        live = [offer for offer in entry.offers.all() if offer.status == "live"]
        entry.live_offer = live[0] if live else None  # type: ignore[attr-defined]
    membership = request_membership(request)
    if add_form is None:
        prefill = {name: request.GET[name] for name in _PREFILL if request.GET.get(name)}
        add_form = _add_form(initial=prefill or None)
    return render_page_or_partial(
        request,
        page="dashboard/waitlist.html",
        partial="dashboard/_waitlist.html",
        context={
            "entries": entries,
            "can_set_window": membership.has_role(MANAGER),
            "add_form": add_form,
            "customers": customers_search(query=_search_query(add_form)),
            "chosen_customer": _chosen_customer(_value(add_form, "customer")),
            "customer_value": _value(add_form, "customer"),
            "book_url": book_url,
            "window_form": form
            or OfferWindowForm(
                initial={"offer_window_minutes": waitlist_settings_get().offer_window_minutes}
            ),
        },
        status=status,
    )


@membership_required(FRONTDESK)
@require_GET
def waitlist(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _back(request: HttpRequest) -> HttpResponse:
    # Under htmx the list is swapped in place; without it, post/redirect/get.
    if wants_partial(request):
        return _page(request)
    return redirect_after_post(request, reverse("dashboard:waitlist"))


@membership_required(FRONTDESK)
@require_POST
def waitlist_move(request: HttpRequest, entry_id: str) -> HttpResponse:
    entry = waitlist_entry_get(entry_id=entry_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400)
    waitlist_entry_move(entry=entry, direction=form.cleaned_data["direction"])
    return _back(request)


@membership_required(FRONTDESK)
@require_POST
def waitlist_remove(request: HttpRequest, entry_id: str) -> HttpResponse:
    entry = waitlist_entry_get(entry_id=entry_id)
    waitlist_entry_remove(entry=entry, actor=request_actor(request))
    messages.success(request, _("Taken off the waitlist."))
    return _back(request)


@membership_required(MANAGER)
@require_POST
def waitlist_settings(request: HttpRequest) -> HttpResponse:
    form = OfferWindowForm(request.POST)
    if form.is_valid():
        try:
            waitlist_settings_update(offer_window_minutes=form.cleaned_data["offer_window_minutes"])
        except ValidationFailed as error:
            form.apply_domain_error(error)
        else:
            messages.success(request, _("Offer window saved."))
            return redirect_after_post(request, reverse("dashboard:waitlist"))
    return _page(request, form=form, status=400)


@membership_required(FRONTDESK)
@require_POST
def waitlist_add(request: HttpRequest) -> HttpResponse:
    """Adds someone to the line, as a customer joining would (a free time is refused
    with a link to book it instead); a refusal re-renders the form with what was typed."""
    form = _add_form(request.POST)
    if not form.is_valid():
        return _page(request, add_form=form, status=400)
    data = form.cleaned_data
    try:
        service = service_get(service_id=data["service"])
        resource = (
            resource_get(resource_id=data["resource"]) if data["resource"] != ANYONE else None
        )
        customer = _customer_input(data)
    except NotFound:
        form.add_error("resource", _("Choose a service and a person or room."))
        return _page(request, add_form=form, status=400)
    except ValidationFailed as error:
        form.apply_domain_error(error)
        return _page(request, add_form=form, status=400)
    earliest_at, latest_at = form.span(waitlist_zone(resource=resource))
    try:
        waitlist_join(
            service=service,
            resource=resource,
            earliest_at=earliest_at,
            latest_at=latest_at,
            customer=customer,
            actor=request_actor(request),
        )
    except WaitlistTimeFree as error:
        form.apply_domain_error(error)
        query = {"service": str(service.pk), "date": data["day"].isoformat()}
        if resource is not None:
            query["resource"] = str(resource.pk)
        book_url = f"{reverse('dashboard:booking_new')}?{urlencode(query)}"
        return _page(request, add_form=form, book_url=book_url, status=409)
    except WaitlistAlreadyWaiting as error:
        form.apply_domain_error(error)
        return _page(request, add_form=form, status=409)
    except ValidationFailed as error:
        form.apply_domain_error(error)
        return _page(request, add_form=form, status=400)
    messages.success(request, _("Added to the waitlist."))
    return _back(request)


def _customer_input(data: dict[str, Any]) -> CustomerInput:
    if data["customer"] == NEW_CUSTOMER:
        return CustomerInput(name=data["name"], email=data["email"], phone=data["phone"])
    customer = _chosen_customer(data["customer"])
    if customer is None:
        message = _("Choose a customer, or add a new one.")
        raise ValidationFailed(message, [FieldError("customer", message)])
    return CustomerInput(name=customer.name, email=customer.email, phone=customer.phone)
