"""Dashboard screens for availability (schedulers and up): the rules of every location
and resource, adding/changing/removing a rule, and a resource's week of slots.

After a rule is saved the week it concerns is rebuilt at once and shown, so the person
who changed the hours sees the slots they produce without waiting for the background
rebuild."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_current
from apps.calendars.grid.services import slots_week_materialize
from apps.calendars.models import AvailabilityRule
from apps.calendars.rules.services import (
    availability_rule_create,
    availability_rule_delete,
    availability_rule_update,
)
from apps.calendars.timezones import local_date, zone
from apps.core.errors import NotFound, ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial
from apps.dashboard.access import membership_required
from apps.dashboard.availability.forms import RuleForm, WeekSlotsForm
from apps.dashboard.availability.selectors import availability_overview, rule_get, week_slots
from apps.resources.models import Resource
from apps.resources.selectors import location_list, resource_list

SCHEDULER = Membership.Role.SCHEDULER
Kind = AvailabilityRule.Kind


def _slots_url(*, resource: Resource | None, day: dt.date | None = None) -> str:
    params = {}
    if resource is not None:
        params["resource"] = str(resource.pk)
    if day is not None:
        params["date"] = day.isoformat()
    query = f"?{urlencode(params)}" if params else ""
    return reverse("dashboard:slots") + query


def _rule_or_404(rule_id: UUID) -> AvailabilityRule:
    try:
        return rule_get(rule_id=rule_id)
    except NotFound as exc:
        raise Http404("No such rule.") from exc


def _resources_of(rule: AvailabilityRule) -> list[Resource]:
    if rule.resource is not None:
        return [rule.resource]
    return list(resource_list(location=rule.location))


def _week_shown_after(rule: AvailabilityRule, resource: Resource | None) -> dt.date:
    """The week a scheduler wants to check: this one, or the first the rule touches."""
    if resource is not None:
        tz_name = resource.location.timezone
    else:
        tz_name = rule.location.timezone if rule.location else "UTC"
    today = local_date(timezone.now(), zone(tz_name))
    return max(today, rule.valid_from) if rule.valid_from else today


def _rule_saved(
    request: HttpRequest, rule: AvailabilityRule, *, also: list[Resource], message: str
) -> HttpResponse:
    affected = _resources_of(rule)
    first = affected[0] if affected else None
    day = _week_shown_after(rule, first)
    slots_week_materialize(resources=[*affected, *also], day=day)
    messages.success(request, message)
    if first is None:
        return redirect_after_post(request, reverse("dashboard:availability"))
    return redirect_after_post(request, _slots_url(resource=first, day=day))


def _rule_screen(
    request: HttpRequest, form: RuleForm, rule: AvailabilityRule | None, status: int = 200
) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/rule_form.html",
        partial="dashboard/_rule_form.html",
        context={"form": form, "rule": rule},
        status=status,
    )


@require_GET
@membership_required(SCHEDULER)
def availability(request: HttpRequest) -> HttpResponse:
    return render_page_or_partial(
        request,
        page="dashboard/availability.html",
        partial="dashboard/_availability.html",
        context={"overview": availability_overview(), "kinds": Kind},
    )


@require_http_methods(["GET", "POST"])
@membership_required(SCHEDULER)
def rule_create(request: HttpRequest) -> HttpResponse:
    """GET ?kind=weekly|date_range|exception&for=resource:<id>|location:<id>."""
    locations, resources = list(location_list()), list(resource_list())
    if request.method == "POST":
        form = RuleForm(
            request.POST,
            kind=request.POST.get("kind", ""),
            locations=locations,
            resources=resources,
        )
        if form.is_valid():
            try:
                rule = availability_rule_create(**form.service_data())
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                return _rule_saved(
                    request, rule, also=[], message=f"{rule.get_kind_display()} saved."
                )
        return _rule_screen(request, form, None, status=400)
    kind = request.GET.get("kind", Kind.WEEKLY)
    initial: dict[str, object] = {
        "kind": kind,
        "applies_to": request.GET.get("for", ""),
        "granularity_minutes": 30,
    }
    if kind == Kind.WEEKLY:
        initial["days_of_week"] = [1, 2, 3, 4, 5]
    form = RuleForm(initial=initial, kind=kind, locations=locations, resources=resources)
    return _rule_screen(request, form, None)


@require_http_methods(["GET", "POST"])
@membership_required(SCHEDULER)
def rule_edit(request: HttpRequest, rule_id: UUID) -> HttpResponse:
    rule = _rule_or_404(rule_id)
    locations, resources = list(location_list()), list(resource_list())
    if request.method == "POST":
        form = RuleForm(request.POST, kind=rule.kind, locations=locations, resources=resources)
        if form.is_valid():
            before = _resources_of(rule)
            try:
                rule = availability_rule_update(rule=rule, data=form.service_data())
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                return _rule_saved(
                    request, rule, also=before, message=f"{rule.get_kind_display()} saved."
                )
        return _rule_screen(request, form, rule, status=400)
    form = RuleForm(
        initial=RuleForm.initial_for(rule), kind=rule.kind, locations=locations, resources=resources
    )
    return _rule_screen(request, form, rule)


@require_POST
@membership_required(SCHEDULER)
def rule_delete(request: HttpRequest, rule_id: UUID) -> HttpResponse:
    rule = _rule_or_404(rule_id)
    affected = _resources_of(rule)
    label = rule.get_kind_display()
    availability_rule_delete(rule=rule)
    today = local_date(timezone.now(), zone(tenant_current().timezone))
    slots_week_materialize(resources=affected, day=today)
    messages.success(request, f"{label} removed.")
    return redirect_after_post(request, reverse("dashboard:availability"))


@require_GET
@membership_required(SCHEDULER)
def slots(request: HttpRequest) -> HttpResponse:
    """?resource=<id>&date=<any day of the week>: the week's materialized slots."""
    resources = list(resource_list())
    form = WeekSlotsForm(request.GET, resources=resources)
    form.is_valid()  # bad values are reported beside the field and replaced by defaults
    chosen = form.cleaned_data
    resource = next((r for r in resources if str(r.pk) == chosen.get("resource")), None)
    resource = resource or (resources[0] if resources else None)
    week = None
    day = chosen.get("date")
    if resource is not None:
        day = day or local_date(timezone.now(), zone(resource.location.timezone))
        week = week_slots(resource=resource, day=day)
    context: dict[str, object] = {
        "form": form,
        "week": week,
        "resource": resource,
        "resources": resources,
    }
    if week is not None:
        step = dt.timedelta(days=7)
        context["previous_week"] = _slots_url(resource=resource, day=week.first_day - step)
        context["next_week"] = _slots_url(resource=resource, day=week.first_day + step)
        context["this_week"] = _slots_url(resource=resource)
    return render_page_or_partial(
        request,
        page="dashboard/slots.html",
        partial="dashboard/_slots.html",
        context=context,
        status=400 if form.errors else 200,
    )
