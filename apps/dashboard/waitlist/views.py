"""Dashboard screen "Waitlist": the line in order, with its live offers; front desk and
up move people up and down and take them out (plain forms, swapped by htmx when
JavaScript runs); managers set the offer window."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Membership
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial, wants_partial
from apps.dashboard.access import membership_required, request_actor, request_membership
from apps.dashboard.waitlist.forms import MoveForm, OfferWindowForm
from apps.waitlist.selectors import (
    waitlist_entries_open,
    waitlist_entry_get,
    waitlist_settings_get,
)
from apps.waitlist.services import (
    waitlist_entry_move,
    waitlist_entry_remove,
    waitlist_settings_update,
)

FRONTDESK = Membership.Role.FRONTDESK
MANAGER = Membership.Role.MANAGER


def _page(
    request: HttpRequest, *, form: OfferWindowForm | None = None, status: int = 200
) -> HttpResponse:
    entries = list(waitlist_entries_open())
    for entry in entries:
        live = [offer for offer in entry.offers.all() if offer.status == "live"]
        entry.live_offer = live[0] if live else None  # type: ignore[attr-defined]
    membership = request_membership(request)
    return render_page_or_partial(
        request,
        page="dashboard/waitlist.html",
        partial="dashboard/_waitlist.html",
        context={
            "entries": entries,
            "can_set_window": membership.has_role(MANAGER),
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
