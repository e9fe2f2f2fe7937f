"""The first-day checklist on Today (admins of a business that has not finished setting
up) and its one-click steps: the proposed weekly hours, public-holiday closures, going
live. Each step links to the screen that does it; the steps' state and the rules for
going live are apps/calendars/first_day.py's."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import Membership, User
from apps.accounts.selectors import tenant_current
from apps.calendars.first_day import (
    NotReadyToGoLive,
    business_go_live,
    first_day_checklist,
    holidays_close,
    holidays_decline,
    holidays_supported,
    public_holidays,
    weekly_hours_apply,
    weekly_hours_proposal,
)
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.resources.models import Location

ADMIN = Membership.Role.ADMIN


def _step_links() -> dict[str, str]:
    home = reverse("dashboard:home")
    return {
        "location": reverse("dashboard:location_create"),
        "service": reverse("dashboard:service_create"),
        "resource": reverse("dashboard:resource_create"),
        "hours": reverse("dashboard:rule_create") + "?" + urlencode({"kind": "weekly"}),
        "holidays": reverse("dashboard:first_day_holidays"),
        "two_step": reverse("accounts:mfa") + "?" + urlencode({"next": home}),
        "email": reverse("accounts:password_reset"),
    }


def first_day_context(request: HttpRequest, membership: Membership) -> dict[str, Any]:
    """What Today shows of the checklist: the whole list to an admin of a business that
    is not live, a compact progress line once it is live until every step is done, and
    nothing to other roles or once all is done."""
    if membership.role != ADMIN:
        return {}
    tenant = tenant_current()
    user: User = request.user  # type: ignore[assignment]
    checklist = first_day_checklist(tenant=tenant, user=user)
    if checklist.complete:
        return {}
    links = _step_links()
    proposal = weekly_hours_proposal() if not checklist.step("hours").done else None
    return {
        "checklist": checklist,
        "checklist_steps": [
            {"step": step, "url": links.get(step.key, "")} for step in checklist.steps
        ],
        "hours_proposal": proposal,
        "checklist_ready": not checklist.missing,
    }


@require_POST
@membership_required(ADMIN)
def hours_apply(request: HttpRequest) -> HttpResponse:
    """The proposed weekly hours (Monday to Friday, 9 to 17, at the first location), in
    one click."""
    proposal = weekly_hours_proposal()
    if proposal is None:
        messages.error(request, _("Add a location first: opening hours are in its time zone."))
    else:
        try:
            weekly_hours_apply(location=proposal.location)
        except ValidationFailed as error:
            detail = "; ".join(d.message for d in error.details) or error.message
            messages.error(request, detail)
        else:
            messages.success(
                request,
                _("%(location)s is open Monday to Friday, 9:00 to 17:00 (%(zone)s).")
                % {"location": proposal.location.name, "zone": proposal.location.timezone},
            )
    return redirect_after_post(request, reverse("dashboard:home"))


def _holiday_location(request: HttpRequest) -> Location | None:
    locations = list(Location.objects.order_by("created_at", "id"))
    wanted = request.POST.get("location") or request.GET.get("location")
    return next((loc for loc in locations if str(loc.pk) == wanted), None) or next(
        iter(locations), None
    )


@require_http_methods(["GET", "POST"])
@membership_required(ADMIN)
def holidays(request: HttpRequest) -> HttpResponse:
    """The next 12 months' public holidays of the location's country, each to close or
    not; "No closures" records the decision without closing anything."""
    tenant = tenant_current()
    location = _holiday_location(request)
    status = 200
    errors: list[str] = []
    chosen: set[str] = set()
    if request.method == "POST" and location is not None:
        if request.POST.get("action") == "decline":
            holidays_decline(tenant=tenant)
            messages.success(
                request, _("No public-holiday closures. You can add closures any time.")
            )
            return redirect_after_post(request, reverse("dashboard:home"))
        chosen = set(request.POST.getlist("days"))
        try:
            days = [dt.date.fromisoformat(value) for value in chosen]
        except ValueError:
            errors.append(_("Choose from the public holidays listed."))
        else:
            try:
                created = holidays_close(tenant=tenant, location=location, days=days)
            except ValidationFailed as error:
                errors.extend(d.message for d in error.details)
            else:
                messages.success(
                    request,
                    _("%(count)s public holiday(s) closed at %(location)s.")
                    % {"count": len(created), "location": location.name},
                )
                return redirect_after_post(request, reverse("dashboard:home"))
        status = 400
    offered = public_holidays(location=location) if location is not None else []
    return render_page_or_partial(
        request,
        page="dashboard/first_day_holidays.html",
        partial="dashboard/_first_day_holidays.html",
        context={
            "location": location,
            "locations": list(Location.objects.order_by("name")),
            "offered": offered,
            "supported": location is not None and holidays_supported(location.country),
            "chosen": chosen,
            "posted": request.method == "POST",
            "errors": errors,
        },
        status=status,
    )


@require_POST
@membership_required(ADMIN)
def go_live(request: HttpRequest) -> HttpResponse:
    tenant = tenant_current()
    try:
        business_go_live(tenant=tenant, user=request.user)  # type: ignore[arg-type]
    except NotReadyToGoLive as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(name)s is live: customers can book online.") % {"name": tenant.name}
        )
    return redirect_after_post(request, reverse("dashboard:home"))
